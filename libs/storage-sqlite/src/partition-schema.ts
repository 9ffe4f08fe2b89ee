import Database from 'better-sqlite3';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MINUTE_MS, WARN_SEVERITY } from '@daylog/storage';
import { makeDatabasePrivate } from './private-files';
import { dropOutdatedWordIndex } from './word-index';

/**
 * A partition's file: generation 0 is the one its lines are first written to; each compaction writes the next
 * generation's file beside it, and the catalogue names the one that holds the partition.
 */
export function partitionFile(dataDir: string, name: string, generation = 0): string {
  return join(dataDir, 'partitions', generation === 0 ? `${name}.db` : `${name}.g${generation}.db`);
}

/** A partition file, its WAL or its shared memory, of any generation, as Daylog names them. */
export const PARTITION_FILE = /^logs_\d{8}T\d{6}Z(\.g\d+)?\.db(-wal|-shm|-journal)?$/;

/** Files SQLite keeps beside a database in WAL mode: all go when the partition (or its generation) goes. */
export function partitionFiles(dataDir: string, name: string, generation = 0): string[] {
  const file = partitionFile(dataDir, name, generation);
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

/**
 * One partition's schema, made from this template when the partition is first written.
 * `stream_id` is the id of the line's label set in the catalogue's `streams` (the schema's name for a label set).
 * `level` is the severity (0 trace … 5 fatal); the level index is partial because warn and above
 * are the rare lines worth finding fast, and indexing every info line would halve the insert rate.
 * The `ts` index serves "newest lines" with no selective filter; lines arrive in time order, so it
 * grows at its right edge and costs little (measured: ~7 % of the insert rate, 17 B a line).
 * `fields` holds only what the line was sent with; `format` (FORMAT_CODES) names the format of a
 * message whose other fields are parsed from it when read. `streams_seen` lists the label sets
 * present, `batch_keys` the idempotency keys whose newest lines are here, so both go when the
 * partition is dropped. `line_counts` counts lines per minute, label set and level as they are
 * written, so counts over time and the labels seen are read without visiting the lines.
 */
export function partitionSchema(table: string): string {
  return `
    CREATE TABLE IF NOT EXISTS "${table}" (
      id        INTEGER PRIMARY KEY,
      ts        INTEGER NOT NULL,
      stream_id INTEGER NOT NULL,
      level     INTEGER NOT NULL,
      message   TEXT    NOT NULL,
      fields    TEXT,
      format    INTEGER
    );
    CREATE INDEX IF NOT EXISTS "${table}_by_ts" ON "${table}" (ts);
    CREATE INDEX IF NOT EXISTS "${table}_by_stream" ON "${table}" (stream_id, ts);
    CREATE INDEX IF NOT EXISTS "${table}_by_level" ON "${table}" (level, ts) WHERE level >= ${WARN_SEVERITY};
    CREATE TABLE IF NOT EXISTS streams_seen (stream_id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS batch_keys (idempotency_key TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS line_counts (
      minute    INTEGER NOT NULL,
      stream_id INTEGER NOT NULL,
      level     INTEGER NOT NULL,
      lines     INTEGER NOT NULL,
      last_ts   INTEGER NOT NULL,
      PRIMARY KEY (minute, stream_id, level)
    ) WITHOUT ROWID;
  `;
}

/**
 * Makes a partition file written by an earlier Daylog current: the `format` column, counts for the
 * lines written before `line_counts` existed, and no word index of FTS5's words (a new one is built).
 * Partitions live a day, so this is the whole of their schema history. Runs before `partitionSchema`,
 * which then adds what is still missing.
 */
export function upgradePartition(db: Database.Database, table: string): void {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  if (!tables.includes(table)) return;
  db.transaction(() => {
    const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
    if (!columns.includes('format')) db.exec(`ALTER TABLE "${table}" ADD COLUMN format INTEGER`);
    if (!tables.includes('line_counts')) {
      db.exec(partitionSchema(table));
      db.exec(`INSERT INTO line_counts (minute, stream_id, level, lines, last_ts)
        SELECT ts - ts % ${MINUTE_MS}, stream_id, level, count(*), max(ts) FROM "${table}" GROUP BY 1, 2, 3`);
    }
    dropOutdatedWordIndex(db, table);
  })();
}

export type Synchronous = 'full' | 'normal';

/**
 * The page cache of each connection the writer holds (the catalogue, the partitions it writes): lines arrive in
 * time order, so inserts touch the right edge of each index and a few of its upper pages; better-sqlite3's build
 * gives every connection 16 MB, which a day of late lines or a rewrite's reads fill for nothing.
 */
export const WRITER_CACHE_KB = 2 * 1024;

export function openDatabase(file: string, synchronous: Synchronous): Database.Database {
  makeDatabasePrivate(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma(`cache_size = -${WRITER_CACHE_KB}`);
  return db;
}

/** Bytes of the data directory's files: catalogue, partitions, their WALs and shared memory. */
export function dataDirBytes(dataDir: string): number {
  let bytes = 0;
  for (const dir of [dataDir, join(dataDir, 'partitions')]) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      // A WAL's -shm and -wal go when their last connection closes, which may be between the two calls.
      if (entry.isFile()) bytes += statSync(join(dir, entry.name), { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return bytes;
}
