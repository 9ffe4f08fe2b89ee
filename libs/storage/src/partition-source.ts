import { CountQuery, CursorPosition, LineFilter, LogQuery } from './log-store';
import { StoredLabelSet } from './label-sets';
import { PartitionBounds } from './partitions';

/** A line's place in reading order within a partition: lines are read by time, then by id. */
export interface LineKey {
  ts: number;
  id: number;
}

/** The lines, in forward order, after `after` (excluded) up to `through` (included); null: the time range's own edge. */
export interface KeyRange {
  after: LineKey | null;
  through: LineKey | null;
}

/** A line as an engine reads it: its label set by id, its level as a severity, its fields as stored. */
export interface LineRow {
  id: number;
  ts: number;
  labelSetId: number;
  severity: number;
  message: string;
  /** The fields the line was sent with, as JSON; null: none. */
  fields: string | null;
  /** FORMAT_CODES' code of its message's format; null: none. */
  format: number | null;
}

/** Lines of one label set and severity in one bucket, as an engine counts them. */
export interface CountRow {
  start: number;
  labelSetId: number;
  severity: number;
  lines: number;
  lastTs: number;
}

/** A partition's word index as an engine found it: opaque to the core, handed back with the reads it plans. */
export type WordIndex = { readonly indexedUpTo: number };

/**
 * How long a read of lines may take: until `remainingMs` from when it is taken up (null: no limit). An
 * engine that runs past it throws QueryBudgetExceeded('time'), however it stops the read.
 */
export type ReadTime = { remainingMs: number } | null;

/** What a read of lines within one partition window asks of an engine. */
export interface WindowRead {
  partition: PartitionBounds;
  /** The filter, its time range narrowed to the window. */
  filter: LineFilter;
  /** The label sets to read; null: all. */
  labelSetIds: number[] | null;
  index: WordIndex | null;
  /** Only the lines of this key range; null: the whole window. */
  range: KeyRange | null;
  time: ReadTime;
  /** Whom the read is for (ScanBudget's client). */
  client?: string;
}

/** What a read of lines across several partitions at once asks of an engine: no text is tested, so no window is budgeted. */
export interface SpanRead {
  /** The filter, its time range narrowed to that of the partitions read. */
  filter: LineFilter;
  /** The label sets to read; null: all. */
  labelSetIds: number[] | null;
  time: ReadTime;
  /** Whom the read is for (ScanBudget's client). */
  client?: string;
}

/** What a read of several windows at once gives: each window's lines, as pageLines would give them, in order. */
export interface WindowsPage {
  /** The lines of each window read; fewer than the windows when the page was full, or time ran out, before the rest. */
  rows: LineRow[][];
  /** The window (its index) whose time ran out before its lines were all read; null when none did. */
  outOfTime: number | null;
}

/**
 * What an engine offers the core's reader (PartitionedReader): partitions, label sets, per-minute counts
 * and the lines of one partition at a time. The core plans the windows, budgets, paging and merging.
 */
export interface PartitionSource {
  /**
   * Whether a text search may read its next window while it takes in one: an engine that reads on cores of its own
   * (a database server) then scans two at once; one that reads on the process's own threads leaves it out.
   */
  readonly readsWindowsAhead?: boolean;
  /** The live partitions, oldest first. */
  partitions(): Promise<PartitionBounds[]>;
  /** Label sets with ids above `afterId`, in id order. */
  labelSetsAfter(afterId: number): Promise<StoredLabelSet[]>;
  lineAt(partition: PartitionBounds, position: CursorPosition): Promise<LineRow | null>;
  /** The partition's word index, once one is being built. */
  wordIndex(partition: PartitionBounds): Promise<WordIndex | null>;
  /** Lines per minute that a filter's labels and levels reach, from the per-minute counts, minute order. */
  minuteTotals(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null): Promise<{ minute: number; lines: number }[]>;
  /** Lines of every label set and level from the minute `fromMinute` to before `toMs`, from the per-minute counts. */
  linesBetween(partition: PartitionBounds, fromMinute: number, toMs: number): Promise<number>;
  /** The key of the `count`-th line (of any label set) after `start` in reading order within [fromMs, toMs); null: fewer are left. */
  keyAfter(partition: PartitionBounds, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Promise<LineKey | null>;
  /** A page's lines in a window: in `query`'s order from its position, at most `limit`. */
  pageLines(read: WindowRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]>;
  /**
   * A page's lines in consecutive windows that a word index answers (no lines of theirs count against a budget), in
   * one read: each window's lines as pageLines would give them, window after window, until `limit` lines in all or
   * until a window's own time (its ReadTime) runs out. Optional: an engine that reads on threads of its own hands
   * them all over at once, not a window at a time.
   */
  pageIndexedWindows?(reads: readonly WindowRead[], order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<WindowsPage>;
  /**
   * A page's lines over the partitions of a time range in one read, for a filter that tests no text: in `order`
   * from its position (whatever partition it is in), at most `limit`. Optional: an engine whose partitions are
   * one table answers in one statement what the reader would otherwise ask partition by partition.
   */
  pageSpan?(read: SpanRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): Promise<LineRow[]>;
  /** Counts of the lines in a window, by bucket, label set and severity. */
  countLines(read: WindowRead, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]>;
  /** The same from the per-minute counts, for whole minutes of lines not searched by text. */
  countMinutes(partition: PartitionBounds, filter: LineFilter, labelSetIds: number[] | null, bucketMs: CountQuery['bucketMs']): Promise<CountRow[]>;
  /** The partitions are being dropped: let go of whatever holds them. */
  forget(partitions: PartitionBounds[]): void;
  close(): void;
}
