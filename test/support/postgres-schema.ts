import { ClientBase } from 'pg';
import { migratePostgres } from '@daylog/storage-postgres';

/**
 * Just what the PostgreSQL bench and the schema's test need of the schema's life: the migrations applied to
 * an empty database and hourly partitions made. The PostgreSQL adapter will own partitions for real (made
 * ahead, DETACH … CONCURRENTLY for retention).
 */

export const HOUR_MS = 3_600_000;

/** The tables partitioned by time, each by its time column. */
const PARTITIONED_TABLES = ['logs', 'minute_counts', 'batch_keys', 'ingest_commits'];

/** The migrations applied to an empty database, as the adapter applies them at boot. */
export async function applySchema(client: ClientBase): Promise<void> {
  await migratePostgres(client);
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
