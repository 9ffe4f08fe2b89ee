import { FieldCondition, LabelName, Level, LogLine, MatchExpression } from '@daylog/log-model';

/** A batch to store: lines already validated, keyed when the sender gave an Idempotency-Key. */
export interface AppendBatch {
  /** The sender's key within its token's scope (batchKey). */
  idempotencyKey: string | null;
  /** When the batch arrived: its key is kept at least until this time passes the retention. */
  receivedMs: number;
  lines: LogLine[];
  /** Whether the result should say where each line was stored (for live tails). */
  wantPositions?: boolean;
}

export interface AppendResult {
  duplicate: boolean;
  accepted: number;
  /** Indexes (into `lines`) refused because their partition was pruned while they waited. */
  expired: number[];
  /** Indexes (into `lines`) refused because their label set would be new to a namespace that has the most allowed. */
  tooManyLabelSets: number[];
  /** Where each line was stored, by index into `lines` (absent for expired ones), when asked for. */
  positions?: (CursorPosition | undefined)[];
}

/** One keyset position: the last line a page returned. */
export interface CursorPosition {
  ts: number;
  partitionStart: number;
  id: number;
}

/** `*` in a pattern matches any run of characters; several patterns for a label are alternatives. */
export type LabelPatterns = Partial<Record<LabelName, string[]>>;

/** Which lines: its fields give the filter's terms, whose meaning FilterTerm says (filter-terms.ts); every term must hold. */
export interface LineFilter {
  fromMs: number;
  toMs: number;
  labels: LabelPatterns;
  levels: Level[] | null;
  contains: string[];
  excludes: string[];
  match?: MatchExpression;
  /** Already accepted at the edge. */
  regex?: string;
  /** Each must hold of the line's searchable fields. */
  fields?: FieldCondition[];
  /** Each must not hold (a line without the field passes). */
  excludeFields?: FieldCondition[];
  /** The namespaces the asker may see, when limited: lines of other namespaces do not exist for them. */
  namespaces?: string[];
}

/** How much reading one search may do: past either limit it answers with what it has found. */
export interface ScanBudget {
  /** Lines the text filters may read outside the word index. */
  maxScannedLines: number;
  /** When reading stops, on `now`'s clock. */
  deadlineMs: number;
  /** How long the search may run in all: what a page's first window, read whatever the time already spent, may take. */
  timeoutMs: number;
  now: () => number;
  /** Aborted when the asker has gone: the search is abandoned. */
  signal?: AbortSignal;
  /** Whom the search is for, an opaque name: an engine shares what searches wait for (threads, say) fairly between clients. */
  client?: string;
}

/** Which limit of a ScanBudget ended a search early. */
export type ScanStop = 'lines' | 'time';

/** A search that would go past its budget where a partial answer would be wrong (a count). */
export class QueryBudgetExceeded extends Error {
  constructor(
    readonly stop: ScanStop,
    budget: ScanBudget,
  ) {
    super(
      stop === 'lines'
        ? `the search would read more than ${budget.maxScannedLines} lines (DAYLOG_QUERY_MAX_SCANNED_LINES)`
        : 'the search ran out of time (DAYLOG_QUERY_TIMEOUT)',
    );
  }
}

/** The asker went away, so the search was abandoned. */
export class QueryCancelled extends Error {
  constructor() {
    super('the client went away before the search finished');
  }
}

export interface LogQuery extends LineFilter {
  limit: number;
  direction: 'backward' | 'forward';
  after: CursorPosition | null;
}

export interface CountQuery extends LineFilter {
  /** Bucket width, a whole number of minutes, buckets starting at multiples of it from the epoch; null for one bucket. */
  bucketMs: number | null;
}

/** Lines of one label set and level in one bucket. */
export interface LineCount {
  /** The bucket's start; `fromMs` when the range is one bucket. */
  startMs: number;
  labels: Record<LabelName, string | null>;
  level: Level;
  lines: number;
  lastTs: number;
}

export interface StoredLogLine extends LogLine {
  position: CursorPosition;
}

export interface QueryPage {
  lines: StoredLogLine[];
  /** Where the next page starts, or null on the last page. */
  next: CursorPosition | null;
  /**
   * Set when the budget ran out before the page was full: `next` is then where reading stopped, so
   * the lines not yet read are the next page's, and the page may hold fewer lines than asked, or none.
   */
  stopped: ScanStop | null;
}

/** A line and its neighbours from the same namespace, pod and container (any source), oldest first. */
export interface LineContext {
  before: StoredLogLine[];
  line: StoredLogLine;
  after: StoredLogLine[];
}

export interface DropResult {
  droppedPartitions: string[];
  droppedLines: number;
}

export interface StorageStats {
  partitions: number;
  bytes: number;
  /** Where the oldest partition ends: what dropping it would give up. */
  oldestPartitionEndMs: number | null;
}

/** SQLite found no room to write (the disk, or DAYLOG_MAX_DISK, is full): nothing of the batch was kept. */
export class DiskFull extends Error {
  constructor() {
    super('the data directory is full');
  }
}

/**
 * The database cannot be reached (PostgreSQL down, restarting, or the network to it cut): nothing of the
 * request was done, or, for a batch, nothing of it was stored. It passes when the database is back.
 */
export class StorageUnavailable extends Error {
  constructor(cause?: unknown) {
    super('the database cannot be reached', { cause });
  }
}

/** What ingest, query and the pruner need from storage; SQLite and PostgreSQL implement it. */
export interface LogStore {
  /** Throws DiskFull when there is no room for the batch. */
  appendBatch(batch: AppendBatch): Promise<AppendResult>;
  query(query: LogQuery, budget: ScanBudget): Promise<QueryPage>;
  /** Throws QueryBudgetExceeded rather than give a count short of the truth. */
  count(query: CountQuery, budget: ScanBudget): Promise<LineCount[]>;
  /** The line at `position` with up to `before` and `after` neighbours no older than `oldestMs`; null when it is not kept. */
  context(position: CursorPosition, before: number, after: number, oldestMs: number, namespaces?: string[]): Promise<LineContext | null>;
  dropPartitionsBefore(cutoffMs: number): Promise<DropResult>;
  /**
   * Makes, while lines go to the partition holding `nowMs`, the partitions after it that lines up to `untilMs`
   * will go to: where making one costs the first batch of its range a wait (PostgreSQL's CREATE and ATTACH, under
   * a lock every replica takes), it is made before that batch comes. An engine whose partitions cost nothing to
   * begin has no such method.
   */
  makePartitionsAhead?(nowMs: number, untilMs: number): Promise<void>;
  stats(): Promise<StorageStats>;
  /** Lines handed to appendBatch whose commit has not been answered yet. */
  queuedLines(): number;
  /** Whether the store can take batches and queries now: open, and its database reachable. */
  isReady(): boolean;
  close(): Promise<void>;
}

export const LOG_STORE = Symbol('LogStore');
