import { MINUTE_MS } from './partitions';

/** Lines of one label set and severity in the minute starting at `minute`: a row of an engine's per-minute counts. */
export interface MinuteCount {
  minute: number;
  labelSetId: number;
  severity: number;
  lines: number;
  lastTs: number;
}

/**
 * The per-minute counts of lines being written, kept beside them so that counts over time and the labels seen
 * are read without visiting lines: one count per minute, label set and severity, in the order first met.
 */
export class MinuteCounts {
  private readonly counts = new Map<string, MinuteCount>();

  add(ts: number, labelSetId: number, severity: number): void {
    const minute = ts - (ts % MINUTE_MS);
    const key = `${minute}:${labelSetId}:${severity}`;
    const count = this.counts.get(key);
    if (count) {
      count.lines++;
      count.lastTs = Math.max(count.lastTs, ts);
    } else {
      this.counts.set(key, { minute, labelSetId, severity, lines: 1, lastTs: ts });
    }
  }

  rows(): MinuteCount[] {
    return [...this.counts.values()];
  }
}
