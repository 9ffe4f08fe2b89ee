import {
  AppendBatch,
  AppendResult,
  CommittedLines,
  CountQuery,
  CursorPosition,
  DropResult,
  LineContext,
  LineCount,
  LogQuery,
  LogStore,
  PartitionedReader,
  QueryPage,
  ScanBudget,
  StorageStats,
  StorageUnavailable,
} from '@daylog/storage';
import { BatchWriter } from './batch-writer';
import { KnownPartitions } from './known-partitions';
import { LabelSetAdmission } from './label-set-admission';
import { PARTITIONED_TABLES, livePartitions } from './partition-tables';
import { PgCommittedLines } from './pg-committed-lines';
import { PgDatabase } from './pg-database';
import { Pruner } from './pruner';
import { WriteSlots } from './write-slots';

export interface PgLogStoreOptions {
  partitionMs: number;
  maxLabelSetsPerNamespace: number;
}

/**
 * Batches committing at once, each on a connection of its own: their round trips and commits overlap. Measured
 * on two busy cores with 1,000-line batches: ~90k lines/s one at a time, ~115k with four; eight did no better.
 */
const WRITE_CONNECTIONS = 4;

/** What the database holds for Daylog: every partition of the partitioned tables (their indexes included), and the label sets. */
const BYTES = `SELECT (coalesce(sum(pg_total_relation_size(inhrelid)), 0) + pg_total_relation_size('streams'))::bigint AS bytes
                 FROM pg_inherits WHERE inhparent = ANY ($1::regclass[])`;

/** Storage on PostgreSQL, shared by every replica: this process's writes, prunes and stats, and the core's reader. */
export class PgLogStore implements LogStore {
  private readonly slots = new WriteSlots(WRITE_CONNECTIONS);
  private readonly inFlight = new Set<Promise<unknown>>();
  private queued = 0;
  private closed = false;

  private constructor(
    private readonly db: PgDatabase,
    private readonly reader: PartitionedReader,
    private readonly partitions: KnownPartitions,
    private readonly writer: BatchWriter,
    private readonly pruner: Pruner,
  ) {}

  static async open(db: PgDatabase, reader: PartitionedReader, options: PgLogStoreOptions): Promise<PgLogStore> {
    const partitions = await KnownPartitions.load(db, options.partitionMs);
    const writer = new BatchWriter(db, partitions, new LabelSetAdmission(options.maxLabelSetsPerNamespace));
    return new PgLogStore(db, reader, partitions, writer, new Pruner(db));
  }

  /** Every replica's committed lines, for live tails: one follower of the store's database. */
  committedLines(): CommittedLines | null {
    return new PgCommittedLines(this.db);
  }

  async appendBatch(batch: AppendBatch): Promise<AppendResult> {
    if (this.closed) throw new StorageUnavailable(new Error('the store is closed'));
    this.queued += batch.lines.length;
    const appended = this.slots.run((waited) => {
      // The batches it waited behind found the database gone: it would wait as long again, past its sender's time-out.
      if (waited && !this.db.available) throw new StorageUnavailable(new Error('the database cannot be reached'));
      return this.writer.append(batch);
    });
    this.inFlight.add(appended);
    try {
      return await appended;
    } finally {
      this.inFlight.delete(appended);
      this.queued -= batch.lines.length;
    }
  }

  query(query: LogQuery, budget: ScanBudget): Promise<QueryPage> {
    return this.reader.query(query, budget);
  }

  count(query: CountQuery, budget: ScanBudget): Promise<LineCount[]> {
    return this.reader.count(query, budget);
  }

  context(position: CursorPosition, before: number, after: number, oldestMs: number, namespaces?: string[]): Promise<LineContext | null> {
    return this.reader.context(position, before, after, oldestMs, namespaces);
  }

  /**
   * Every replica's run marks the cutoff: none writes to a range ending by it again, and its reader skips
   * those partitions. One replica at a time drops them (Pruner); the others answer that they dropped nothing.
   */
  async dropPartitionsBefore(cutoffMs: number): Promise<DropResult> {
    this.partitions.markPruned(cutoffMs);
    await this.reader.forgetPartitionsEndingBy(cutoffMs);
    const run = await this.pruner.run(cutoffMs);
    this.reader.forgetLabelSets(run.forgottenLabelSets);
    return { droppedPartitions: run.dropped.map((p) => p.name), droppedLines: run.droppedLines };
  }

  makePartitionsAhead(nowMs: number, untilMs: number): Promise<void> {
    return this.partitions.makeAhead(nowMs, untilMs);
  }

  stats(): Promise<StorageStats> {
    return this.db.withClient(async (client) => {
      const live = await livePartitions(client);
      const { rows } = await client.query<{ bytes: number }>(BYTES, [PARTITIONED_TABLES]);
      return { partitions: live.length, bytes: rows[0].bytes, oldestPartitionEndMs: live[0]?.endMs ?? null };
    });
  }

  queuedLines(): number {
    return this.queued;
  }

  isReady(): boolean {
    return !this.closed && this.db.available;
  }

  /** Lets the batches in flight finish (their senders are answered), then closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.inFlight);
    this.reader.close();
    await this.db.close();
  }
}
