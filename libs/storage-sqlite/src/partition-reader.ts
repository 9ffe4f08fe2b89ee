import { setImmediate as nextTurn } from 'node:timers/promises';
import { LEVELS, lineFields } from '@daylog/log-model';
import { CountQuery, CursorPosition, formatOfCode, LineContext, LineCount, LineFilter, LogQuery, matchingStreamIds, MINUTE_MS, PartitionBounds, QueryBudgetExceeded, QueryCancelled, QueryPage, ScanBudget, ScanStop, StoredLabelSet, StoredLogLine } from '@daylog/storage';
import { CatalogueStatements } from './catalogue';
import { FullTextIndex, KeyRange, LINE_COLUMNS, LineKey, Statement, countStatement, lineKeyAfterStatement, minuteCountStatement, rangeLinesStatement, minuteTotalsStatement, pageStatement, searchesText } from './page-statement';
import { partitionFile } from './partition-schema';
import { PartitionConnection, ReadConnections } from './read-connections';
import { SearchThreads } from './search-threads';
import { sharedClockNow } from './search-protocol';
import { HAS_WORD_INDEX, WORD_INDEX_STATE, wordIndexTable } from './word-index';

interface LineRow {
  id: number;
  ts: number;
  stream_id: number;
  level: number;
  message: string;
  fields: string | null;
  format: number | null;
}

/**
 * About how many lines a text search reads at a time: between two such windows it looks at its
 * budget and lets other requests run (about 5 ms of substring search, 25 ms of regex, here). A
 * minute with more lines is read in parts of at most this many lines (of any label set).
 */
const SCAN_WINDOW_LINES = 20_000;

/** No limit: reads whose size the caller has already bounded (a line's context). */
const UNLIMITED: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

/** A stretch of one partition a search reads in one statement, and the lines its text filters will test there. */
interface ScanWindow {
  partition: PartitionBounds;
  /** The partition's word index as it was when the window was planned; lines past it are read. */
  index: FullTextIndex | null;
  fromMs: number;
  toMs: number;
  lines: number;
  /** Ends with a minute of more lines than a window: read in parts, each ending where the time index says. */
  inParts?: boolean;
  /** A part's lines, and where its reading starts (excluded, in reading order; null: at the window's edge). */
  part?: { range: KeyRange; startAfter: LineKey | null };
}

/** Where a search that stops before `window` goes on from: the lines of the window and beyond, none before. */
function resumePosition(window: ScanWindow, query: LogQuery): CursorPosition {
  const { partition, fromMs, toMs } = window;
  if (window.part?.startAfter) return { ...window.part.startAfter, partitionStart: partition.startMs };
  const after = query.after?.partitionStart === partition.startMs ? query.after : null;
  if (query.direction === 'backward') {
    return after && after.ts < toMs ? after : { ts: toMs, partitionStart: partition.startMs, id: 0 };
  }
  return after && after.ts >= fromMs ? after : { ts: fromMs - 1, partitionStart: partition.startMs, id: Number.MAX_SAFE_INTEGER };
}

/** A backward part, from `start` (excluded) down to `end` (included), as a forward key range: ids are whole numbers. */
function backwardRange(start: LineKey | null, end: LineKey | null): KeyRange {
  return { after: end && { ts: end.ts, id: end.id - 1 }, through: start && { ts: start.ts, id: start.id - 1 } };
}

/** One search's reading against its budget. */
class Scan {
  private scanned = 0;
  private windows = 0;
  private timed = false;

  constructor(
    private readonly budget: ScanBudget,
    private readonly threads: SearchThreads,
    /** Whether the first window is read whatever the budget, so that paging through a long search always moves on. */
    private readonly firstWindowFree: boolean,
  ) {}

  /** Before each window: lets other requests run, then says which limit, if any, forbids reading it. */
  async admit(window: ScanWindow): Promise<ScanStop | null> {
    if (this.windows > 0) await nextTurn();
    if (this.budget.signal?.aborted) throw new QueryCancelled();
    const free = this.firstWindowFree && this.windows === 0;
    if (!free && this.budget.now() > this.budget.deadlineMs) return 'time';
    if (!free && this.scanned + window.lines > this.budget.maxScannedLines) return 'lines';
    this.windows++;
    this.scanned += window.lines;
    this.timed = !free;
    return null;
  }

  /** Whether the window being read is a page's first, read whatever the budget: stopping before it is no progress. */
  get readingFreeWindow(): boolean {
    return !this.timed;
  }

  /**
   * Reads a window's lines on a search thread, until the search's deadline; a page's first window (which
   * is read whatever the time already spent) may take the search's whole time-out. Either way a
   * window not read in time throws QueryBudgetExceeded: a first window so slow answers 503, as a count.
   */
  async read<Row>(file: string, statement: Statement): Promise<Row[]> {
    const remainingMs = this.timed ? this.budget.deadlineMs - this.budget.now() : this.budget.timeoutMs;
    const deadline = Number.isFinite(remainingMs) ? sharedClockNow() + remainingMs : null;
    const rows = await this.threads.rows<Row>(file, statement, deadline);
    if (rows === 'out-of-time') throw new QueryBudgetExceeded('time', this.budget);
    return rows;
  }
}

interface CountRow {
  start: number;
  stream_id: number;
  level: number;
  lines: number;
  last_ts: number;
}

/**
 * Reads partitions: what indexes answer (pages without text filters, counts, context) on the main
 * thread, text searches window by window on the search threads.
 */
export class PartitionReader {
  private readonly connections = new ReadConnections(null);
  private readonly streams = new Map<number, StoredLabelSet>();
  private lastStreamId = 0;
  /** Partitions ending by then are being dropped: a search that began before the drop skips them. */
  private forgottenBeforeMs = 0;

  constructor(
    private readonly catalogue: CatalogueStatements,
    private readonly dataDir: string,
    private readonly threads: SearchThreads,
  ) {}

  async query(query: LogQuery, budget: ScanBudget): Promise<QueryPage> {
    this.refreshStreams();
    const streamIds = await this.streamIdsFor(query, budget);
    if (streamIds?.length === 0) return { lines: [], next: null, stopped: null };
    return this.page(query, streamIds, budget);
  }

  async context(position: CursorPosition, before: number, after: number, oldestMs: number, namespaces?: string[]): Promise<LineContext | null> {
    const partition = this.catalogue.partitions().find((p) => p.startMs === position.partitionStart);
    if (!partition || position.ts < oldestMs) return null;
    const [row] = this.connection(partition).all<LineRow>({
      sql: `SELECT ${LINE_COLUMNS} FROM "${partition.name}" WHERE id = ? AND ts = ?`,
      params: [position.id, position.ts],
    });
    if (!row) return null;
    this.refreshStreams();
    const stream = this.labelSetOf(row.stream_id);
    if (namespaces && (stream.namespace === null || !namespaces.includes(stream.namespace))) return null;
    const neighbours = [...this.streams.values()]
      .filter((s) => s.namespace === stream.namespace && s.pod === stream.pod && s.container === stream.container)
      .map((s) => s.id);
    const around = async (direction: LogQuery['direction'], limit: number): Promise<StoredLogLine[]> => {
      if (limit === 0) return [];
      const query: LogQuery = { fromMs: oldestMs, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [], limit, direction, after: position };
      return (await this.page(query, neighbours, UNLIMITED)).lines;
    };
    const line = this.toLine(row, partition);
    return { before: (await around('backward', before)).reverse(), line, after: await around('forward', after) };
  }

  /**
   * Whole minutes are read from `line_counts`; the minutes a range starts or ends inside of, and
   * any range searched by text, from the lines. A count is all or nothing: one that would read more
   * lines than the budget allows is refused before it starts, one that runs out of time when it does.
   */
  async count(query: CountQuery, budget: ScanBudget): Promise<LineCount[]> {
    this.refreshStreams();
    const streamIds = await this.streamIdsFor(query, budget);
    if (streamIds?.length === 0) return [];
    const totals = new Map<string, LineCount>();
    const add = (rows: CountRow[]): void => {
      for (const row of rows) {
        const key = `${row.start}:${row.stream_id}:${row.level}`;
        const total = totals.get(key);
        if (total) {
          total.lines += row.lines;
          total.lastTs = Math.max(total.lastTs, row.last_ts);
          continue;
        }
        const { namespace, pod, container, source } = this.labelSetOf(row.stream_id);
        totals.set(key, {
          startMs: query.bucketMs === null ? query.fromMs : row.start,
          labels: { namespace, pod, container, source },
          level: LEVELS[row.level],
          lines: row.lines,
          lastTs: row.last_ts,
        });
      }
    };
    if (searchesText(query)) {
      const windows = this.partitionsIn(query).flatMap((partition) => this.scanWindows(partition, query, streamIds));
      const lines = windows.reduce((sum, window) => sum + window.lines, 0);
      if (lines > budget.maxScannedLines) throw new QueryBudgetExceeded('lines', budget);
      const scan = new Scan(budget, this.threads, false);
      for (const window of this.readingOrder(windows, { direction: 'forward', after: null })) {
        const stop = await scan.admit(window);
        if (stop) throw new QueryBudgetExceeded(stop, budget);
        if (this.isForgotten(window.partition)) continue;
        const { partition, fromMs, toMs, index } = window;
        const statement = countStatement(partition, { ...query, fromMs, toMs }, streamIds, query.bucketMs, index, window.part?.range);
        add(await scan.read<CountRow>(this.fileOf(partition), statement));
      }
    } else {
      for (const partition of this.partitionsIn(query)) {
        const connection = this.connection(partition);
        const fromMs = Math.max(query.fromMs, partition.startMs);
        const toMs = Math.min(query.toMs, partition.endMs);
        const fromLines = (from: number, to: number) =>
          add(connection.all<CountRow>(countStatement(partition, { ...query, fromMs: from, toMs: to }, streamIds, query.bucketMs, null)));
        const firstMinute = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
        const endMinute = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
        if (firstMinute >= endMinute) {
          fromLines(fromMs, toMs);
          continue;
        }
        if (fromMs < firstMinute) fromLines(fromMs, firstMinute);
        add(connection.all<CountRow>(minuteCountStatement({ ...query, fromMs: firstMinute, toMs: endMinute }, streamIds, query.bucketMs)));
        if (endMinute < toMs) fromLines(endMinute, toMs);
      }
    }
    return [...totals.values()];
  }

  forgetPartitionsEndingBy(cutoffMs: number): void {
    this.forgottenBeforeMs = Math.max(this.forgottenBeforeMs, cutoffMs);
    const files = this.catalogue.partitions().filter((p) => p.endMs <= cutoffMs).map((p) => this.fileOf(p));
    this.connections.forget(files);
    this.threads.forget(files);
  }

  forgetStreams(ids: readonly number[]): void {
    for (const id of ids) this.streams.delete(id);
  }

  close(): void {
    this.connections.forgetAll();
  }

  private async page(query: LogQuery, streamIds: number[] | null, budget: ScanBudget): Promise<QueryPage> {
    const backward = query.direction === 'backward';
    const partitions = this.partitionsIn(query).filter(
      (p) => !query.after || (backward ? p.startMs <= query.after.partitionStart : p.startMs >= query.after.partitionStart),
    );
    if (backward) partitions.reverse();

    const lines: StoredLogLine[] = [];
    const scan = new Scan(budget, this.threads, true);
    const textSearch = searchesText(query);
    const stopBefore = (window: ScanWindow, stopped: ScanStop): QueryPage => ({ lines, next: resumePosition(window, query), stopped });
    for (const partition of partitions) {
      for (const window of this.readingOrder(this.scanWindows(partition, query, streamIds), query)) {
        const stop = await scan.admit(window);
        if (stop) return stopBefore(window, stop);
        if (this.isForgotten(partition)) break;
        const within = { ...query, fromMs: window.fromMs, toMs: window.toMs };
        const statement = pageStatement(partition, within, streamIds, query.limit + 1 - lines.length, window.index, window.part?.range);
        let rows: LineRow[];
        try {
          rows = textSearch ? await scan.read<LineRow>(this.fileOf(partition), statement) : this.connection(partition).all<LineRow>(statement);
        } catch (error) {
          if (error instanceof QueryBudgetExceeded && !scan.readingFreeWindow) return stopBefore(window, error.stop);
          throw error;
        }
        for (const row of rows) lines.push(this.toLine(row, partition));
        if (lines.length > query.limit) {
          lines.length = query.limit;
          return { lines, next: lines[lines.length - 1].position, stopped: null };
        }
      }
    }
    return { lines, next: null, stopped: null };
  }

  private partitionsIn(filter: LineFilter): PartitionBounds[] {
    return this.catalogue.partitions().filter((p) => p.endMs > filter.fromMs && p.startMs < filter.toMs && !this.isForgotten(p));
  }

  private isForgotten(partition: PartitionBounds): boolean {
    return partition.endMs <= this.forgottenBeforeMs;
  }

  /**
   * A partition's share of a range (a page's share begins at its cursor) in windows, in reading
   * order, of about SCAN_WINDOW_LINES lines that the text filters test, cut at minutes as
   * `line_counts` counts them; one window when nothing is tested, or the word index finds the lines.
   * Windows fill up in reading order, so the first is never a sliver: each page reads on. A minute
   * of more than SCAN_WINDOW_LINES ends its window, which `readingOrder` reads in parts.
   */
  private scanWindows(partition: PartitionBounds, query: LineFilter & Partial<Pick<LogQuery, 'after' | 'direction'>>, streamIds: number[] | null): ScanWindow[] {
    let fromMs = Math.max(query.fromMs, partition.startMs);
    let toMs = Math.min(query.toMs, partition.endMs);
    const backward = query.direction === 'backward';
    const after = query.after?.partitionStart === partition.startMs ? query.after : null;
    if (after) {
      // A position past every line of its millisecond (where a search that stopped at a window's edge goes on)
      // starts at the next one: the minute it ends is not counted again, as a window of no lines read first.
      if (backward) toMs = Math.min(toMs, after.id === 0 ? after.ts : after.ts + 1);
      else fromMs = Math.max(fromMs, after.id === Number.MAX_SAFE_INTEGER ? after.ts + 1 : after.ts);
    }
    const index = query.match ? this.fullTextIndex(partition) : null;
    if (!searchesText(query) || index) return [{ partition, index, fromMs, toMs, lines: 0 }];
    const minutes = this.connection(partition).all<{ minute: number; lines: number }>(
      minuteTotalsStatement({ ...query, fromMs: fromMs - (fromMs % MINUTE_MS), toMs }, streamIds),
    );
    if (backward) minutes.reverse();
    const windows: ScanWindow[] = [];
    let edge = backward ? toMs : fromMs;
    let lines = 0;
    const push = (from: number, to: number, count: number, inParts: boolean) =>
      windows.push(backward ? { partition, index, fromMs: to, toMs: from, lines: count, inParts } : { partition, index, fromMs: from, toMs: to, lines: count, inParts });
    for (const minute of minutes) {
      lines += minute.lines;
      const next = backward ? Math.max(fromMs, minute.minute) : Math.min(toMs, minute.minute + MINUTE_MS);
      const busy = minute.lines > SCAN_WINDOW_LINES;
      if ((busy || lines >= SCAN_WINDOW_LINES) && next !== edge) {
        push(edge, next, lines, busy);
        edge = next;
        lines = 0;
      }
    }
    const end = backward ? fromMs : toMs;
    if (edge !== end || windows.length === 0) push(edge, end, lines, false);
    return windows;
  }

  /**
   * The windows as they are read: one that ends with a busy minute in parts of SCAN_WINDOW_LINES lines
   * of any label set, each found just before it is read by walking the time index from where the last
   * ended (or from the query's position, when it is in the window), so that no statement reads more,
   * however busy the minute. A search that stops before a part goes on where the part starts.
   */
  private *readingOrder(windows: ScanWindow[], query: Pick<LogQuery, 'direction' | 'after'>): Generator<ScanWindow> {
    const backward = query.direction === 'backward';
    for (const window of windows) {
      if (!window.inParts) {
        yield window;
        continue;
      }
      const { partition, fromMs, toMs } = window;
      const connection = this.connection(partition);
      const after = query.after?.partitionStart === partition.startMs ? query.after : null;
      let start: LineKey | null = after && after.ts >= fromMs && after.ts < toMs ? { ts: after.ts, id: after.id } : null;
      const [{ lines: allLines }] = connection.all<{ lines: number }>(rangeLinesStatement(fromMs - (fromMs % MINUTE_MS), toMs));
      const linesPerPart = Math.ceil((window.lines * SCAN_WINDOW_LINES) / Math.max(allLines, SCAN_WINDOW_LINES));
      let left = window.lines;
      do {
        const [end] = connection.all<LineKey>(lineKeyAfterStatement(partition, fromMs, toMs, start, backward, SCAN_WINDOW_LINES));
        const lines = end ? Math.min(left, linesPerPart) : left;
        left -= lines;
        yield { ...window, lines, part: { range: backward ? backwardRange(start, end ?? null) : { after: start, through: end ?? null }, startAfter: start } };
        start = end ?? null;
      } while (start);
    }
  }

  private toLine(row: LineRow, partition: PartitionBounds): StoredLogLine {
    const stream = this.labelSetOf(row.stream_id);
    const format = formatOfCode(row.format);
    const sent = row.fields === null ? null : (JSON.parse(row.fields) as StoredLogLine['fields']);
    return {
      ts: row.ts,
      level: LEVELS[row.level],
      namespace: stream.namespace,
      pod: stream.pod,
      container: stream.container,
      source: stream.source,
      message: row.message,
      fields: lineFields(format, row.message, sent),
      format,
      position: { ts: row.ts, partitionStart: partition.startMs, id: row.id },
    };
  }

  private connection(partition: PartitionBounds): PartitionConnection {
    return this.connections.get(this.fileOf(partition));
  }

  private fileOf(partition: PartitionBounds): string {
    return partitionFile(this.dataDir, partition.name);
  }

  /** The label sets a filter reaches: those its label patterns match, within the namespaces it may see; null: all. */
  private streamIdsFor(filter: LineFilter, budget: ScanBudget): Promise<number[] | null> {
    return matchingStreamIds(this.streams.values(), filter.labels, budget, filter.namespaces);
  }

  /** The partition's full-text index, once the writer has begun one. */
  private fullTextIndex(partition: PartitionBounds): FullTextIndex | null {
    const connection = this.connection(partition);
    const [{ found }] = connection.all<{ found: number }>({ sql: HAS_WORD_INDEX, params: [] });
    if (!found) return null;
    const [state] = connection.all<{ indexed_upto: number }>({ sql: WORD_INDEX_STATE, params: [] });
    return state ? { table: wordIndexTable(partition.name), indexedUpTo: state.indexed_upto } : null;
  }

  /**
   * The label set of a line just read. Reads that reach every label set (no label filter) meet lines of
   * label sets written since the read began: the catalogue has each before any line of it is committed,
   * so it is read again. Labels are taken as rows are read, before a drop can make the reader forget them.
   */
  private labelSetOf(id: number): StoredLabelSet {
    if (!this.streams.has(id)) this.refreshStreams();
    const stream = this.streams.get(id);
    if (!stream) throw new Error(`label set ${id} has lines in a partition but is not in the catalogue`);
    return stream;
  }

  private refreshStreams(): void {
    for (const stream of this.catalogue.streams(this.lastStreamId)) {
      this.streams.set(stream.id, stream);
      this.lastStreamId = stream.id;
    }
  }
}
