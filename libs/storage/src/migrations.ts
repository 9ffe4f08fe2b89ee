import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** One numbered plain-SQL file of an engine's migrations folder (`migrations/<engine>/NNN_name.sql`). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/;

/**
 * The migrations of `dir` not yet applied, in version order. A version applied that the folder does not
 * hold was written by a newer Daylog: this build cannot know what it changed, so it refuses to go on.
 * `store` names what holds the schema, for the error (`the catalogue`, `the database`).
 */
export function pendingMigrations(dir: string, applied: ReadonlySet<number>, store: string): Migration[] {
  const files = readdirSync(dir)
    .map((name) => ({ name, match: MIGRATION_FILE.exec(name) }))
    .filter((file) => file.match)
    .map((file) => ({ name: file.name, version: Number(file.match![1]) }))
    .sort((a, b) => a.version - b.version);
  const known = new Set(files.map((file) => file.version));
  const unknown = [...applied].filter((version) => !known.has(version));
  if (unknown.length > 0) {
    throw new MigrationError(`${store} has migration ${unknown.join(', ')} that this build does not know: it was written by a newer Daylog`);
  }
  return files.filter((file) => !applied.has(file.version)).map((file) => ({ ...file, sql: readFileSync(join(dir, file.name), 'utf8') }));
}
