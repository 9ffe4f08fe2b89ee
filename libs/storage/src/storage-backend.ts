import { LogLine } from '@daylog/log-model';
import { LineFilter, LogStore, StoredLogLine } from './log-store';

/**
 * What a filter made of lines: which match, of the first `tested`; the rest were left when time ran out, or once
 * a search had `enough` matches.
 */
export interface LinesTest {
  matches: Uint8Array;
  tested: number;
}

/** What a search (a page or a count someone waits for) adds to a line test. */
export interface SearchLinesTest {
  /** Stop once this many lines have matched (what a page still needs): `tested` then ends at the last of them. */
  enough?: number;
}

/**
 * Tests lines against a filter where a test that runs long can be stopped: a regex runs in time linear in the
 * line, but can still take seconds on a long one. Live tails test their batches here, and an engine whose SQL
 * cannot say what a filter means tests its candidate lines here.
 */
export interface LineTester {
  /**
   * Tests lines in order, for at most `timeMs` (Infinity: no limit); `client` is whom they are for (as ScanBudget's).
   * A tail's time (no `search`) runs once a thread takes the lines up. A search's runs from the call, waiting
   * included, as its read's time does, and its tests go before its client's tails'.
   */
  testLines(filter: LineFilter, lines: readonly LogLine[], timeMs: number, client: string, search?: SearchLinesTest): Promise<LinesTest>;
}

export const LINE_TESTER = Symbol('LineTester');

/** What CommittedLines hands batches to. */
export interface CommittedLinesListener {
  /** Called once a batch, in order. */
  publish(lines: readonly StoredLogLine[]): void;
  /** Whether lines are wanted now (a tail is open): batches committed meanwhile are passed over unread. */
  wanted(): boolean;
  /** Hears of the first error of each run of them: following goes on from where it was once they pass. */
  failed(error: unknown): void;
}

/**
 * Every line stored, by whichever process stored it, as its batch commits: what live tails show when several
 * replicas write to one database. Each line is given once, a batch's lines together, batches in an order
 * that no batch committed later can come before.
 */
export interface CommittedLines {
  /** Starts handing over batches committed from now on. Errors (the database out of reach, say) hold following back, never end it. */
  follow(listener: CommittedLinesListener): void;
  /**
   * Resolves once every batch committed before the call has been handed over (or following has stopped):
   * a tail that read the newest lines then knows which of those it is handed still are to come.
   */
  caughtUp(): Promise<void>;
  /** Stops following; resolves once no `publish` call can come. */
  stop(): Promise<void>;
}

export const COMMITTED_LINES = Symbol('CommittedLines');

/** What an engine adapter opens for the service: its store, and what else the service needs of the engine. */
export interface StorageBackend {
  store: LogStore;
  /**
   * Lines committed by every writer of the store; null when the store has no writer but this process, whose
   * own appendBatch answers (their positions) are then every line there is.
   */
  committedLines: CommittedLines | null;
  /** The secret cursors are sealed with: the same wherever the store is read from. */
  cursorKey: Buffer;
  lineTester: LineTester;
  /** Closes the store, then the rest. */
  close(): Promise<void>;
}
