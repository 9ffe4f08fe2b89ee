import { PartitionBounds, partitionName } from './partitions';

/** The live partitions in time order, with the rule for where a new one starts and ends. */
export class PartitionLayout {
  private readonly byStart: PartitionBounds[] = [];

  constructor(
    private readonly widthMs: number,
    existing: PartitionBounds[],
  ) {
    for (const partition of existing) this.add(partition);
  }

  all(): readonly PartitionBounds[] {
    return this.byStart;
  }

  find(ts: number): PartitionBounds | undefined {
    let low = 0;
    let high = this.byStart.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const partition = this.byStart[mid];
      if (ts < partition.startMs) high = mid - 1;
      else if (ts >= partition.endMs) low = mid + 1;
      else return partition;
    }
    return undefined;
  }

  /**
   * The aligned slot for ts, clipped so that it never overlaps a partition made under an earlier
   * DAYLOG_PARTITION width.
   */
  planFor(ts: number): PartitionBounds {
    let startMs = ts - (ts % this.widthMs);
    let endMs = startMs + this.widthMs;
    for (const partition of this.byStart) {
      if (partition.endMs <= ts) startMs = Math.max(startMs, partition.endMs);
      else if (partition.startMs > ts) endMs = Math.min(endMs, partition.startMs);
    }
    return { startMs, endMs, name: partitionName(startMs) };
  }

  add(partition: PartitionBounds): void {
    const at = this.byStart.findIndex((p) => p.startMs > partition.startMs);
    this.byStart.splice(at === -1 ? this.byStart.length : at, 0, partition);
  }

  removeEndingBy(cutoffMs: number): PartitionBounds[] {
    const expired = this.byStart.filter((p) => p.endMs <= cutoffMs);
    this.byStart.splice(0, expired.length);
    return expired;
  }
}
