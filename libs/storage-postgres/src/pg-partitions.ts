import {
  CountQuery,
  CountRow,
  CursorPosition,
  LineFilter,
  LineKey,
  LineRow,
  LineTester,
  LogQuery,
  PartitionBounds,
  PartitionSource,
  QueryBudgetExceeded,
  ReadTime,
  SpanRead,
  StoredLabelSet,
  WindowRead,
  WindowsPage,
  WordIndex,
  searchesText,
} from '@daylog/storage';
import { LabelSetFeed } from './label-set-feed';
import { PgLineRow, lineRowOf } from './line-rows';
import { PartitionList } from './partition-list';
import { PgDatabase } from './pg-database';
import {
  Statement,
  WindowLines,
  countStatement,
  keyAfterStatement,
  lineAtStatement,
  linesStatement,
  minuteCountStatement,
  minuteTotalsStatement,
  rangeLinesStatement,
  testLeftToJavaScript,
  windowsStatement,
} from './read-statements';
import { TimedRead } from './timed-read';
import { WHOLE_WORD_INDEX, WORD_INDEX_VALID, wordIndexName } from './word-index';

/**
 * How many candidate lines a text search tested in JavaScript reads at a time: few first (a page may fill from
 * them), twice as many each time after, up to `most` (each chunk is copied to a test thread whole).
 */
export interface ChunkLines {
  first: number;
  most: number;
}

const CHUNK_LINES: ChunkLines = { first: 500, most: 8_000 };

/** SQLSTATE of a table that is not there: a partition read by its own table and dropped meanwhile by a pruner. */
const UNDEFINED_TABLE = '42P01';

/** Candidates read at once, and how many were asked for: fewer, and the window is read to its end. */
interface Chunk<Row extends LineRow> {
  limit: number;
  rows: Row[];
}

/** A line of a read of several windows, and which of them (its index) it is in. */
interface WindowRow extends LineRow {
  window: number;
}

/** What linesStatement reads of a window for a page, from the page's position when it is in the window. */
function windowLines(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): WindowLines {
  const after = order.after?.partitionStart === read.partition.startMs ? order.after : null;
  return {
    filter: read.filter,
    labelSetIds: read.labelSetIds,
    range: read.range,
    // Within a key range (which starts at or after the page's position) its lines alone.
    past: read.range ? null : after,
    backward: order.direction === 'backward',
    limit,
    indexedPartition: read.index ? read.partition.name : null,
  };
}

/**
 * PostgreSQL's partitions for the core's reader. Every read asks the database (the partitions of its catalog,
 * the label sets, the lines), and what is kept between reads is only handed out once the database has said it
 * is still whole (PartitionList, LabelSetFeed), so a line another replica committed is read at once, even in a
 * partition it has just made. Each statement bounds `ts` (or `minute`) to the window it reads, so the
 * planner reads that partition alone. Text the SQL cannot decide is tested in JavaScript through the LineTester.
 */
export class PgPartitions implements PartitionSource {
  /** The server scans a window on a backend of its own: a search keeps two going, on two connections. */
  readonly readsWindowsAhead = true;
  private readonly partitionList: PartitionList;
  private readonly labelSets: LabelSetFeed;
  /** Partitions whose word index was found valid: it stays so until they are dropped. */
  private readonly indexed = new Set<string>();

  constructor(
    private readonly db: PgDatabase,
    private readonly lineTester: LineTester,
    private readonly chunkLines = CHUNK_LINES,
  ) {
    this.partitionList = new PartitionList(db);
    this.labelSets = new LabelSetFeed(db);
  }

  partitions(): Promise<PartitionBounds[]> {
    return this.partitionList.live();
  }

  labelSetsAfter(afterId: number): Promise<StoredLabelSet[]> {
    return this.labelSets.after(afterId);
  }

  async lineAt(_partition: PartitionBounds, position: CursorPosition): Promise<LineRow | null> {
    const [row] = await this.rows<PgLineRow>(lineAtStatement(position));
    return row ? lineRowOf(row) : null;
  }

  /** The partition's word index once built (by any replica): it holds every line of it, those written since too. */
  async wordIndex(partition: PartitionBounds): Promise<WordIndex | null> {
    if (!this.indexed.has(partition.name)) {
      const [{ valid }] = await this.db.query<{ valid: boolean }>(WORD_INDEX_VALID.text, [wordIndexName(partition.name)], WORD_INDEX_VALID.name);
      if (!valid) return null;
      this.indexed.add(partition.name);
    }
    return WHOLE_WORD_INDEX;
  }

  minuteTotals(_partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null): Promise<{ minute: number; lines: number }[]> {
    return this.rows(minuteTotalsStatement(filter, labelSetIds));
  }

  async linesBetween(_partition: PartitionBounds, fromMinute: number, toMs: number): Promise<number> {
    const [{ lines }] = await this.rows<{ lines: number }>(rangeLinesStatement(fromMinute, toMs));
    return lines;
  }

  async keyAfter(_partition: PartitionBounds, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Promise<LineKey | null> {
    const [key] = await this.rows<LineKey>(keyAfterStatement(fromMs, toMs, start, backward, count));
    return key ?? null;
  }

  async pageLines(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]> {
    const lines = windowLines(read, order, limit);
    if (!searchesText(read.filter)) return (await this.rows<PgLineRow>(linesStatement(lines))).map(lineRowOf);
    const reading = new TimedRead(this.db, this.lineTester, read.time, read.client);
    const test = testLeftToJavaScript(read.filter);
    if (!test) return (await reading.rows<PgLineRow>(linesStatement(lines))).map(lineRowOf);
    const found: LineRow[] = [];
    const chunk = (last: LineRow | null, chunkLimit: number) => this.candidates(reading, { ...lines, past: last ?? lines.past, limit: chunkLimit });
    await this.eachChunk(reading, chunk, test, (row) => found.push(row) < limit);
    return found;
  }

  /**
   * The windows in one statement (windowsStatement) against the earliest of their times, where one at a time
   * would ask the database once for each (a word of a whole day: two dozen partitions' indexes, most without it).
   * A first window with more time than the others (a page's first, read whatever the budget) that the statement
   * did not finish in time is then read alone in what is left of its own, and the next is the one out of time.
   */
  async pageIndexedWindows(reads: readonly WindowRead[], order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<WindowsPage> {
    const started = performance.now();
    const deadlines = reads.map((read) => (read.time === null ? Infinity : started + read.time.remainingMs));
    const deadline = Math.min(...deadlines);
    try {
      return await this.readWindows(reads, order, limit, Number.isFinite(deadline) ? { remainingMs: deadline - started } : null);
    } catch (error) {
      if ((error as { code?: unknown }).code === UNDEFINED_TABLE) return this.windowByWindow(reads, order, limit);
      if (!(error instanceof QueryBudgetExceeded)) throw error;
      if (reads.length === 1 || deadlines[0] === deadline) return { rows: [], outOfTime: 0 };
      try {
        const first = await this.pageLines({ ...reads[0], time: { remainingMs: deadlines[0] - performance.now() } }, order, limit);
        return { rows: [first], outOfTime: first.length >= limit ? null : 1 };
      } catch (firstError) {
        if (firstError instanceof QueryBudgetExceeded) return { rows: [], outOfTime: 0 };
        throw firstError;
      }
    }
  }

  /** One statement over `logs`, bounded to the span: the planner reads each partition's index in turn and stops at the limit. */
  async pageSpan(read: SpanRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]> {
    const lines: WindowLines = {
      filter: read.filter,
      labelSetIds: read.labelSetIds,
      range: null,
      past: order.after,
      backward: order.direction === 'backward',
      limit,
      indexedPartition: null,
    };
    return (await this.rows<PgLineRow>(linesStatement(lines))).map(lineRowOf);
  }

  async countLines(read: WindowRead, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    if (!searchesText(read.filter)) return this.rows(countStatement(read, bucketMs));
    const reading = new TimedRead(this.db, this.lineTester, read.time, read.client);
    const test = testLeftToJavaScript(read.filter);
    if (!test) return reading.rows(countStatement(read, bucketMs));
    const counts = new Map<string, CountRow>();
    const lines = windowLines(read, { direction: 'forward', after: null }, 0);
    const chunk = (last: LineRow | null, limit: number) => this.candidates(reading, { ...lines, past: last, limit });
    await this.eachChunk(reading, chunk, test, (row) => {
      const start = bucketMs === null ? 0 : row.ts - (row.ts % bucketMs);
      const key = `${start}:${row.labelSetId}:${row.severity}`;
      const count = counts.get(key) ?? { start, labelSetId: row.labelSetId, severity: row.severity, lines: 0, lastTs: row.ts };
      count.lines++;
      count.lastTs = Math.max(count.lastTs, row.ts);
      counts.set(key, count);
      return true;
    });
    return [...counts.values()];
  }

  countMinutes(_partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]> {
    return this.rows(minuteCountStatement(filter, labelSetIds, bucketMs));
  }

  /** Of the partitions, only what is known of their word indexes is held. */
  forget(partitions: PartitionBounds[]): void {
    for (const partition of partitions) this.indexed.delete(partition.name);
  }

  /** The connections are the database's, which the store closes. */
  close(): void {}

  /** pageIndexedWindows' read, under one time: each window's lines until `limit` in all. */
  private async readWindows(reads: readonly WindowRead[], order: Pick<LogQuery, 'direction' | 'after'>, limit: number, time: ReadTime): Promise<WindowsPage> {
    const reading = new TimedRead(this.db, this.lineTester, time, reads[0].client);
    const windows = reads.map((read) => windowLines(read, order, limit));
    const rows: LineRow[][] = reads.map(() => []);
    let found = 0;
    const take = (row: WindowRow) => {
      rows[row.window].push(row);
      return ++found < limit;
    };
    // A chunk of the windows from the last row's on, that one's lines past the row.
    const chunk = async (last: WindowRow | null, chunkLimit: number): Promise<WindowRow[]> => {
      const from = last?.window ?? 0;
      const remaining = windows.slice(from).map((lines, i) => ({ ...lines, past: i === 0 && last ? last : lines.past, limit: chunkLimit }));
      const read = await reading.rows<PgLineRow & { window: number }>(windowsStatement(remaining, chunkLimit));
      return read.map((row) => ({ ...lineRowOf(row), window: from + row.window }));
    };
    const test = testLeftToJavaScript(reads[0].filter);
    if (test) await this.eachChunk(reading, chunk, test, take);
    else (await chunk(null, limit)).forEach(take);
    // A full page ends in the window of its last line: those after it were not read.
    const reached = found < limit ? reads.length : rows.findLastIndex((windowRows) => windowRows.length > 0) + 1;
    return { rows: rows.slice(0, reached), outOfTime: null };
  }

  /** The windows read as pageLines reads each, until `limit` rows in all or a window's time is up. */
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

  /**
   * The candidates SQL finds, in reading order, chunk by chunk (`chunk` reads those after the last of the chunk
   * before), each tested in JavaScript: `take` is given each line that passes `test`, until it answers false, or
   * the lines are all read. The next chunk is read while one is tested.
   */
  private async eachChunk<Row extends LineRow>(
    reading: TimedRead,
    chunk: (last: Row | null, limit: number) => Promise<Row[]>,
    test: LineFilter,
    take: (row: Row) => boolean,
  ): Promise<void> {
    const read = async (last: Row | null, limit: number): Promise<Chunk<Row>> => ({ limit, rows: await chunk(last, limit) });
    let next: Promise<Chunk<Row>> | null = read(null, this.chunkLines.first);
    try {
      while (next) {
        const { limit, rows }: Chunk<Row> = await next;
        next = rows.length < limit ? null : read(rows[rows.length - 1], Math.min(2 * limit, this.chunkLines.most));
        const passing = await reading.passing(test, rows);
        for (const [i, row] of rows.entries()) if (passing[i] && !take(row)) return;
      }
    } finally {
      // A chunk read ahead and not wanted: whatever it ends with, nobody waits for it.
      next?.catch(() => undefined);
    }
  }

  /** A chunk of candidates; none from a partition read by its own table that was dropped meanwhile: its lines went with it. */
  private async candidates(reading: TimedRead, lines: WindowLines): Promise<LineRow[]> {
    try {
      return (await reading.rows<PgLineRow>(linesStatement(lines))).map(lineRowOf);
    } catch (error) {
      if (lines.indexedPartition !== null && (error as { code?: unknown }).code === UNDEFINED_TABLE) return [];
      throw error;
    }
  }

  private rows<Row extends object>(statement: Statement): Promise<Row[]> {
    return this.db.query<Row>(statement.text, statement.values, statement.name);
  }
}
