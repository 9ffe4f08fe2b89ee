import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LogLine, severityOf } from '@daylog/log-model';
import { migrate } from '../libs/storage-sqlite/src/migrator';
import { FORMAT_CODES, partitionName } from '@daylog/storage';
import { openDatabase, partitionFile, partitionSchema } from '../libs/storage-sqlite/src/partition-schema';
import { CATALOGUE_FILE } from '../libs/storage-sqlite/src/partition-writer';
import { BATCH_LINES } from './dataset';
import { nowMs } from './bench-support';
import { BatchDone, SteadyRate, steadyRate } from './steady-rate';

export const PARTITION_MS = 3_600_000;
/** DAYLOG_SYNCHRONOUS's default, which the aggregator under test runs with. */
const SYNCHRONOUS = 'full';

export interface RawIngestResult {
  ms: number;
  /** Timed after its first batches, as the aggregator is (steady-rate.ts). */
  steady: SteadyRate;
  partitions: number;
}

interface RawPartition {
  startMs: number;
  endMs: number;
  db: Database.Database;
  /** Inserts lines[from..to) in one transaction. */
  insertRange: (from: number, to: number) => void;
}

function streamKey(line: LogLine): string {
  return `${line.namespace ?? ''}\u0000${line.pod}\u0000${line.container ?? ''}\u0000${line.source ?? ''}`;
}

/**
 * The ceiling for ingest: the same rows into the same files and schema (a migrated catalogue, one
 * `partitionSchema` file per hour, WAL, synchronous=full), straight from memory on one thread, one
 * transaction per 1000-line batch (split where a batch crosses an hour, as the store splits it), one
 * prepared insert per partition, stream ids from a Map. Closing a finished hour (its checkpoint) is timed;
 * closing the last one is not, as the aggregator's open partitions are not closed inside its timing either.
 */
export function rawIngest(lines: readonly LogLine[], dataDir: string): RawIngestResult {
  mkdirSync(join(dataDir, 'partitions'), { recursive: true });
  const catalogue = openDatabase(join(dataDir, CATALOGUE_FILE), SYNCHRONOUS);
  migrate(catalogue);
  const insertStream = catalogue
    .prepare<[string, string, string, string], number>(
      'INSERT INTO streams (namespace, pod, container, source) VALUES (?, ?, ?, ?) RETURNING id',
    )
    .pluck();
  const insertPartition = catalogue.prepare<[number, number, string, number]>(
    'INSERT INTO partitions (start_ms, end_ms, name, created_ms) VALUES (?, ?, ?, ?)',
  );
  const streamIds = new Map<string, number>();

  const streamIdOf = (line: LogLine): number => {
    const key = streamKey(line);
    let id = streamIds.get(key);
    if (id === undefined) {
      id = insertStream.get(line.namespace ?? '', line.pod, line.container ?? '', line.source ?? '')!;
      streamIds.set(key, id);
    }
    return id;
  };

  const openPartition = (ts: number): RawPartition => {
    const startMs = ts - (ts % PARTITION_MS);
    const name = partitionName(startMs);
    const db = openDatabase(partitionFile(dataDir, name), SYNCHRONOUS);
    db.exec(partitionSchema(name));
    insertPartition.run(startMs, startMs + PARTITION_MS, name, Date.now());
    const insert = db.prepare<[number, number, number, string, string | null, number | null]>(
      `INSERT INTO "${name}" (ts, stream_id, level, message, fields, format) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertRange = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const line = lines[i];
        const fields = line.fields ? JSON.stringify(line.fields) : null;
        insert.run(line.ts, streamIdOf(line), severityOf(line.level), line.message, fields, line.format === null ? null : FORMAT_CODES[line.format]);
      }
    });
    return { startMs, endMs: startMs + PARTITION_MS, db, insertRange };
  };

  let partitions = 0;
  let current: RawPartition | null = null;
  const done: BatchDone[] = [];
  const started = nowMs();
  try {
    for (let batchStart = 0; batchStart < lines.length; batchStart += BATCH_LINES) {
      const batchEnd = Math.min(batchStart + BATCH_LINES, lines.length);
      let from = batchStart;
      while (from < batchEnd) {
        const ts = lines[from].ts;
        if (!current || ts < current.startMs || ts >= current.endMs) {
          current?.db.close();
          current = openPartition(ts);
          partitions++;
        }
        let to = from + 1;
        while (to < batchEnd && lines[to].ts >= current.startMs && lines[to].ts < current.endMs) to++;
        current.insertRange(from, to);
        from = to;
      }
      done.push({ atMs: nowMs() - started, lines: batchEnd - batchStart });
    }
    const ms = nowMs() - started;
    return { ms, steady: steadyRate(done), partitions };
  } finally {
    current?.db.close();
    catalogue.close();
  }
}
