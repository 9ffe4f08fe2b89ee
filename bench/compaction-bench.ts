import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PartitionCompaction } from '../libs/storage-sqlite/src/compaction';
import { partitionFile } from '../libs/storage-sqlite/src/partition-schema';
import { nowMs } from './bench-support';

interface ListedPartition {
  name: string;
  startMs: number;
  endMs: number;
  generation: number;
}

function listed(dataDir: string): ListedPartition[] {
  const catalogue = new Database(join(dataDir, 'catalogue.db'), { readonly: true });
  try {
    const columns = catalogue.prepare(`SELECT name FROM pragma_table_info('partitions')`).pluck().all() as string[];
    const generation = columns.includes('generation') ? 'generation' : '0 AS generation';
    return catalogue.prepare(`SELECT name, start_ms AS startMs, end_ms AS endMs, ${generation} FROM partitions ORDER BY start_ms`).all() as ListedPartition[];
  } finally {
    catalogue.close();
  }
}

/** A file's bytes with its WAL. */
function fileBytes(file: string): number {
  return [file, `${file}-wal`].reduce((sum, path) => sum + (statSync(path, { throwIfNoEntry: false })?.size ?? 0), 0);
}

export interface CompactionOutcome {
  lines: number;
  ms: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * The rewrite alone, timed: every partition but the newest of a raw run's data dir (no word index of lines, as
 * the service's partitions are when compacted) compacted in this process, step after step, as the writer does in
 * its idle time; its lines per second, and the partitions' bytes before and after (word index of blocks included).
 */
export function compactionRun(dataDir: string): CompactionOutcome {
  const partitions = listed(dataDir).slice(0, -1);
  let lines = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  const started = nowMs();
  for (const partition of partitions) {
    bytesBefore += fileBytes(partitionFile(dataDir, partition.name));
    const compaction = new PartitionCompaction(dataDir, { ...partition, generation: 0 }, true);
    while (compaction.step());
    compaction.finish();
    lines += compaction.linesCompacted;
  }
  const ms = nowMs() - started;
  for (const partition of partitions) bytesAfter += fileBytes(partitionFile(dataDir, partition.name, 1));
  return { lines, ms, bytesBefore, bytesAfter };
}

export interface ClosedHours {
  partitions: number;
  lines: number;
  bytes: number;
}

/** The compacted partitions of a service's data dir: how many, their lines (per-minute counts) and bytes on disk. */
export function compactedHours(dataDir: string): ClosedHours {
  const compacted = listed(dataDir).filter((p) => p.generation > 0);
  let lines = 0;
  let bytes = 0;
  for (const partition of compacted) {
    const file = partitionFile(dataDir, partition.name, partition.generation);
    const db = new Database(file, { readonly: true });
    try {
      lines += (db.prepare('SELECT sum(lines) FROM line_counts').pluck().get() as number | null) ?? 0;
    } finally {
      db.close();
    }
    bytes += fileBytes(file);
  }
  return { partitions: compacted.length, lines, bytes };
}

/** Partitions that end `graceMs` before the newest line and are not compacted yet. */
function waiting(dataDir: string, newestTs: number, graceMs: number): ListedPartition[] {
  return listed(dataDir).filter((p) => p.endMs + graceMs <= newestTs && p.generation === 0);
}

/**
 * Waits until every partition ending `graceMs` before the newest line is compacted (and so has its word index):
 * how long that took, and how many lines were still to compact when it began.
 */
export async function waitForCompaction(dataDir: string, newestTs: number, graceMs: number, timeoutMs = 600_000): Promise<{ ms: number; behindAtStart: number }> {
  const started = nowMs();
  let behindAtStart = 0;
  for (const partition of waiting(dataDir, newestTs, graceMs)) {
    try {
      const db = new Database(partitionFile(dataDir, partition.name), { readonly: true, fileMustExist: true });
      try {
        behindAtStart += (db.prepare('SELECT sum(lines) FROM line_counts').pluck().get() as number | null) ?? 0;
      } finally {
        db.close();
      }
    } catch {
      // Compacted and removed between the listing and the look: nothing left to count there.
    }
  }
  while (waiting(dataDir, newestTs, graceMs).length > 0) {
    if (nowMs() - started > timeoutMs) throw new Error(`closed partitions were still not compacted after ${timeoutMs} ms`);
    await sleep(100);
  }
  return { ms: nowMs() - started, behindAtStart };
}
