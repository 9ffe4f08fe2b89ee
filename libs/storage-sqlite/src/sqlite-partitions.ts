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
  WordIndex,
  searchesText,
  sharedClockNow,
} from '@daylog/storage';
import { CatalogueStatements } from './catalogue';
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
import { SearchThreads } from './search-threads';
import { HAS_WORD_INDEX, WORD_INDEX_STATE, wordIndexTable } from './word-index';

/** A budget for reads that are not searched by text: they never take long enough to be stopped. */
const NOT_TIMED = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

/**
 * SQLite's partitions for the core's reader: a file per partition, the catalogue's label sets and
 * partitions. What indexes answer (pages without text filters, counts, context) is read on the main
 * thread; text searches on the search threads, which are stopped at their deadline.
 */
export class SqlitePartitions implements PartitionSource {
  private readonly connections = new ReadConnections(null);

  constructor(
    private readonly catalogue: CatalogueStatements,
    private readonly dataDir: string,
    private readonly threads: SearchThreads,
  ) {}

  partitions(): Promise<PartitionBounds[]> {
    return Promise.resolve(this.catalogue.partitions());
  }

  labelSetsAfter(afterId: number): Promise<StoredLabelSet[]> {
    return Promise.resolve(this.catalogue.streams(afterId));
  }

  lineAt(partition: PartitionBounds, position: CursorPosition): Promise<LineRow | null> {
    const [row] = this.all<LineRow>(partition, { sql: `SELECT ${LINE_COLUMNS} FROM "${partition.name}" WHERE id = ? AND ts = ?`, params: [position.id, position.ts] });
    return Promise.resolve(row ?? null);
  }

  /** The partition's full-text index, once the writer has begun one. */
  wordIndex(partition: PartitionBounds): Promise<WordIndex | null> {
    const [{ found }] = this.all<{ found: number }>(partition, { sql: HAS_WORD_INDEX, params: [] });
    if (!found) return Promise.resolve(null);
    const [state] = this.all<{ indexed_upto: number }>(partition, { sql: WORD_INDEX_STATE, params: [] });
    const index: FullTextIndex | null = state ? { table: wordIndexTable(partition.name), indexedUpTo: state.indexed_upto } : null;
    return Promise.resolve(index);
  }

  minuteTotals(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null): Promise<{ minute: number; lines: number }[]> {
    return Promise.resolve(this.all(partition, minuteTotalsStatement(filter, labelSetIds)));
  }

  linesBetween(partition: PartitionBounds, fromMinute: number, toMs: number): Promise<number> {
    const [{ lines }] = this.all<{ lines: number }>(partition, rangeLinesStatement(fromMinute, toMs));
    return Promise.resolve(lines);
  }

  keyAfter(partition: PartitionBounds, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Promise<LineKey | null> {
    const [end] = this.all<LineKey>(partition, lineKeyAfterStatement(partition, fromMs, toMs, start, backward, count));
    return Promise.resolve(end ?? null);
  }

  pageLines(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]> {
    const query: LogQuery = { ...read.filter, direction: order.direction, after: order.after, limit };
    return this.read(read, pageStatement(read.partition, query, read.labelSetIds, limit, this.fullTextIndex(read), read.range));
  }

  countLines(read: WindowRead, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    return this.read(read, countStatement(read.partition, read.filter, read.labelSetIds, bucketMs, this.fullTextIndex(read), read.range));
  }

  countMinutes(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    return Promise.resolve(this.all(partition, minuteCountStatement(filter, labelSetIds, bucketMs)));
  }

  forget(partitions: PartitionBounds[]): void {
    const files = partitions.map((partition) => this.fileOf(partition));
    this.connections.forget(files);
    this.threads.forget(files);
  }

  close(): void {
    this.connections.forgetAll();
  }

  /** A window's statement: on a search thread when it searches text, until its time is up; else here. */
  private async read<Row>(read: WindowRead, statement: Statement): Promise<Row[]> {
    if (!searchesText(read.filter)) return this.all<Row>(read.partition, statement);
    const rows = await this.threads.rows<Row>(this.fileOf(read.partition), statement, deadlineOf(read.time), read.client);
    if (rows === 'out-of-time') throw new QueryBudgetExceeded('time', NOT_TIMED);
    return rows;
  }

  private fullTextIndex(read: WindowRead): FullTextIndex | null {
    return read.index as FullTextIndex | null;
  }

  private all<Row>(partition: PartitionBounds, statement: Statement): Row[] {
    return this.connections.get(this.fileOf(partition)).all<Row>(statement);
  }

  private fileOf(partition: PartitionBounds): string {
    return partitionFile(this.dataDir, partition.name);
  }
}

/** A read's time as a deadline on the clock the search threads share. */
function deadlineOf(time: ReadTime): number | null {
  return time === null ? null : sharedClockNow() + time.remainingMs;
}
