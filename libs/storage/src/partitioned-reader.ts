import { setImmediate as nextTurn } from 'node:timers/promises';
import { LEVELS } from '@daylog/log-model';
import { StoredLabelSet } from './label-sets';
import { matchingLabelSetIds } from './label-matcher';
import { searchesText } from './filter-terms';
import {
  CountQuery,
  CursorPosition,
  LineContext,
  LineCount,
  LineFilter,
  LogQuery,
  QueryBudgetExceeded,
  QueryCancelled,
  QueryPage,
  ScanBudget,
  ScanStop,
  StoredLogLine,
} from './log-store';
import { CountRow, KeyRange, LineKey, LineRow, PartitionSource, ReadTime, WindowRead, WindowsPage, WordIndex } from './partition-source';
import { MINUTE_MS, PartitionBounds } from './partitions';
import { storedLogLine } from './stored-line';

/**
 * About how many lines a text search reads at a time: between two such windows it looks at its
 * budget and lets other requests run (about 5 ms of substring search, 25 ms of regex, here). A
 * minute with more lines is read in parts of at most this many lines (of any label set).
 */
const SCAN_WINDOW_LINES = 20_000;

/** No limit: reads whose size the caller has already bounded (a line's context). */
const UNLIMITED: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

/** A stretch of one partition a search reads at once, and the lines its text filters will test there. */
interface ScanWindow {
  partition: PartitionBounds;
  /** The partition's word index as it was when the window was planned; lines past it are read. */
  index: WordIndex | null;
  fromMs: number;
  toMs: number;
  lines: number;
  /** Ends with a minute of more lines than a window: read in parts, each ending where the time index says. */
  inParts?: boolean;
  /** A part's lines, and where its reading starts (excluded, in reading order; null: at the window's edge). */
  part?: { range: KeyRange; startAfter: LineKey | null };
}

/**
 * A page's windows whose read has begun, one, or a run of those a word index answers (`free`: the first read whatever
 * the budget, as a page's first), or a window the budget stops before.
 */
type WindowsBeingRead = { windows: ScanWindow[]; free: boolean; read: Promise<WindowsPage> } | { window: ScanWindow; stop: ScanStop };

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

/** The time range of a read over several partitions at once. */
interface TimeSpan {
  fromMs: number;
  toMs: number;
}

/** A span page's read begun before the label sets and partitions were asked for again, and what it was begun with. */
interface EarlySpan {
  span: TimeSpan;
  labelSetIds: number[] | null;
  rows: Promise<LineRow[]>;
}

function inRange(partition: PartitionBounds, filter: Pick<LineFilter, 'fromMs' | 'toMs'>): boolean {
  return partition.endMs > filter.fromMs && partition.startMs < filter.toMs;
}

function sameSpan(a: TimeSpan, b: TimeSpan | null): boolean {
  return b !== null && a.fromMs === b.fromMs && a.toMs === b.toMs;
}

function sameIds(a: number[] | null, b: number[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** One search's reading against its budget. */
class Scan {
  private scanned = 0;
  private windows = 0;
  private timed = false;

  constructor(
    private readonly budget: ScanBudget,
    /** Whether the first window is read whatever the budget, so that paging through a long search always moves on. */
    private readonly firstWindowFree: boolean,
    /**
     * Whether other requests run between windows: those of a text search test up to SCAN_WINDOW_LINES lines each;
     * a page without text reads each partition's share through an index, its page at most, in less time than a turn.
     */
    private readonly givesWay: boolean,
  ) {}

  /**
   * Before each window: lets other requests run if it gives way (not between windows read together, `along` the
   * one before), then says which limit, if any, forbids reading it.
   */
  async admit(window: ScanWindow, along = false): Promise<ScanStop | null> {
    if (this.givesWay && this.windows > 0 && !along) await nextTurn();
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
   * How long the window being read may take: until the search's deadline; a page's first window (read
   * whatever the time already spent) the search's whole time-out. A window not read in time throws
   * QueryBudgetExceeded: a first window so slow answers 503, as a count does.
   */
  readTime(): ReadTime {
    const remainingMs = this.timed ? this.budget.deadlineMs - this.budget.now() : this.budget.timeoutMs;
    return Number.isFinite(remainingMs) ? { remainingMs } : null;
  }
}

/**
 * Reads partitions of any engine: plans each search's windows from the per-minute counts, keeps it to its
 * budget, pages across partitions with keyset cursors, merges counts, and finds a line's context. The
 * engine (a PartitionSource) reads one window at a time.
 */
export class PartitionedReader {
  private readonly labelSets = new Map<number, StoredLabelSet>();
  private lastLabelSetId = 0;
  /** Partitions ending by then are being dropped: a search that began before the drop skips them. */
  private forgottenBeforeMs = 0;
  /** The partitions as the engine last listed them; null: not yet. */
  private lastListed: PartitionBounds[] | null = null;

  constructor(private readonly source: PartitionSource) {}

  async query(query: LogQuery, budget: ScanBudget): Promise<QueryPage> {
    // Asked for beside the label sets: to a database each is a round trip, and a newest page is only one more.
    const listed = this.partitionsIn(query);
    listed.catch(() => undefined);
    const refreshed = this.refreshLabelSets();
    refreshed.catch(() => undefined);
    const early = await this.beginEarlySpan(query, budget);
    const labelSetsAdded = await refreshed;
    const labelSetIds = early && !labelSetsAdded ? early.labelSetIds : await this.labelSetIdsFor(query, budget);
    if (labelSetIds?.length === 0) return { lines: [], next: null, stopped: null };
    if (early) {
      const partitions = this.pagePartitions(await listed, query);
      if (sameIds(early.labelSetIds, labelSetIds) && sameSpan(early.span, this.spanOf(partitions, query))) return this.spanPage(early.rows, query, partitions);
    }
    return this.page(query, labelSetIds, budget, listed);
  }

  async context(position: CursorPosition, before: number, after: number, oldestMs: number, namespaces?: string[]): Promise<LineContext | null> {
    const partition = (await this.source.partitions()).find((p) => p.startMs === position.partitionStart);
    if (!partition || position.ts < oldestMs) return null;
    const row = await this.source.lineAt(partition, position);
    if (!row) return null;
    await this.refreshLabelSets();
    const labelSet = await this.labelSetOf(row.labelSetId);
    if (namespaces && (labelSet.namespace === null || !namespaces.includes(labelSet.namespace))) return null;
    const neighbours = [...this.labelSets.values()]
      .filter((s) => s.namespace === labelSet.namespace && s.pod === labelSet.pod && s.container === labelSet.container)
      .map((s) => s.id);
    const around = async (direction: LogQuery['direction'], limit: number): Promise<StoredLogLine[]> => {
      if (limit === 0) return [];
      const query: LogQuery = { fromMs: oldestMs, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [], limit, direction, after: position };
      return (await this.page(query, neighbours, UNLIMITED)).lines;
    };
    const [line] = await this.toLines([row], partition);
    return { before: (await around('backward', before)).reverse(), line, after: await around('forward', after) };
  }

  /**
   * Whole minutes are read from the per-minute counts; the minutes a range starts or ends inside of, and
   * any range searched by text, from the lines. A count is all or nothing: one that would read more
   * lines than the budget allows is refused before it starts, one that runs out of time when it does.
   */
  async count(query: CountQuery, budget: ScanBudget): Promise<LineCount[]> {
    await this.refreshLabelSets();
    const labelSetIds = await this.labelSetIdsFor(query, budget);
    if (labelSetIds?.length === 0) return [];
    const totals = new Map<string, LineCount>();
    const add = async (rows: CountRow[]): Promise<void> => {
      for (const row of rows) {
        const key = `${row.start}:${row.labelSetId}:${row.severity}`;
        const total = totals.get(key);
        if (total) {
          total.lines += row.lines;
          total.lastTs = Math.max(total.lastTs, row.lastTs);
          continue;
        }
        const { namespace, pod, container, source } = await this.labelSetOf(row.labelSetId);
        totals.set(key, {
          startMs: query.bucketMs === null ? query.fromMs : row.start,
          labels: { namespace, pod, container, source },
          level: LEVELS[row.severity],
          lines: row.lines,
          lastTs: row.lastTs,
        });
      }
    };
    const partitions = await this.partitionsIn(query);
    if (searchesText(query)) {
      const windows = (await Promise.all(partitions.map((partition) => this.scanWindows(partition, query, labelSetIds)))).flat();
      const lines = windows.reduce((sum, window) => sum + window.lines, 0);
      if (lines > budget.maxScannedLines) throw new QueryBudgetExceeded('lines', budget);
      const scan = new Scan(budget, false, true);
      for await (const window of this.readingOrder(windows, { direction: 'forward', after: null })) {
        const stop = await scan.admit(window);
        if (stop) throw new QueryBudgetExceeded(stop, budget);
        if (this.isForgotten(window.partition)) continue;
        await add(await this.source.countLines(this.windowRead(window, query, labelSetIds, scan.readTime(), budget.client), query.bucketMs));
      }
    } else {
      for (const partition of partitions) {
        const fromMs = Math.max(query.fromMs, partition.startMs);
        const toMs = Math.min(query.toMs, partition.endMs);
        const fromLines = async (from: number, to: number) =>
          add(await this.source.countLines({ partition, filter: { ...query, fromMs: from, toMs: to }, labelSetIds, index: null, range: null, time: null }, query.bucketMs));
        const firstMinute = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
        const endMinute = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
        if (firstMinute >= endMinute) {
          await fromLines(fromMs, toMs);
          continue;
        }
        if (fromMs < firstMinute) await fromLines(fromMs, firstMinute);
        await add(await this.source.countMinutes(partition, { ...query, fromMs: firstMinute, toMs: endMinute }, labelSetIds, query.bucketMs));
        if (endMinute < toMs) await fromLines(endMinute, toMs);
      }
    }
    return [...totals.values()];
  }

  /** Searches skip partitions ending by `cutoffMs` from now on, and the engine lets go of them. */
  async forgetPartitionsEndingBy(cutoffMs: number): Promise<void> {
    this.forgottenBeforeMs = Math.max(this.forgottenBeforeMs, cutoffMs);
    this.source.forget((await this.source.partitions()).filter((p) => p.endMs <= cutoffMs));
  }

  forgetLabelSets(ids: readonly number[]): void {
    for (const id of ids) this.labelSets.delete(id);
  }

  close(): void {
    this.source.close();
  }

  private async page(query: LogQuery, labelSetIds: number[] | null, budget: ScanBudget, listed = this.partitionsIn(query)): Promise<QueryPage> {
    const partitions = this.pagePartitions(await listed, query);
    const span = this.spanOf(partitions, query);
    if (span) return this.spanPage(this.beginSpan(span, query, labelSetIds, budget), query, partitions);

    const lines: StoredLogLine[] = [];
    const scan = new Scan(budget, true, searchesText(query));
    const stopBefore = (window: ScanWindow, stopped: ScanStop): QueryPage => ({ lines, next: resumePosition(window, query), stopped });
    const windows = this.pageWindows(partitions, query, labelSetIds);
    /** A window taken from `windows` and not read yet: the one that ended a run of windows read together. */
    let held: ScanWindow | null = null;
    const nextWindow = async (): Promise<ScanWindow | null> => {
      if (held) {
        const window = held;
        held = null;
        return window;
      }
      const next = await windows.next();
      return next.done ? null : next.value;
    };
    const order = { direction: query.direction, after: query.after };
    const pageIndexedWindows = this.source.pageIndexedWindows?.bind(this.source);
    /**
     * The next windows admitted and their read begun (their limit what the page lacked then), or why the next may not
     * be read: one window, or all those in a row that the word index answers where the engine reads them together.
     */
    const begin = async (): Promise<WindowsBeingRead | null> => {
      for (let window = await nextWindow(); window; window = await nextWindow()) {
        const stop = await scan.admit(window);
        if (stop) return { window, stop };
        if (this.isForgotten(window.partition)) continue;
        const free = scan.readingFreeWindow;
        const reads = [this.windowRead(window, query, labelSetIds, scan.readTime(), budget.client)];
        const limit = query.limit + 1 - lines.length;
        if (!pageIndexedWindows || !window.index) {
          const read = this.source.pageLines(reads[0], order, limit).then((rows): WindowsPage => ({ rows: [rows], outOfTime: null }));
          read.catch(() => undefined);
          return { windows: [window], free, read };
        }
        const run = [window];
        for (let next = await nextWindow(); next; next = await nextWindow()) {
          if (!next.index || (await scan.admit(next, true))) {
            held = next;
            break;
          }
          if (this.isForgotten(next.partition)) continue;
          run.push(next);
          reads.push(this.windowRead(next, query, labelSetIds, scan.readTime(), budget.client));
        }
        const read = pageIndexedWindows(reads, order, limit);
        read.catch(() => undefined);
        return { windows: run, free, read };
      }
      return null;
    };
    // A search that tests text reads the next window while it takes in one, where the engine has cores of its own for it.
    const readAhead = this.source.readsWindowsAhead === true && searchesText(query);
    for (let current = await begin(); current; ) {
      if ('stop' in current) return stopBefore(current.window, current.stop);
      const following = readAhead ? begin() : null;
      following?.catch(() => undefined);
      let read: WindowsPage;
      try {
        read = await current.read;
      } catch (error) {
        if (error instanceof QueryBudgetExceeded && !current.free) return stopBefore(current.windows[0], error.stop);
        throw error;
      }
      for (const [i, rows] of read.rows.entries()) {
        lines.push(...(await this.toLines(rows, current.windows[i].partition)));
        if (lines.length > query.limit) {
          lines.length = query.limit;
          return { lines, next: lines[lines.length - 1].position, stopped: null };
        }
      }
      if (read.outOfTime !== null) {
        // A page's first window not read in time is a 503, as a count is: stopping before it would be no progress.
        if (read.outOfTime === 0 && current.free) throw new QueryBudgetExceeded('time', budget);
        return stopBefore(current.windows[read.outOfTime], 'time');
      }
      current = await (following ?? begin());
    }
    return { lines, next: null, stopped: null };
  }

  /** A page's windows in reading order, partition after partition, each partition's planned when it is reached. */
  private async *pageWindows(partitions: PartitionBounds[], query: LogQuery, labelSetIds: number[] | null): AsyncGenerator<ScanWindow> {
    for (const partition of partitions) yield* this.readingOrder(await this.scanWindows(partition, query, labelSetIds), query);
  }

  /** The partitions a page reads, in its reading order, from its position on. */
  private pagePartitions(listed: PartitionBounds[], query: LogQuery): PartitionBounds[] {
    const backward = query.direction === 'backward';
    const partitions = listed.filter((p) => !query.after || (backward ? p.startMs <= query.after.partitionStart : p.startMs >= query.after.partitionStart));
    return backward ? partitions.reverse() : partitions;
  }

  /**
   * The time range a page that tests no text reads in one go, from an engine that reads its partitions' span at
   * once: one read, where going partition by partition asks once for each (most of them, for a quiet pod, hold
   * none of its lines). Null: the page is read window by window.
   */
  private spanOf(partitions: PartitionBounds[], query: LogQuery): TimeSpan | null {
    if (!this.source.pageSpan || partitions.length < 2 || searchesText(query)) return null;
    return {
      fromMs: Math.max(query.fromMs, Math.min(...partitions.map((p) => p.startMs))),
      toMs: Math.min(query.toMs, Math.max(...partitions.map((p) => p.endMs))),
    };
  }

  /**
   * The span's read begun. Nothing is tested, so there are no windows to budget; the read has the search's whole
   * time-out, as a page's first window.
   */
  private async beginSpan(span: TimeSpan, query: LogQuery, labelSetIds: number[] | null, budget: ScanBudget): Promise<LineRow[]> {
    const scan = new Scan(budget, true, false);
    await scan.admit({ partition: { startMs: span.fromMs, endMs: span.toMs, name: '' }, index: null, ...span, lines: 0 });
    const read = { filter: { ...query, ...span }, labelSetIds, time: scan.readTime(), client: budget.client };
    return this.source.pageSpan!(read, { direction: query.direction, after: query.after }, query.limit + 1);
  }

  /**
   * A span page begun on the partitions and label sets this reader knew before it asked the engine for them
   * again, so that a newest page waits for one round trip, not two: its lines are handed out only if what the
   * engine then says leaves the same read (query compares), else it is read again. Null: nothing known yet.
   */
  private async beginEarlySpan(query: LogQuery, budget: ScanBudget): Promise<EarlySpan | null> {
    if (this.lastListed === null) return null;
    const span = this.spanOf(this.pagePartitions(this.lastListed.filter((p) => inRange(p, query) && !this.isForgotten(p)), query), query);
    if (!span) return null;
    const labelSetIds = await this.labelSetIdsFor(query, budget);
    if (labelSetIds?.length === 0) return null;
    const rows = this.beginSpan(span, query, labelSetIds, budget);
    rows.catch(() => undefined);
    return { span, labelSetIds, rows };
  }

  /** A span page's lines, each told which partition it is in. */
  private async spanPage(read: Promise<LineRow[]>, query: LogQuery, partitions: PartitionBounds[]): Promise<QueryPage> {
    const rows = await read;
    let known = partitions;
    const lines: StoredLogLine[] = [];
    for (const row of rows.slice(0, query.limit)) {
      let partition = known.find((p) => p.startMs <= row.ts && row.ts < p.endMs);
      // Made since the partitions were listed, for a late line of an hour that had none: the engine has it now.
      if (!partition) {
        known = await this.partitionsIn(query);
        partition = known.find((p) => p.startMs <= row.ts && row.ts < p.endMs);
      }
      if (!partition) throw new Error(`a line of ${new Date(row.ts).toISOString()} was read in no live partition`);
      lines.push(storedLogLine(row, await this.labelSetOf(row.labelSetId), partition.startMs));
    }
    return { lines, next: rows.length > query.limit ? lines[lines.length - 1].position : null, stopped: null };
  }

  private windowRead(window: ScanWindow, filter: LineFilter, labelSetIds: number[] | null, time: ReadTime, client: string | undefined): WindowRead {
    const { partition, index } = window;
    return { partition, filter: { ...filter, fromMs: window.fromMs, toMs: window.toMs }, labelSetIds, index, range: window.part?.range ?? null, time, client };
  }

  private async partitionsIn(filter: LineFilter): Promise<PartitionBounds[]> {
    const listed = await this.source.partitions();
    this.lastListed = listed;
    return listed.filter((p) => inRange(p, filter) && !this.isForgotten(p));
  }

  private isForgotten(partition: PartitionBounds): boolean {
    return partition.endMs <= this.forgottenBeforeMs;
  }

  /**
   * A partition's share of a range (a page's share begins at its cursor) in windows, in reading
   * order, of about SCAN_WINDOW_LINES lines that the text filters test, cut at minutes as the
   * per-minute counts count them; one window when nothing is tested, or the word index finds the lines.
   * Windows fill up in reading order, so the first is never a sliver: each page reads on. A minute
   * of more than SCAN_WINDOW_LINES ends its window, which `readingOrder` reads in parts.
   */
  private async scanWindows(partition: PartitionBounds, query: LineFilter & Partial<Pick<LogQuery, 'after' | 'direction'>>, labelSetIds: number[] | null): Promise<ScanWindow[]> {
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
    const index = query.match ? await this.source.wordIndex(partition) : null;
    if (!searchesText(query) || index) return [{ partition, index, fromMs, toMs, lines: 0 }];
    const minutes = await this.source.minuteTotals(partition, { ...query, fromMs: fromMs - (fromMs % MINUTE_MS), toMs }, labelSetIds);
    // No line of the filter's labels and levels here (a partition made for a batch's commit record, say): no
    // window, for a page's first would be read and find nothing, and the next would stop on its time.
    if (minutes.every((minute) => minute.lines === 0)) return [];
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
   * ended (or from the query's position, when it is in the window), so that no read takes in more,
   * however busy the minute. A search that stops before a part goes on where the part starts.
   */
  private async *readingOrder(windows: ScanWindow[], query: Pick<LogQuery, 'direction' | 'after'>): AsyncGenerator<ScanWindow> {
    const backward = query.direction === 'backward';
    for (const window of windows) {
      if (!window.inParts) {
        yield window;
        continue;
      }
      const { partition, fromMs, toMs } = window;
      const after = query.after?.partitionStart === partition.startMs ? query.after : null;
      let start: LineKey | null = after && after.ts >= fromMs && after.ts < toMs ? { ts: after.ts, id: after.id } : null;
      const allLines = await this.source.linesBetween(partition, fromMs - (fromMs % MINUTE_MS), toMs);
      const linesPerPart = Math.ceil((window.lines * SCAN_WINDOW_LINES) / Math.max(allLines, SCAN_WINDOW_LINES));
      let left = window.lines;
      do {
        const end = await this.source.keyAfter(partition, fromMs, toMs, start, backward, SCAN_WINDOW_LINES);
        const lines = end ? Math.min(left, linesPerPart) : left;
        left -= lines;
        yield { ...window, lines, part: { range: backward ? backwardRange(start, end) : { after: start, through: end }, startAfter: start } };
        start = end;
      } while (start);
    }
  }

  /** Lines as rows were read; labels are taken before a drop can make the reader forget them. */
  private async toLines(rows: LineRow[], partition: PartitionBounds): Promise<StoredLogLine[]> {
    const lines: StoredLogLine[] = [];
    for (const row of rows) lines.push(storedLogLine(row, await this.labelSetOf(row.labelSetId), partition.startMs));
    return lines;
  }

  /** The label sets a filter reaches: those its label patterns match, within the namespaces it may see; null: all. */
  private labelSetIdsFor(filter: LineFilter, budget: ScanBudget): Promise<number[] | null> {
    return matchingLabelSetIds(this.labelSets.values(), filter.labels, budget, filter.namespaces);
  }

  /**
   * The label set of a line just read. Reads that reach every label set (no label filter) meet lines of
   * label sets written since the read began: the engine has each before any line of it is committed,
   * so they are read again.
   */
  private async labelSetOf(id: number): Promise<StoredLabelSet> {
    if (!this.labelSets.has(id)) await this.refreshLabelSets();
    const labelSet = this.labelSets.get(id);
    if (!labelSet) throw new Error(`label set ${id} has lines in a partition but is not in the catalogue`);
    return labelSet;
  }

  /** Whether a label set was added. */
  private async refreshLabelSets(): Promise<boolean> {
    let added = false;
    for (const labelSet of await this.source.labelSetsAfter(this.lastLabelSetId)) {
      added ||= !this.labelSets.has(labelSet.id);
      this.labelSets.set(labelSet.id, labelSet);
      this.lastLabelSetId = labelSet.id;
    }
    return added;
  }
}
