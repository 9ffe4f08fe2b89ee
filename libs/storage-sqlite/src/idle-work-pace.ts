/**
 * When the writer's idle-time work (the word index, a chunk at a time) may take its next chunk. A chunk that
 * batches had to wait for is followed by a pause that leaves it `share` of the writer's time, however long the
 * chunk took; one nothing waited for, by none, so that the index keeps up with any ingest that leaves the writer
 * idle time. A fixed pause gave it more of the writer the slower the machine was (a third on a loaded one), and
 * ingest, which waits for the writer, lost that much.
 */
export class IdleWorkPace {
  private notBefore = -Infinity;

  constructor(private readonly share: number) {}

  /** `delayedBatches`: batches arrived while the chunk ran, and waited for it. */
  chunkDone(startedAt: number, now: number, delayedBatches: boolean): void {
    this.notBefore = delayedBatches ? now + ((now - startedAt) * (1 - this.share)) / this.share : now;
  }

  /** How long to wait before the next chunk; 0: now. */
  waitMs(now: number): number {
    return Math.max(0, this.notBefore - now);
  }
}
