import { LogLine } from '@daylog/log-model';
import { LineFilter, LinesTest } from '@daylog/storage';
import { Statement } from './page-statement';

/**
 * What the main thread asks of a search thread. Deadlines are on the clock both threads share
 * (`sharedClockNow`): a search's own clock may be a test's, but the time it may run is real.
 */
export type SearchRequest =
  | { type: 'rows'; id: number; file: string; statement: Statement; deadline: number | null }
  | { type: 'test'; id: number; filter: LineFilter; lines: LogLine[]; deadline: number }
  | { type: 'forget'; files: string[] };

export type SearchReply =
  | { type: 'rows'; id: number; rows: unknown[] }
  | { type: 'out-of-time'; id: number }
  | ({ type: 'tested'; id: number } & LinesTest)
  | { type: 'failed'; id: number; message: string };

/** Milliseconds since the epoch, to the microsecond, the same on every thread of the process. */
export function sharedClockNow(): number {
  return performance.timeOrigin + performance.now();
}

