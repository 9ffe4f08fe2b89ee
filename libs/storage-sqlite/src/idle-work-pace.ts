/**
 * When the writer's idle-time work (the word index, a chunk at a time) may take its next chunk: at once while
 * ingest is quiet; while batches keep arriving, only after a pause that leaves it `share` of the writer's time,
 * however long a chunk takes. A fixed pause gave it more of the writer the slower the machine was (a third on a
 * loaded one), and ingest, which waits for the writer, lost that much.
 */
export class IdleWorkPace {
  private lastAppendAt = -Infinity;
  private notBefore = -Infinity;

  constructor(
    private readonly share: number,
    /** Ingest is busy while the last batch arrived less than this long ago. */
    private readonly busyWindowMs: number,
  ) {}

  appended(now: number): void {
    this.lastAppendAt = now;
  }

  chunkDone(startedAt: number, now: number): void {
    this.notBefore = now + ((now - startedAt) * (1 - this.share)) / this.share;
  }

  /** How long to wait before the next chunk; 0: now. */
  waitMs(now: number): number {
    if (now - this.lastAppendAt >= this.busyWindowMs) return 0;
    return Math.max(0, this.notBefore - now);
  }
}
