import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { LogLine } from '@daylog/log-model';
import { lineMatcher } from '@daylog/storage';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';
import { HOUR_MS, applySchema, createHourlyPartitions, partitionTable } from './support/postgres-schema';

const DEADLINE_MS = 10_000;

/** Rejects with the error's SQLSTATE, for assert.rejects. */
const sqlState = (code: string) => (error: unknown) => (error as { code?: string }).code === code;

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the PostgreSQL schema (migrations/postgres)', () => {
  const hour = Date.now() - (Date.now() % HOUR_MS);
  let cluster: PostgresCluster;
  let url: string;
  let db: Client;

  const insertLine = (ts: number, message: string, messageWithNul: Buffer | null = null) =>
    db.query('INSERT INTO logs (ts, commit_id, stream_id, level, message, message_with_nul) VALUES ($1, 1, 1, 2, $2, $3)', [ts, message, messageWithNul]);

  before(async () => {
    cluster = await startPostgres();
    // A linguistic locale, as many servers have: what the schema compares must not depend on it.
    const admin = await connectTo(cluster.url());
    await admin.query(`CREATE DATABASE daylog TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
    await admin.end();
    url = cluster.url('daylog');
    db = await connectTo(url);
    await applySchema(db);
    await createHourlyPartitions(db, hour - 2 * HOUR_MS, hour);
  });

  after(async () => {
    await db?.end();
    await cluster?.stop();
  });

  it('records its migrations and gives every partition the indexes declared on the parent', async () => {
    assert.deepEqual((await db.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows, [
      { version: 1, name: '001_schema.sql' },
      { version: 2, name: '002_word_index.sql' },
    ]);
    const { rows } = await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexdef', [partitionTable('logs', hour)]);
    assert.deepEqual(
      rows.map((row) => row.indexdef.replace(/^.* USING /, '')),
      ['brin (commit_id) WITH (pages_per_range=\'16\')', 'btree (level, ts, id) WHERE (level >= 3)', 'btree (stream_id, ts, id)', 'btree (ts, id)'],
    );
  });

  it('refuses a line no partition holds, there being no DEFAULT partition, so an hour can go with DETACH CONCURRENTLY', async () => {
    await assert.rejects(insertLine(hour + HOUR_MS, 'from the future'), sqlState('23514'));
    const oldest = partitionTable('logs', hour - 2 * HOUR_MS);
    await insertLine(hour - 2 * HOUR_MS, 'in the oldest hour');
    await db.query(`ALTER TABLE logs DETACH PARTITION ${oldest} CONCURRENTLY`);
    await db.query(`DROP TABLE ${oldest}`);
    await assert.rejects(insertLine(hour - 2 * HOUR_MS, 'too old'), sqlState('23514'));
    assert.equal((await db.query('SELECT count(*)::int AS n FROM logs WHERE ts < $1', [hour - HOUR_MS])).rows[0].n, 0);
  });

  it('keeps a message holding U+0000, which text refuses, whole beside its searchable text', async () => {
    const sent = 'before\u0000after';
    await assert.rejects(insertLine(hour, sent), sqlState('22021'));
    await insertLine(hour, sent.replaceAll('\u0000', '\ufffd'), Buffer.from(sent));
    const { rows } = await db.query<{ message_with_nul: Buffer }>("SELECT message_with_nul FROM logs WHERE message LIKE 'before%after'");
    assert.equal(rows[0].message_with_nul.toString(), sent);
  });

  it('finds substrings folding ASCII letters only, as the live tail and SQLite do, and sorts labels by code point', async () => {
    const messages = ['CAFÉ au lait', 'Café crème', 'un café', 'caffè'];
    for (const message of messages) await insertLine(hour + 1, message);
    const filter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: ['CAFé'], excludes: [] };
    const tail = lineMatcher(filter);
    const line = (message: string): LogLine => ({ ts: hour + 1, level: 'info', namespace: null, pod: 'p', container: null, source: null, message, fields: null, format: null });
    const expected = messages.filter((message) => tail(line(message)));
    const { rows } = await db.query<{ message: string }>('SELECT message FROM logs WHERE ts = $1 AND message ILIKE $2 ORDER BY id', [hour + 1, '%CAFé%']);
    assert.deepEqual(rows.map((row) => row.message), expected);
    assert.deepEqual(expected, ['Café crème', 'un café']);

    await db.query(`INSERT INTO streams (namespace, pod, container, source) VALUES ('ns', 'émile', '', ''), ('ns', 'Zed', '', ''), ('ns', 'adam', '', '')`);
    const pods = (await db.query<{ pod: string }>("SELECT pod FROM streams WHERE namespace = 'ns' ORDER BY pod")).rows.map((row) => row.pod);
    assert.deepEqual(pods, ['Zed', 'adam', 'émile']);
  });

  it('stores a key sent to two replicas at the same moment once: the second waits for the first, then inserts nothing', async () => {
    const replicaA = await connectTo(url);
    const replicaB = await connectTo(url);
    try {
      const key = Buffer.from('team-a|team-b\u0000batch-42');
      const fileKey = (on: Client) => on.query('INSERT INTO batch_keys (ts, idempotency_key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING ts', [hour + 5, key]);
      await replicaA.query('BEGIN');
      assert.equal((await fileKey(replicaA)).rowCount, 1);
      const second = fileKey(replicaB);
      await until(async () => {
        const { rows } = await db.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO batch_keys%'");
        return rows.length === 1;
      }, 'waiting on the first replica');
      await replicaA.query('COMMIT');
      assert.equal((await second).rowCount, 0);
      assert.equal((await db.query('SELECT count(*)::int AS n FROM batch_keys WHERE idempotency_key = $1', [key])).rows[0].n, 1);
    } finally {
      await replicaA.end();
      await replicaB.end();
    }
  });

  it("never gives a forgotten label set's id to another one", async () => {
    const add = async (pod: string) =>
      (await db.query<{ id: number }>(`INSERT INTO streams (namespace, pod, container, source) VALUES ('ids', $1, '', '') RETURNING id`, [pod])).rows[0].id;
    const first = await add('first');
    await db.query('DELETE FROM streams WHERE id = $1', [first]);
    const second = await add('second');
    assert.ok(second > first, `id ${second} after ${first}`);
    await assert.rejects(add('second'), sqlState('23505'));
    assert.ok((await add('first')) > second);
  });

  it('keeps one cursor key, of 32 bytes, for every replica', async () => {
    const key = randomBytes(32);
    const keep = (candidate: Buffer) => db.query('INSERT INTO cursor_key (key) VALUES ($1) ON CONFLICT DO NOTHING', [candidate]);
    assert.equal((await keep(key)).rowCount, 1);
    assert.equal((await keep(randomBytes(32))).rowCount, 0);
    await assert.rejects(keep(randomBytes(16)), sqlState('23514'));
    assert.deepEqual((await db.query<{ key: Buffer }>('SELECT key FROM cursor_key')).rows.map((row) => row.key), [key]);
  });
});
