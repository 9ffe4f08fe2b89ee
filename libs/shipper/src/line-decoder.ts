import { OutgoingLine } from './aggregator-client';

/**
 * Turns one file's bytes into lines to ship: the sidecar's text lines, or a container's records
 * joined into lines. Lines may come out of `end` order (a line held for its next piece ends before
 * lines of another stream read after it); TrackedFile keeps them sorted.
 */
export interface LineDecoder {
  /** The lines the bytes at `chunkOffset` complete; the chunk may be overwritten once this returns. */
  push(chunk: Buffer, chunkOffset: number, nowMs: number): OutgoingLine[];
  /**
   * Lines that waited too long for their rest. `caughtUp` is false while the file has bytes not yet
   * read: the rest may be among them, so nothing is overdue.
   */
  expire(nowMs: number, caughtUp: boolean): OutgoingLine[];
  /** Every line still held, for a file finished for good, which was read up to `readOffset`. */
  finish(readOffset: number, nowMs: number): OutgoingLine[];
  /**
   * No batch may end past this offset: a line still being joined starts here, and a checkpoint past
   * it would lose that line's first bytes after a crash. Infinity when no line is held.
   */
  settledOffset(): number;
  /**
   * Every byte before this is in a line returned, passed over on purpose (a line too old to send), or
   * held for a line settledOffset accounts for.
   */
  readonly skippedThrough: number;
  /** Forgets what it holds: the file starts over (truncated in place). */
  reset(): void;
}
