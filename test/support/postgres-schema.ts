import { ClientBase } from 'pg';
import { ensurePartition, migratePostgres } from '@daylog/storage-postgres';

export { partitionTable } from '@daylog/storage-postgres';

/** What the PostgreSQL bench and the schema's test need of the schema's life, as the adapter does it. */

export const HOUR_MS = 3_600_000;

/** The migrations applied to an empty database, as the adapter applies them at boot. */
export async function applySchema(client: ClientBase): Promise<void> {
  await migratePostgres(client);
}

/**
 * One partition per hour from the hour of `fromMs` through the hour of `toMs`, for every partitioned table,
 * as the adapter makes them. Returns how many hours.
 */
export async function createHourlyPartitions(client: ClientBase, fromMs: number, toMs: number): Promise<number> {
  let hours = 0;
  for (let start = fromMs - (fromMs % HOUR_MS); start <= toMs; start += HOUR_MS, hours++) await ensurePartition(client, HOUR_MS, start);
  return hours;
}
