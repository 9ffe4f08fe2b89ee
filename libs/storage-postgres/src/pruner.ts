import { PoolClient } from 'pg';
import { PartitionBounds } from '@daylog/storage';
import { LABEL_SETS_LOCK, PRUNER_LOCK } from './advisory-locks';
import { dropPartitionsEndingBy, livePartitions } from './partition-tables';
import { PgDatabase } from './pg-database';

export interface PruneRun {
  dropped: PartitionBounds[];
  droppedLines: number;
  /** Ids of the label sets forgotten: no live partition has lines of them any more. */
  forgottenLabelSets: number[];
}

const nothing = (): PruneRun => ({ dropped: [], droppedLines: 0, forgottenLabelSets: [] });

/** A label set unused when no live partition has a line of it: one probe of each partition's (stream_id, ts, id) index. */
const UNUSED = '(SELECT 1 FROM logs l WHERE l.stream_id = s.id LIMIT 1) IS NULL';

/**
 * Retention on the database, run by one replica at a time: the one whose session gets the pruner's advisory
 * lock; the others' runs drop nothing. The lock is a session's, not a transaction's, for DETACH … CONCURRENTLY
 * runs outside any transaction; it is let go at the end of the run, or by the server when the replica dies,
 * so another replica's next run takes over and finishes what was left.
 */
export class Pruner {
  /** Whether some label sets may have lost their last lines: at first (another replica may have died before forgetting them), and after each drop. */
  private labelSetsToCheck = true;
  /** This replica's run under way: its next waits for it rather than find the lock taken and drop nothing. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: PgDatabase) {}

  run(cutoffMs: number): Promise<PruneRun> {
    const run = this.running.then(() => this.runOnce(cutoffMs));
    this.running = run.catch(() => undefined);
    return run;
  }

  private runOnce(cutoffMs: number): Promise<PruneRun> {
    return this.db.withClient(async (client) => {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PRUNER_LOCK.toString()]);
      if (!rows[0].locked) return nothing();
      try {
        return await this.prune(client, cutoffMs);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [PRUNER_LOCK.toString()]);
      }
    });
  }

  private async prune(client: PoolClient, cutoffMs: number): Promise<PruneRun> {
    const lines = new Map<number, number>();
    for (const partition of (await livePartitions(client)).filter((p) => p.endMs <= cutoffMs)) {
      const { rows } = await client.query<{ lines: number }>(
        'SELECT coalesce(sum(lines), 0)::bigint AS lines FROM minute_counts WHERE minute >= $1 AND minute < $2',
        [partition.startMs, partition.endMs],
      );
      lines.set(partition.startMs, rows[0].lines);
    }
    const dropped = await dropPartitionsEndingBy(client, cutoffMs);
    if (dropped.length > 0) this.labelSetsToCheck = true;
    const forgottenLabelSets = this.labelSetsToCheck ? await this.forgetUnusedLabelSets(client) : [];
    this.labelSetsToCheck = false;
    return { dropped, droppedLines: dropped.reduce((sum, p) => sum + (lines.get(p.startMs) ?? 0), 0), forgottenLabelSets };
  }

  /**
   * Forgets the label sets no live partition has lines of, so that they no longer count against their
   * namespace's cap. Which are unused is found first without any lock (it reads every label set), then
   * checked again under the label-set lock taken exclusive: it waits for the batches in flight, which hold it
   * shared from before they look their label sets up, so a label set one of them is writing lines of is
   * seen used; and batches after it wait, then find the forgotten ones gone and admit them anew.
   */
  private async forgetUnusedLabelSets(client: PoolClient): Promise<number[]> {
    const { rows: candidates } = await client.query<{ id: number }>(`SELECT id FROM streams s WHERE ${UNUSED}`);
    if (candidates.length === 0) return [];
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${LABEL_SETS_LOCK})`);
    try {
      const { rows } = await client.query<{ id: number }>(`DELETE FROM streams s WHERE s.id = ANY($1::int[]) AND ${UNUSED} RETURNING id`, [
        candidates.map((c) => c.id),
      ]);
      await client.query('COMMIT');
      return rows.map((row) => row.id);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}
