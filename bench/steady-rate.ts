/**
 * The share of an ingest run's batches that is not timed: the aggregator is a fresh process, and its first
 * batches run before V8 has compiled the paths they take (at 200,000 lines the writer waited ~0.2 s of ~1.8 s
 * for it, at a million lines the same 0.2 s of ~8 s). A service runs for days: its rate is the one after.
 * The raw baseline leaves out the same share of its batches, so both are timed over the same lines.
 */
export const WARM_UP_SHARE = 0.1;

/** A batch done: when (ms from the run's start) and how many lines it held. */
export interface BatchDone {
  atMs: number;
  lines: number;
}

export interface SteadyRate {
  /** Lines/s over the batches done after the first WARM_UP_SHARE of them. */
  linesPerSec: number;
  lines: number;
  ms: number;
}

export function steadyRate(done: readonly BatchDone[]): SteadyRate {
  const inOrder = [...done].sort((a, b) => a.atMs - b.atMs);
  const warmUp = Math.min(inOrder.length - 1, Math.ceil(inOrder.length * WARM_UP_SHARE));
  const timed = inOrder.slice(warmUp);
  const startMs = warmUp === 0 ? 0 : inOrder[warmUp - 1].atMs;
  const lines = timed.reduce((sum, batch) => sum + batch.lines, 0);
  const ms = inOrder[inOrder.length - 1].atMs - startMs;
  return { linesPerSec: lines / (ms / 1000), lines, ms };
}
