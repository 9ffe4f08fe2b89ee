import Database from 'better-sqlite3';
import { join } from 'node:path';
import { AppendBatch, AppendResult, CountQuery, CursorPosition, DiskFull, DropResult, LineContext, LineCount, LogQuery, LogStore, PartitionedReader, QueryPage, ScanBudget, StorageStats } from '@daylog/storage';
import { toWire } from './batch-wire';
import { CatalogueStatements } from './catalogue';
import { migrate } from './migrator';
import { SqlitePartitions } from './sqlite-partitions';
import { makePrivateDir } from './private-files';
import { dataDirBytes, openDatabase } from './partition-schema';
import { CATALOGUE_FILE, WriterDropResult, WriterOptions } from './partition-writer';
import { SearchThreads } from './search-threads';
import { WriterClient, WriterError } from './writer-client';

export interface SqliteLogStoreOptions extends WriterOptions {
  /** Where text searches run; the store does not stop them (live tails use them too). */
  searchThreads: SearchThreads;
}

/** Storage on local SQLite files: a catalogue, and one file per time partition. */
export class SqliteLogStore implements LogStore {
  private queued = 0;
  private closed = false;

  private constructor(
    private readonly dataDir: string,
    private readonly catalogue: CatalogueStatements,
    private readonly reader: PartitionedReader,
    private readonly writer: WriterClient,
  ) {}

  /** Migrates the catalogue, then starts the writer thread; fails loudly if either cannot. */
  static async open(options: SqliteLogStoreOptions): Promise<SqliteLogStore> {
    makePrivateDir(options.dataDir);
    const catalogueFile = join(options.dataDir, CATALOGUE_FILE);
    let db: Database.Database;
    try {
      db = openDatabase(catalogueFile, options.synchronous);
    } catch (error) {
      throw new Error(`${catalogueFile} cannot be read as Daylog's catalogue (${(error as Error).message}): restore it, or start on an empty data directory`, { cause: error });
    }
    try {
      migrate(db);
      db.pragma('query_only = ON');
      const catalogue = new CatalogueStatements(db);
      const { searchThreads, ...writerOptions } = options;
      const writer = await WriterClient.start(writerOptions);
      return new SqliteLogStore(options.dataDir, catalogue, new PartitionedReader(new SqlitePartitions(catalogue, options.dataDir, searchThreads)), writer);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async appendBatch(batch: AppendBatch): Promise<AppendResult> {
    this.queued += batch.lines.length;
    try {
      return await this.writer.request<AppendResult>({ type: 'append', batch: toWire(batch) });
    } catch (error) {
      if (error instanceof WriterError && error.code === 'SQLITE_FULL') throw new DiskFull();
      throw error;
    } finally {
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
   * Readers let go of the expiring partitions first: closing the last descriptor of an unlinked
   * file is what frees its blocks, and that should not happen on the thread that serves HTTP.
   * No query reopens them, since queries never reach back past now − retention.
   */
  async dropPartitionsBefore(cutoffMs: number): Promise<DropResult> {
    await this.reader.forgetPartitionsEndingBy(cutoffMs);
    const result = await this.writer.request<WriterDropResult>({ type: 'drop', cutoffMs });
    this.reader.forgetLabelSets(result.removedLabelSets);
    return { droppedPartitions: result.droppedPartitions, droppedLines: result.droppedLines };
  }

  stats(): Promise<StorageStats> {
    const partitions = this.catalogue.partitions();
    return Promise.resolve({
      partitions: partitions.length,
      bytes: dataDirBytes(this.dataDir),
      oldestPartitionEndMs: partitions.length === 0 ? null : Math.min(...partitions.map((p) => p.endMs)),
    });
  }

  queuedLines(): number {
    return this.queued;
  }

  isReady(): boolean {
    return !this.closed && this.writer.alive;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.stop();
    this.reader.close();
    this.catalogue.db.close();
  }
}
