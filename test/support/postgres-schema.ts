import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClientBase } from 'pg';

/**
 * Just what the PostgreSQL bench and the schema's test need of the schema's life: the migrations applied to
 * an empty database and hourly partitions made. The PostgreSQL adapter will own both for real (under an
 * advisory lock, with DETACH … CONCURRENTLY for retention).
 */

const POSTGRES_MIGRATIONS = join(__dirname, '../../../migrations/postgres');
const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/;
export const HOUR_MS = 3_600_000;

/** The tables partitioned by time, each by its time column. */
const PARTITIONED_TABLES = ['logs', 'minute_counts', 'batch_keys', 'ingest_commits'];

/** Applies every numbered file of migrations/postgres, in order, in one transaction. */
export async function applySchema(client: ClientBase): Promise<void> {
  const files = readdirSync(POSTGRES_MIGRATIONS)
    .map((name) => ({ name, match: MIGRATION_FILE.exec(name) }))
    .filter((file) => file.match)
    .sort((a, b) => Number(a.match![1]) - Number(b.match![1]));
  await client.query('BEGIN');
  try {
    for (const { name, match } of files) {
      await client.query(readFileSync(join(POSTGRES_MIGRATIONS, name), 'utf8'));
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [Number(match![1]), name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** `logs_20261124_100000` for the partition of logs starting 2026-11-24T10:00:00Z. */
export function partitionTable(table: string, startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return `${table}_${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

/**
 * One partition per hour from the hour of `fromMs` through the hour of `toMs`, for every partitioned table:
 * an empty table like the parent, then attached (which takes no lock that blocks inserts or queries).
 * Returns how many hours.
 */
export async function createHourlyPartitions(client: ClientBase, fromMs: number, toMs: number): Promise<number> {
  let hours = 0;
  for (let start = fromMs - (fromMs % HOUR_MS); start <= toMs; start += HOUR_MS, hours++) {
    for (const table of PARTITIONED_TABLES) {
      const partition = partitionTable(table, start);
      await client.query(`CREATE TABLE ${partition} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await client.query(`ALTER TABLE ${table} ATTACH PARTITION ${partition} FOR VALUES FROM (${start}) TO (${start + HOUR_MS})`);
    }
  }
  return hours;
}
