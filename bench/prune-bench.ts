import { LogLine } from '@daylog/log-model';
import { SearchThreads, SqliteLogStore } from '@daylog/storage-sqlite';
import { dirBytes, makeTempDir, nowMs, removeTempDir } from './bench-support';
import { PARTITION_MS } from './raw-ingest';

const APPEND_LINES = 10_000;
/** Appends in flight at once, so that cloning a batch to the writer thread overlaps the previous commit. */
const APPENDS_IN_FLIGHT = 2;

export interface PruneOutcome {
  rows: number;
  fillMs: number;
  dropMs: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Fills one hourly partition (30 h ago: the store does not check retention on append) with `rows` lines
 * through SqliteLogStore.appendBatch, then times dropPartitionsBefore with a cutoff just after its end.
 */
export async function pruneBench(source: readonly LogLine[], rows: number): Promise<PruneOutcome> {
  const dataDir = makeTempDir('prune');
  const searchThreads = new SearchThreads(1);
  const store = await SqliteLogStore.open({ dataDir, partitionMs: PARTITION_MS, synchronous: 'normal', fullText: false, compression: false, maxDiskBytes: null, maxLabelSetsPerNamespace: 5000, searchThreads });
  try {
    const hourStart = Math.floor((Date.now() - 30 * PARTITION_MS) / PARTITION_MS) * PARTITION_MS;
    const batch = (start: number): LogLine[] => {
      const lines: LogLine[] = [];
      for (let i = start; i < Math.min(start + APPEND_LINES, rows); i++) {
        lines.push({ ...source[i % source.length], ts: hourStart + Math.floor((i * PARTITION_MS) / rows) });
      }
      return lines;
    };

    const fillStarted = nowMs();
    let next = 0;
    const appender = async (): Promise<void> => {
      while (next < rows) {
        const lines = batch(next);
        next += lines.length;
        const result = await store.appendBatch({ idempotencyKey: null, receivedMs: Date.now(), lines });
        if (result.accepted !== lines.length) throw new Error(`the store accepted ${result.accepted} of ${lines.length} lines`);
      }
    };
    await Promise.all(Array.from({ length: APPENDS_IN_FLIGHT }, appender));
    const fillMs = nowMs() - fillStarted;

    const bytesBefore = dirBytes(dataDir);
    const dropStarted = nowMs();
    const dropped = await store.dropPartitionsBefore(hourStart + PARTITION_MS);
    const dropMs = nowMs() - dropStarted;
    const bytesAfter = dirBytes(dataDir);
    if (dropped.droppedPartitions.length !== 1 || dropped.droppedLines !== rows) {
      throw new Error(`the drop removed ${JSON.stringify(dropped)}; expected one partition of ${rows} lines`);
    }
    return { rows, fillMs, dropMs, bytesBefore, bytesAfter };
  } finally {
    await store.close();
    await searchThreads.stop();
    removeTempDir(dataDir);
  }
}
