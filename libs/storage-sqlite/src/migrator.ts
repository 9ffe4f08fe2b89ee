import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { MigrationError, pendingMigrations } from '@daylog/storage';

/** The repository's migrations/sqlite/ folder, four levels up from dist/libs/storage-sqlite/src where this runs. */
export const MIGRATIONS_DIR = resolve(__dirname, '../../../../migrations/sqlite');

/** Applies each numbered .sql file not yet applied, each in its own transaction; returns the versions applied. */
export function migrate(db: Database.Database, dir = MIGRATIONS_DIR): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)`);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const migration of pendingMigrations(dir, applied, 'the catalogue')) {
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        record.run(migration.version, migration.name, Date.now());
      })();
    } catch (error) {
      throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
    }
    done.push(migration.version);
  }
  return done;
}
