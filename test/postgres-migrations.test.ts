import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MigrationError } from '@daylog/storage';
import { POSTGRES_MIGRATIONS_DIR, migratePostgres } from '@daylog/storage-postgres';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';

describe('PostgreSQL migrations (migrations/postgres)', () => {
  let cluster: PostgresCluster;

  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.stop());

  it('are applied once when three replicas start at once on an empty database, each coming up', async () => {
    const url = await cluster.createDatabase('three_at_once');
    const replicas = await Promise.all([1, 2, 3].map(() => connectTo(url)));
    try {
      const applied = await Promise.all(replicas.map((replica) => migratePostgres(replica)));
      assert.deepEqual(applied.flat(), [1, 2], 'one replica applied the migrations, the others found them done');
      const { rows } = await replicas[0].query('SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows, [
        { version: 1, name: '001_schema.sql' },
        { version: 2, name: '002_word_index.sql' },
      ]);
      assert.deepEqual(await migratePostgres(replicas[1]), [], 'a later start has nothing to do');
    } finally {
      await Promise.all(replicas.map((replica) => replica.end()));
    }
  });

  it('refuse a database migrated by a newer Daylog, and roll back a migration that fails', async () => {
    const url = await cluster.createDatabase('newer_and_failing');
    const db = await connectTo(url);
    const dir = mkdtempSync(join(tmpdir(), 'daylog-migrations-'));
    try {
      await migratePostgres(db);
      await db.query("INSERT INTO schema_migrations (version, name) VALUES (99, '099_future.sql')");
      await assert.rejects(migratePostgres(db), (error: Error) => {
        assert.ok(error instanceof MigrationError);
        assert.equal(error.message, 'the database has migration 99 that this build does not know: it was written by a newer Daylog');
        return true;
      });
      await db.query('DELETE FROM schema_migrations WHERE version = 99');
      writeFileSync(join(dir, '001_schema.sql'), '');
      writeFileSync(join(dir, '002_word_index.sql'), '');
      writeFileSync(join(dir, '003_broken.sql'), 'CREATE TABLE half_done (x int); SELECT no_such_function();');
      await assert.rejects(migratePostgres(db, dir), /^MigrationError: migration 003_broken\.sql failed: function no_such_function\(\) does not exist$/);
      const { rows } = await db.query<{ table: string | null }>("SELECT to_regclass('half_done')::text AS table");
      assert.equal(rows[0].table, null, 'nothing of the failed migration is left');
      assert.ok(POSTGRES_MIGRATIONS_DIR.endsWith(join('migrations', 'postgres')));
    } finally {
      await db.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
