import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionSchema } from '../libs/storage-sqlite/src/partition-schema';

// Why a file per partition: the space an expired hour held comes back, measured both ways on the
// same rows. `npm run build && node dist/bench/space-reclaim.js` (SPACE_LINES, default 1 000 000).

const LINES = Number(process.env.SPACE_LINES ?? 1_000_000);
const MESSAGE =
  '10.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET /api/items/12345 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0" ';

const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const dirBytes = (dir: string) => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);

function fill(db: Database.Database, table: string, firstTs: number): void {
  const insert = db.prepare(`INSERT INTO "${table}" (ts, stream_id, level, message) VALUES (?, ?, ?, ?)`);
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(from + 10_000, LINES); i++) insert.run(firstTs + i, i % 50, i % 30 === 0 ? 4 : 2, MESSAGE + i);
  });
  for (let i = 0; i < LINES; i += 10_000) batch(i);
}

function open(file: string, autoVacuum: boolean): Database.Database {
  const db = new Database(file);
  if (autoVacuum) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

function singleFile(dir: string): void {
  const db = open(join(dir, 'all.db'), true);
  for (const [table, ts] of [['logs_old', 0], ['logs_new', 1e12]] as const) {
    db.exec(partitionSchema(table));
    fill(db, table, ts);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  const before = dirBytes(dir);
  const started = process.hrtime.bigint();
  db.exec('DROP TABLE logs_old');
  db.pragma('incremental_vacuum');
  const walPeak = statSync(join(dir, 'all.db-wal')).size;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const ms = elapsedMs(started);
  db.close();
  console.log(`one file, auto_vacuum=INCREMENTAL: ${mb(before)} → ${mb(dirBytes(dir))}; DROP TABLE + incremental_vacuum + checkpoint ${ms.toFixed(0)} ms on the writer, WAL peak ${mb(walPeak)}`);
}

function filePerPartition(dir: string): void {
  for (const [table, ts] of [['logs_old', 0], ['logs_new', 1e12]] as const) {
    const db = open(join(dir, `${table}.db`), false);
    db.exec(partitionSchema(table));
    fill(db, table, ts);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  const before = dirBytes(dir);
  const started = process.hrtime.bigint();
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `logs_old.db${suffix}`), { force: true });
  console.log(`a file per partition: ${mb(before)} → ${mb(dirBytes(dir))}; unlink ${elapsedMs(started).toFixed(0)} ms`);
}

for (const [name, measure] of [['single', singleFile], ['per-partition', filePerPartition]] as const) {
  const dir = mkdtempSync(join(tmpdir(), `daylog-space-${name}-`));
  try {
    measure(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
