import { setTimeout as sleep } from 'node:timers/promises';
import { LineTestThreads, PartitionBounds, PartitionSource } from '@daylog/storage';
import { PgDatabase, PgPartitions } from '@daylog/storage-postgres';
import { nowMs } from './bench-support';

export interface PgWordIndexWait {
  /** Closed partitions (every live one but the newest), and how many of them had no word index when the wait began. */
  closed: number;
  behindAtStart: number;
  /** Lines in those. */
  linesBehindAtStart: number;
  /** From the wait's start until every closed partition had its index; or until it gave up. */
  ms: number;
  /** No closed partition had an index within the grace: the engine builds none (or not yet), and words are searched by reading lines. */
  noIndex: boolean;
}

const POLL_MS = 250;
/** Once a partition's index has come, the next must come within this, or the wait fails. */
const STALL_MS = 120_000;

/**
 * Waits, from when ingest has ended, until every closed partition of the database has its word index, as the
 * engine's reader sees it (PgPartitions.wordIndex, which the core asks before a word search). An engine that
 * builds none cannot be told from one that has not begun: if none has come `graceMs` after the wait began (the
 * replica's builder looks for closed partitions at an interval, and a build under ingest's load is slow), it
 * stops waiting and says so.
 */
export async function waitForPgWordIndex(url: string, graceMs: number): Promise<PgWordIndexWait> {
  const db = new PgDatabase({ url, maxConnections: 2, statementTimeoutMs: 30_000, applicationName: 'daylog bench' });
  // Asked only whether partitions have an index: never given lines to test.
  const threads = new LineTestThreads(1);
  // Through the port, as the core's reader asks it.
  const source: PartitionSource = new PgPartitions(db, threads);
  const unindexed = async (): Promise<{ closed: number; behind: PartitionBounds[] }> => {
    const closed = (await source.partitions()).slice(0, -1);
    const indexes = await Promise.all(closed.map((partition) => source.wordIndex(partition)));
    return { closed: closed.length, behind: closed.filter((_, i) => indexes[i] === null) };
  };
  try {
    const started = nowMs();
    const first = await unindexed();
    let linesBehindAtStart = 0;
    for (const partition of first.behind) linesBehindAtStart += await source.linesBetween(partition, partition.startMs, partition.endMs);
    const outcome = (noIndex: boolean): PgWordIndexWait => ({
      closed: first.closed,
      behindAtStart: first.behind.length,
      linesBehindAtStart,
      ms: nowMs() - started,
      noIndex,
    });
    let behind = first.behind.length;
    let progressAt = started;
    while (behind > 0) {
      const now = nowMs();
      if (behind === first.closed && now - started > graceMs) return outcome(true);
      if (behind < first.closed && now - progressAt > STALL_MS) {
        throw new Error(`no closed partition got its word index in ${STALL_MS / 1000} s; ${behind} of ${first.closed} still have none`);
      }
      await sleep(POLL_MS);
      const left = (await unindexed()).behind.length;
      if (left < behind) progressAt = nowMs();
      behind = left;
    }
    return outcome(false);
  } finally {
    await threads.stop();
    await db.close();
  }
}
