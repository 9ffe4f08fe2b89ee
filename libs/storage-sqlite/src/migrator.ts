import Database from 'better-sqlite3';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository's migrations/sqlite/ folder, four levels up from dist/libs/storage-sqlite/src where this runs. */
export const MIGRATIONS_DIR = resolve(__dirname, '../../../../migrations/sqlite');

const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies each numbered .sql file not yet applied, each in its own transaction; returns the versions applied. */
export function migrate(db: Database.Database, dir = MIGRATIONS_DIR): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)`);
  const applied = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .pluck()
      .all()
      .map((v) => v as number),
  );
  const files = readdirSync(dir)
    .map((name) => ({ name, match: MIGRATION_FILE.exec(name) }))
    .filter((f) => f.match)
    .map((f) => ({ name: f.name, version: Number(f.match![1]) }))
    .sort((a, b) => a.version - b.version);

  const known = new Set(files.map((f) => f.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new MigrationError(
      `the catalogue has migration ${unknown.join(', ')} that this build does not know: it was written by a newer Daylog`,
    );
  }

  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const file of files.filter((f) => !applied.has(f.version))) {
    const sql = readFileSync(join(dir, file.name), 'utf8');
    try {
      db.transaction(() => {
        db.exec(sql);
        record.run(file.version, file.name, Date.now());
      })();
    } catch (error) {
      throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}`);
    }
    done.push(file.version);
  }
  return done;
}
