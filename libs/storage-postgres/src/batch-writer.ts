import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LogLine, severityOf } from '@daylog/log-model';
import { AppendBatch, AppendResult, CursorPosition, DiskFull, LabelSet, MinuteCounts, PartitionBounds, keyFilings, labelSetKey } from '@daylog/storage';
import { LABEL_SETS_LOCK, keyLock } from './advisory-locks';
import { copyRows, copyStatement } from './copy-rows';
import { KnownPartitions } from './known-partitions';
import { LabelSetAdmission } from './label-set-admission';
import { PgDatabase, isUnavailable } from './pg-database';

interface PlacedLine {
  line: LogLine;
  /** Its index in the batch. */
  index: number;
  partition: PartitionBounds;
}

interface StoredLine extends PlacedLine {
  labelSetId: number;
}

/** Where a batch's lines go, once every partition they need exists. */
interface BatchPlacement {
  placed: PlacedLine[];
  expired: number[];
  /** The partition of the batch's arrival, where its commit is recorded. */
  arrival: PartitionBounds;
}

/** SQLSTATEs: no partition for a row (a pruner dropped one this replica knew), a deadlock, no room on the server's disk. */
const NO_PARTITION = '23514';
const DEADLOCK = '40P01';
const DISK_FULL = '53100';

const IS_STORED = 'SELECT EXISTS (SELECT 1 FROM batch_keys WHERE idempotency_key = $1) AS stored';

/**
 * The batch's commit, its per-minute counts and its key rows in one statement, with the ids of its lines when
 * they are wanted before the COPY writes them.
 */
const WRITE_BESIDE_LINES = `
  WITH batch_commit AS (
    INSERT INTO ingest_commits (committed_ms, min_ts, max_ts, lines) VALUES ($1, $2, $3, $4) RETURNING id
  ), counts AS (
    INSERT INTO minute_counts (minute, last_ts, stream_id, lines, level)
    SELECT * FROM unnest($5::bigint[], $6::bigint[], $7::int[], $8::int[], $9::smallint[])
  ), keys AS (
    INSERT INTO batch_keys (ts, idempotency_key) SELECT unnest($10::bigint[]), $11::bytea
  )
  SELECT id AS "commitId", ARRAY(SELECT nextval('line_ids') FROM generate_series(1, $12::int)) AS "lineIds" FROM batch_commit`;

function emptyResult(batch: AppendBatch): AppendResult {
  return { duplicate: false, accepted: 0, expired: [], tooManyLabelSets: [], ...(batch.wantPositions && { positions: [] }) };
}

/** Lines per minute, label set and level, as minute_counts' columns. */
function minuteCounts(stored: readonly StoredLine[]): [number[], number[], number[], number[], number[]] {
  const counts = new MinuteCounts();
  for (const { line, labelSetId } of stored) counts.add(line.ts, labelSetId, severityOf(line.level));
  const rows = counts.rows();
  return [rows.map((c) => c.minute), rows.map((c) => c.lastTs), rows.map((c) => c.labelSetId), rows.map((c) => c.lines), rows.map((c) => c.severity)];
}

/**
 * Stores each batch in one transaction, whatever partitions its lines reach: its lines, their per-minute
 * counts, its idempotency key and its commit's record commit together or not at all, so a batch that fails
 * leaves nothing, and its resend is stored rather than taken for a duplicate.
 */
export class BatchWriter {
  constructor(
    private readonly db: PgDatabase,
    private readonly partitions: KnownPartitions,
    private readonly labelSets: LabelSetAdmission,
  ) {}

  /** Throws DiskFull when the server has no room, StorageUnavailable when it cannot be reached. */
  async append(batch: AppendBatch): Promise<AppendResult> {
    if (batch.lines.length === 0 && batch.idempotencyKey === null) return emptyResult(batch);
    for (let attempt = 1; ; attempt++) {
      const placement = await this.place(batch);
      try {
        return await this.db.withClient((client) => this.write(client, batch, placement));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === DISK_FULL) throw new DiskFull();
        if (attempt > 1 || (code !== NO_PARTITION && code !== DEADLOCK)) throw error;
        // A partition this replica knew is gone: rereading the catalog says so, and its lines are then expired.
        if (code === NO_PARTITION) await this.partitions.make([]);
      }
    }
  }

  /** Places every line, making the partitions none covers yet (and the arrival's, where the commit is recorded). */
  private async place(batch: AppendBatch): Promise<BatchPlacement> {
    const times = [batch.receivedMs, ...batch.lines.map((line) => line.ts)];
    const missing = times.filter((ts) => this.partitions.place(ts) === 'missing');
    if (missing.length > 0) await this.partitions.make(missing);
    const placement: BatchPlacement = { placed: [], expired: [], arrival: this.placed(batch.receivedMs) };
    batch.lines.forEach((line, index) => {
      if (this.partitions.place(line.ts) === 'expired') placement.expired.push(index);
      else placement.placed.push({ line, index, partition: this.placed(line.ts) });
    });
    return placement;
  }

  private placed(ts: number): PartitionBounds {
    const partition = this.partitions.place(ts);
    if (typeof partition === 'string') throw new Error(`no partition could be made for ${new Date(ts).toISOString()} (${partition})`);
    return partition;
  }

  private async write(client: PoolClient, batch: AppendBatch, placement: BatchPlacement): Promise<AppendResult> {
    const key = batch.idempotencyKey === null ? null : Buffer.from(batch.idempotencyKey, 'utf8');
    const opening = [`SET LOCAL idle_in_transaction_session_timeout = ${this.idleLimitMs()}`, `SELECT pg_advisory_xact_lock_shared(${LABEL_SETS_LOCK})`];
    if (key !== null) opening.push(`SELECT pg_advisory_xact_lock(${keyLock(key).join(', ')})`);
    await client.query(`BEGIN; ${opening.join('; ')}`);
    try {
      if (key !== null && (await this.isStored(client, key))) {
        await client.query('ROLLBACK');
        return { ...emptyResult(batch), duplicate: true };
      }
      const result: AppendResult = { ...emptyResult(batch), expired: placement.expired };
      const stored = await this.admitted(client, placement.placed, result);
      if (stored.length === 0) {
        // Nothing to store, so no key either: as on SQLite, a resend is tried again rather than called a duplicate.
        await client.query('ROLLBACK');
        return result;
      }
      const { commitId, lineIds } = await this.writeBesideLines(client, batch, key, stored, placement.arrival);
      const rows = stored.map(({ line, labelSetId }, i) => ({ line, labelSetId, id: lineIds?.[i] }));
      await pipeline(Readable.from([copyRows(rows, commitId)]), client.query(copyFrom(copyStatement(lineIds !== null))));
      await client.query('COMMIT');
      result.accepted = stored.length;
      if (lineIds) {
        const positions = new Array<CursorPosition | undefined>(batch.lines.length).fill(undefined);
        stored.forEach(({ line, index, partition }, i) => (positions[index] = { ts: line.ts, partitionStart: partition.startMs, id: lineIds[i] }));
        result.positions = positions;
      }
      return result;
    } catch (error) {
      // A connection the database cannot be reached on is thrown away (PgDatabase.withClient), which ends the
      // transaction on the server: a ROLLBACK sent on it would wait for a silent server as long again.
      if (!isUnavailable(error)) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * A COMMIT the server reads only after this process stopped waiting for its answer (a server or a network
   * that went silent, then came back) would store a batch its sender was answered 503 for, and the resend would be
   * called a duplicate. So the server ends the transaction instead once it has waited for the next statement
   * longer than this: half of this process's wait for an answer, so that a COMMIT the server reads in time is
   * answered in time, and one it reads too late is never applied. Measured from the end of the statement
   * before the COMMIT, on the server's own clock: no clocks are compared.
   */
  private idleLimitMs(): number {
    return Math.ceil(this.db.statementTimeoutMs / 2);
  }

  private async isStored(client: PoolClient, key: Buffer): Promise<boolean> {
    const { rows } = await client.query<{ stored: boolean }>({ text: IS_STORED, values: [key], name: 'daylog-key-stored' });
    return rows[0].stored;
  }

  /** The placed lines whose label set is known or admitted; the others go in `result.tooManyLabelSets`. */
  private async admitted(client: PoolClient, placed: readonly PlacedLine[], result: AppendResult): Promise<StoredLine[]> {
    if (placed.length === 0) return [];
    const labelSets = new Map<string, LabelSet>();
    for (const { line } of placed) {
      const key = labelSetKey(line);
      if (!labelSets.has(key)) labelSets.set(key, line);
    }
    const ids = await this.labelSets.resolve(client, labelSets);
    const stored: StoredLine[] = [];
    for (const placedLine of placed) {
      const labelSetId = ids.get(labelSetKey(placedLine.line));
      if (labelSetId === undefined) result.tooManyLabelSets.push(placedLine.index);
      else stored.push({ ...placedLine, labelSetId });
    }
    return stored;
  }

  /** The key is filed where keyFilings says, a row under each filing's time (batch_keys is partitioned by it). */
  private async writeBesideLines(
    client: PoolClient,
    batch: AppendBatch,
    key: Buffer | null,
    stored: readonly StoredLine[],
    arrival: PartitionBounds,
  ): Promise<{ commitId: number; lineIds: number[] | null }> {
    const newest = stored.reduce((a, b) => (b.line.ts > a.line.ts ? b : a));
    const oldestTs = stored.reduce((ts, s) => Math.min(ts, s.line.ts), newest.line.ts);
    const filings = key === null ? [] : keyFilings({ ts: newest.line.ts, partition: newest.partition }, { ts: batch.receivedMs, partition: arrival });
    const keyTimes = filings.map((filing) => filing.ts);
    const idsWanted = batch.wantPositions ? stored.length : 0;
    const { rows } = await client.query<{ commitId: number; lineIds: string[] }>({
      text: WRITE_BESIDE_LINES,
      values: [batch.receivedMs, oldestTs, newest.line.ts, stored.length, ...minuteCounts(stored), keyTimes, key, idsWanted],
      name: 'daylog-write-beside-lines',
    });
    const lineIds = idsWanted === 0 ? null : rows[0].lineIds.map(Number).sort((a, b) => a - b);
    return { commitId: rows[0].commitId, lineIds };
  }
}
