/**
 * Milliseconds since the epoch, to the microsecond, the same on every thread of the process: the clock of
 * worker threads' deadlines. A read's own clock may be a test's, but the time it may run is real.
 */
export function sharedClockNow(): number {
  return performance.timeOrigin + performance.now();
}
