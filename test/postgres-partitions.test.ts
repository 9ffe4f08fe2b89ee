import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dropPartitionsEndingBy, ensurePartition, livePartitions, migratePostgres, partitionTable } from '@daylog/storage-postgres';
import { RetentionService } from '../apps/aggregator/src/retention/retention.service';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';
import { MINUTE, ManualClock, startTestApp } from './support/test-app';

const HOUR = 3_600_000;
const PATIENCE_MS = 10_000;

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${PATIENCE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PostgreSQL partitions', () => {
  let cluster: PostgresCluster;
  const hour = Date.now() - (Date.now() % HOUR);

  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.stop());

  it('are made on demand for every partitioned table, once when three replicas ask at once', async () => {
    const url = await cluster.createDatabase('made_at_once');
    const replicas = await Promise.all([1, 2, 3].map(() => connectTo(url)));
    try {
      await migratePostgres(replicas[0]);
      const made = await Promise.all(replicas.map((replica) => ensurePartition(replica, HOUR, hour + 123)));
      for (const partition of made) assert.deepEqual(partition, { startMs: hour, endMs: hour + HOUR, name: partitionTable('logs', hour) });
      assert.deepEqual(await livePartitions(replicas[0]), [made[0]]);
      const { rows } = await replicas[0].query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_inherits WHERE inhrelid::regclass::text LIKE '%_' || $1`,
        [partitionTable('logs', hour).slice('logs_'.length)],
      );
      assert.equal(rows[0].n, 4, 'logs, minute_counts, batch_keys and ingest_commits');
      await replicas[1].query('INSERT INTO logs (ts, commit_id, stream_id, level, message) VALUES ($1, 1, 1, 2, $2)', [hour + 5, 'stored']);
    } finally {
      await Promise.all(replicas.map((replica) => replica.end()));
    }
  });

  it("are made ahead by the pruner's run, within two runs of the current one's end, before any line of the next comes", async () => {
    const url = await cluster.createDatabase('made_ahead');
    const clock = new ManualClock();
    const t = await startTestApp({ clock, env: { DAYLOG_POSTGRES_URL: url, DAYLOG_PRUNE_INTERVAL: '1m' } });
    const db = await connectTo(url);
    try {
      const current = clock.now() - (clock.now() % HOUR);
      const starts = async () => (await livePartitions(db)).map((partition) => partition.startMs);
      const prune = () => t.app.get(RetentionService).prune();
      await prune();
      assert.deepEqual(await starts(), [], 'none while no line is written');
      assert.equal((await t.http.post('/api/v1/logs').send({ labels: { pod: 'web' }, lines: [{ message: 'now' }] })).status, 200);
      clock.ms = current + HOUR - 3 * MINUTE;
      await prune();
      assert.deepEqual(await starts(), [current], 'three minutes before the end: two runs of a minute still come first');
      clock.ms = current + HOUR - 90_000;
      await prune();
      assert.deepEqual(await starts(), [current, current + HOUR]);
      assert.equal((await t.http.get('/metrics')).text.match(/^daylog_partitions (\d+)$/m)?.[1], '2');
    } finally {
      await db.end();
      await t.close();
    }
  });

  it('never overlap one made under an earlier width', async () => {
    const db = await connectTo(await cluster.createDatabase('widths'));
    try {
      await migratePostgres(db);
      await ensurePartition(db, HOUR, hour + 10 * 60_000);
      // Fifteen-minute partitions now: the next one starts where the hour ends.
      const next = await ensurePartition(db, 15 * 60_000, hour + HOUR + 60_000);
      assert.deepEqual([next.startMs, next.endMs], [hour + HOUR, hour + HOUR + 15 * 60_000]);
      assert.equal((await ensurePartition(db, 15 * 60_000, hour + 59 * 60_000)).startMs, hour, 'a time in the hour stays in the hour');
    } finally {
      await db.end();
    }
  });

  it('are dropped past the cutoff, detached concurrently, and a detach left half done is finished on the next run', async () => {
    const url = await cluster.createDatabase('dropped');
    const db = await connectTo(url);
    const reader = await connectTo(url);
    const detacher = await connectTo(url);
    // Its session is ended by the server below: node-postgres reports that as an 'error' event too.
    detacher.on('error', () => undefined);
    try {
      await migratePostgres(db);
      for (const start of [hour - 3 * HOUR, hour - 2 * HOUR, hour - HOUR, hour]) await ensurePartition(db, HOUR, start);
      // A DETACH … CONCURRENTLY whose session dies between its two transactions leaves the partition pending.
      const stuck = partitionTable('logs', hour - 3 * HOUR);
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT count(*) FROM logs');
      const detaching = detacher.query(`ALTER TABLE logs DETACH PARTITION ${stuck} CONCURRENTLY`).catch(() => 'terminated');
      await until(async () => (await db.query(`SELECT 1 FROM pg_inherits WHERE inhrelid = '${stuck}'::regclass AND inhdetachpending`)).rowCount === 1, 'pending');
      await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1', ['ALTER TABLE logs DETACH PARTITION%']);
      assert.equal(await detaching, 'terminated');
      await reader.query('COMMIT');
      assert.deepEqual((await livePartitions(db)).map((p) => p.startMs), [hour - 2 * HOUR, hour - HOUR, hour], 'a pending detach is no longer live');

      const dropped = await dropPartitionsEndingBy(db, hour - HOUR);
      assert.deepEqual(dropped.map((p) => p.startMs), [hour - 2 * HOUR]);
      assert.deepEqual((await livePartitions(db)).map((p) => p.startMs), [hour - HOUR, hour]);
      const { rows } = await db.query<{ name: string }>(`SELECT relname AS name FROM pg_class WHERE relname LIKE 'logs\\_%' AND relkind = 'r' ORDER BY 1`);
      assert.deepEqual(rows.map((row) => row.name), [partitionTable('logs', hour - HOUR), partitionTable('logs', hour)], 'no table left behind, the stuck one included');
    } finally {
      await Promise.all([db.end(), reader.end(), detacher.end().catch(() => undefined)]);
    }
  });
});
