// STUB on the base branch: the writes helper replaces this file.
import { AppendBatch, AppendResult, CommittedLines, CountQuery, CursorPosition, DropResult, LineContext, LineCount, LogQuery, LogStore, PartitionedReader, QueryPage, ScanBudget, StorageStats } from '@daylog/storage';
import { PgCommittedLines } from './pg-committed-lines';
import { PgDatabase } from './pg-database';
import { PostgresStorageOptions } from './postgres-storage';

export class PgLogStore implements LogStore {
  private constructor(
    private readonly db: PgDatabase,
    private readonly reader: PartitionedReader,
  ) {}

  static open(db: PgDatabase, reader: PartitionedReader, _options: PostgresStorageOptions): Promise<PgLogStore> {
    return Promise.resolve(new PgLogStore(db, reader));
  }

  /** Every replica's committed lines, for live tails: one follower of the store's database. */
  committedLines(): CommittedLines | null {
    return new PgCommittedLines(this.db);
  }

  appendBatch(_batch: AppendBatch): Promise<AppendResult> {
    throw new Error('not built yet');
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

  dropPartitionsBefore(_cutoffMs: number): Promise<DropResult> {
    throw new Error('not built yet');
  }

  stats(): Promise<StorageStats> {
    throw new Error('not built yet');
  }

  queuedLines(): number {
    return 0;
  }

  isReady(): boolean {
    return this.db.available;
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.db.close();
  }
}
