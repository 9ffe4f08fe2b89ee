import {
  CountQuery,
  CountRow,
  CursorPosition,
  LineFilter,
  LineKey,
  LineRow,
  LogQuery,
  PartitionBounds,
  PartitionSource,
  QueryBudgetExceeded,
  ReadTime,
  StoredLabelSet,
  WindowRead,
  WindowsPage,
  WordIndex,
  searchesText,
  sharedClockNow,
} from '@daylog/storage';
import { existsSync } from 'node:fs';
import { BlockJob, BlockRead, CompactedReads } from './block-reads';
import { CatalogueStatements, StoredPartition } from './catalogue';
import { BLOCK_WORDS_TABLE, COMPACTED_TABLES } from './compacted-schema';
import {
  FullTextIndex,
  LINE_COLUMNS,
  Statement,
  countStatement,
  lineKeyAfterStatement,
  minuteCountStatement,
  minuteTotalsStatement,
  pageStatement,
  rangeLinesStatement,
} from './page-statement';
import { partitionFile } from './partition-schema';
import { ReadConnections } from './read-connections';
import { WindowWork } from './search-protocol';
import { SearchThreads } from './search-threads';
import { HAS_WORD_INDEX, WORD_INDEX_STATE, wordIndexTable } from './word-index';

/** A budget for reads that are not searched by text: they never take long enough to be stopped. */
const NOT_TIMED = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

/** Where a partition's lines are: its file now, and whether that file is compacted (blocks). */
interface PartitionFile {
  file: string;
  compacted: boolean;
}

/**
 * SQLite's partitions for the core's reader: a file per partition, the catalogue's label sets and
 * partitions. What indexes answer (pages without text filters, counts, context) is read on the main
 * thread; text searches on the search threads, which are stopped at their deadline. A compacted
 * partition's blocks are read by CompactedReads, on the same threads as the rows of any other.
 */
export class SqlitePartitions implements PartitionSource {
  private readonly connections = new ReadConnections(null);
  /** By partition start: the generation of the file holding its lines, as the catalogue last said. */
  private readonly generations = new Map<number, number>();
  /** The partitions as last listed, and the catalogue's data_version then: the list stands until the writer commits. */
  private listed: { version: number; partitions: StoredPartition[] } | null = null;

  constructor(
    private readonly catalogue: CatalogueStatements,
    private readonly dataDir: string,
    private readonly threads: SearchThreads,
  ) {}

  partitions(): Promise<PartitionBounds[]> {
    return Promise.resolve(this.listPartitions());
  }

  labelSetsAfter(afterId: number): Promise<StoredLabelSet[]> {
    return Promise.resolve(this.catalogue.labelSets(afterId));
  }

  lineAt(partition: PartitionBounds, position: CursorPosition): Promise<LineRow | null> {
    return this.inFile(partition, ({ file, compacted }) => {
      if (compacted) return new CompactedReads(this.connections.get(file), file, null).lineAt(position, partition.name);
      const [row] = this.connections.get(file).all<LineRow>({ sql: `SELECT ${LINE_COLUMNS} FROM "${partition.name}" WHERE id = ? AND ts = ?`, params: [position.id, position.ts] });
      return row ?? null;
    });
  }

  /**
   * The partition's full-text index, once the writer has begun one; a compacted partition's indexes its blocks,
   * and its late lines are read (the index holds no line id: `indexedUpTo` 0).
   */
  wordIndex(partition: PartitionBounds): Promise<WordIndex | null> {
    return this.inFile(partition, ({ file, compacted }) => {
      const connection = this.connections.get(file);
      if (compacted) {
        const [{ words }] = connection.all<{ words: number }>({ sql: COMPACTED_TABLES, params: [] });
        return words ? { table: BLOCK_WORDS_TABLE, indexedUpTo: 0 } : null;
      }
      const [{ found }] = connection.all<{ found: number }>({ sql: HAS_WORD_INDEX, params: [] });
      if (!found) return null;
      const [state] = connection.all<{ indexed_upto: number }>({ sql: WORD_INDEX_STATE, params: [] });
      const index: FullTextIndex | null = state ? { table: wordIndexTable(partition.name), indexedUpTo: state.indexed_upto } : null;
      return index;
    });
  }

  minuteTotals(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null): Promise<{ minute: number; lines: number }[]> {
    return this.all(partition, minuteTotalsStatement(filter, labelSetIds));
  }

  async linesBetween(partition: PartitionBounds, fromMinute: number, toMs: number): Promise<number> {
    const [{ lines }] = await this.all<{ lines: number }>(partition, rangeLinesStatement(fromMinute, toMs));
    return lines;
  }

  keyAfter(partition: PartitionBounds, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Promise<LineKey | null> {
    return this.inFile(partition, ({ file, compacted }) => {
      if (compacted) return new CompactedReads(this.connections.get(file), file, null).keyAfter(partition.name, fromMs, toMs, start, backward, count);
      const [end] = this.connections.get(file).all<LineKey>(lineKeyAfterStatement(partition, fromMs, toMs, start, backward, count));
      return end ?? null;
    });
  }

  pageLines(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]> {
    return this.read(read, this.pageStatement(read, order, limit), (blockRead) => ({ kind: 'page', read: blockRead, order, limit }));
  }

  /**
   * The windows on one search thread, in one job: a hand-over to a thread and back costs more than reading a
   * compacted hour's blocks that its word index rules out. A window whose file was replaced meanwhile (inFile) fails
   * the job; the windows are then read one by one.
   */
  async pageIndexedWindows(reads: readonly WindowRead[], order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<WindowsPage> {
    const windows = reads.map((read): WindowWork & { deadline: number | null } => {
      const { file, compacted } = this.fileOf(read.partition);
      const deadline = deadlineOf(read.time);
      if (!compacted) return { file, statement: this.pageStatement(read, order, limit), deadline };
      return { file, job: { kind: 'page', read: this.blockRead(read), order, limit }, deadline };
    });
    try {
      return await this.threads.windows<LineRow>(windows, limit, reads[0].client);
    } catch {
      return this.windowByWindow(reads, order, limit);
    }
  }

  countLines(read: WindowRead, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    return this.read(read, countStatement(read.partition, read.filter, read.labelSetIds, bucketMs, this.fullTextIndex(read), read.range), (blockRead) => ({
      kind: 'count',
      read: blockRead,
      bucketMs,
    }));
  }

  countMinutes(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    return this.all(partition, minuteCountStatement(filter, labelSetIds, bucketMs));
  }

  forget(partitions: PartitionBounds[]): void {
    const files = partitions.map((partition) => this.fileOf(partition).file);
    for (const partition of partitions) this.generations.delete(partition.startMs);
    this.connections.forget(files);
    this.threads.forget(files);
  }

  close(): void {
    this.connections.forgetAll();
  }

  /** pageIndexedWindows' windows read as pageLines reads each, until `limit` rows in all or a window's time is up. */
  private async windowByWindow(reads: readonly WindowRead[], order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<WindowsPage> {
    const page: WindowsPage = { rows: [], outOfTime: null };
    let found = 0;
    for (const [i, read] of reads.entries()) {
      if (found >= limit) break;
      try {
        page.rows.push(await this.pageLines(read, order, limit - found));
      } catch (error) {
        if (error instanceof QueryBudgetExceeded) return { ...page, outOfTime: i };
        throw error;
      }
      found += page.rows[i].length;
    }
    return page;
  }

  private pageStatement(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Statement {
    const query: LogQuery = { ...read.filter, direction: order.direction, after: order.after, limit };
    return pageStatement(read.partition, query, read.labelSetIds, limit, this.fullTextIndex(read), read.range);
  }

  private blockRead(read: WindowRead): BlockRead {
    return { partition: read.partition, filter: read.filter, labelSetIds: read.labelSetIds, range: read.range, words: read.index !== null };
  }

  /**
   * A window's read: its statement, or for a compacted partition its block job; on a search thread when it
   * searches text, until its time is up; else here.
   */
  private read<Row>(read: WindowRead, statement: Statement, blockJob: (read: BlockRead) => BlockJob): Promise<Row[]> {
    return this.inFile(read.partition, async ({ file, compacted }) => {
      const job = compacted ? blockJob(this.blockRead(read)) : null;
      if (!searchesText(read.filter)) {
        return job ? (new CompactedReads(this.connections.get(file), file, null).run(job) as Row[]) : this.connections.get(file).all<Row>(statement);
      }
      const deadline = deadlineOf(read.time);
      const rows = job ? await this.threads.blocks<Row>(file, job, deadline, read.client) : await this.threads.rows<Row>(file, statement, deadline, read.client);
      if (rows === 'out-of-time') throw new QueryBudgetExceeded('time', NOT_TIMED);
      return rows;
    });
  }

  /**
   * The catalogue's partitions, read again once the writer has committed to it (partitions made, dropped or rewritten,
   * label sets added) and not before; files of generations they have moved past are let go of.
   */
  private listPartitions(): StoredPartition[] {
    const version = this.catalogue.dataVersion();
    if (this.listed?.version === version) return this.listed.partitions;
    const listed = this.catalogue.partitions();
    this.listed = { version, partitions: listed };
    const superseded: string[] = [];
    for (const partition of listed) {
      const known = this.generations.get(partition.startMs);
      if (known !== undefined && known !== partition.generation) superseded.push(partitionFile(this.dataDir, partition.name, known));
      this.generations.set(partition.startMs, partition.generation);
    }
    if (superseded.length > 0) {
      this.connections.forget(superseded);
      this.threads.forget(superseded);
    }
    return listed;
  }

  /**
   * Reads a partition's file. A read planned before the partition was compacted may find its old file gone (the
   * writer removes it once the catalogue names the new one): it is read again from the file the catalogue names.
   */
  private async inFile<T>(partition: PartitionBounds, read: (where: PartitionFile) => T | Promise<T>): Promise<T> {
    const where = this.fileOf(partition);
    try {
      return await read(where);
    } catch (error) {
      if (existsSync(where.file)) throw error;
      this.listPartitions();
      const now = this.fileOf(partition);
      if (now.file === where.file) throw error;
      return read(now);
    }
  }

  private fullTextIndex(read: WindowRead): FullTextIndex | null {
    return read.index as FullTextIndex | null;
  }

  private all<Row>(partition: PartitionBounds, statement: Statement): Promise<Row[]> {
    return this.inFile(partition, ({ file }) => this.connections.get(file).all<Row>(statement));
  }

  private fileOf(partition: PartitionBounds): PartitionFile {
    const generation = this.generations.get(partition.startMs) ?? (partition as Partial<StoredPartition>).generation ?? 0;
    return { file: partitionFile(this.dataDir, partition.name, generation), compacted: generation > 0 };
  }
}

/** A read's time as a deadline on the clock the search threads share. */
function deadlineOf(time: ReadTime): number | null {
  return time === null ? null : sharedClockNow() + time.remainingMs;
}
