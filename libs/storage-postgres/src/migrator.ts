import { resolve } from 'node:path';
import { ClientBase } from 'pg';
import { MigrationError, pendingMigrations } from '@daylog/storage';

/** The repository's migrations/postgres/ folder, four levels up from dist/libs/storage-postgres/src where this runs. */
export const POSTGRES_MIGRATIONS_DIR = resolve(__dirname, '../../../../migrations/postgres');

/** The advisory lock replicas take to migrate one at a time: "daylog m" as a number, so that nothing else picks it. */
const MIGRATION_LOCK = 0x6461796c6f67206dn;

/**
 * Applies each numbered .sql file not yet applied, each in its own transaction, under a session advisory
 * lock: replicas starting at once on an empty database take turns, and those after the first find
 * nothing left to do. Returns the versions this call applied.
 */
export async function migratePostgres(client: ClientBase, dir = POSTGRES_MIGRATIONS_DIR): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
  try {
    // The first migration makes schema_migrations itself.
    const { rows: found } = await client.query<{ table: string | null }>("SELECT to_regclass('schema_migrations')::text AS table");
    const applied = new Set<number>();
    if (found[0].table !== null) {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      for (const row of rows) applied.add(row.version);
    }
    const done: number[] = [];
    for (const migration of pendingMigrations(dir, applied, 'the database')) {
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
      done.push(migration.version);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
  }
}
