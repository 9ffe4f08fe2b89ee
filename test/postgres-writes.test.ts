import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, TypeOverrides } from 'pg';
import { LogLine } from '@daylog/log-model';
import { AppendBatch, DiskFull, LogStore, StorageBackend, StorageUnavailable } from '@daylog/storage';
import { SearchThreads } from '@daylog/storage-sqlite';
import { PARTITIONED_TABLES, PostgresStorageOptions, dropPartitionsEndingBy, livePartitions, openPostgresStorage, partitionTable } from '@daylog/storage-postgres';
import { PostgresCluster, startPostgres } from './support/postgres-cluster';
import { until } from './support/shipper-harness';

const HOUR = 3_600_000;
/** Long enough for a loaded machine, short enough that a lock nobody takes fails the test soon. */
const LOCK_PATIENCE_MS = 20_000;
/** The advisory lock a paused batch waits on (pauseLines). */
const PAUSE_LOCK = 4242;

function line(ts: number, message: string, labels: Partial<LogLine> = {}): LogLine {
  return { ts, level: 'info', namespace: 'shop', pod: 'web', container: null, source: null, message, fields: null, format: null, ...labels };
}

const HOUR_START = Date.now() - (Date.now() % HOUR);
/** When batches arrive: in the hour the tests started, whatever hour they end in. */
const NOW = HOUR_START + HOUR / 2;

function batch(lines: LogLine[], idempotencyKey: string | null = null, extra: Partial<AppendBatch> = {}): AppendBatch {
  return { idempotencyKey, receivedMs: NOW, lines, ...extra };
}

/** bigint columns as numbers, as the store reads them: times and ids. */
const NUMBERS = new TypeOverrides();
NUMBERS.setTypeParser(20, 'text', Number);

/** A connection of the test's own; one the server ends (a restart, a terminated backend) is let go quietly. */
async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, types: NUMBERS });
  await client.connect();
  client.on('error', () => undefined);
  return client;
}

/** Rows of one statement, on the test's own connection. */
async function rows<T>(sql: Client, text: string, values: unknown[] = []): Promise<T[]> {
  return (await sql.query(text, values)).rows as T[];
}

/** Everything a batch may leave in the database, counted: what a failed batch must not leave. */
async function everything(sql: Client): Promise<Record<string, number>> {
  const [counts] = await rows<Record<string, number>>(
    sql,
    `SELECT (SELECT count(*) FROM logs)::int AS lines, (SELECT count(*) FROM minute_counts)::int AS counts,
            (SELECT count(*) FROM batch_keys)::int AS keys, (SELECT count(*) FROM ingest_commits)::int AS commits,
            (SELECT count(*) FROM streams)::int AS "labelSets"`,
  );
  return counts;
}

/**
 * Lines saying 'pause' wait, on their way into `logs` (row by row, in the batch's COPY), until `resume`: as if
 * the server were slow right there, while the batch holds whatever it took before.
 */
async function pauseLines(sql: Client): Promise<{ resume: () => Promise<void> }> {
  await sql.query('SELECT pg_advisory_lock($1)', [PAUSE_LOCK]);
  await sql.query(`CREATE FUNCTION pause() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN PERFORM pg_advisory_lock_shared(${PAUSE_LOCK}); PERFORM pg_advisory_unlock_shared(${PAUSE_LOCK}); RETURN NULL; END $$`);
  await sql.query(`CREATE TRIGGER pause AFTER INSERT ON logs FOR EACH ROW WHEN (NEW.message = 'pause') EXECUTE FUNCTION pause()`);
  return { resume: async () => void (await sql.query('SELECT pg_advisory_unlock($1)', [PAUSE_LOCK])) };
}

const THIS_DATABASE = 'datname = current_database()';

/** Sessions waiting for an advisory lock other than the pause's. */
async function waitingForLocks(sql: Client): Promise<number> {
  const [{ n }] = await rows<{ n: number }>(
    sql,
    `SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND NOT (objsubid = 1 AND classid = 0 AND objid = ${PAUSE_LOCK})`,
  );
  return n;
}

async function pausedBatches(sql: Client): Promise<number[]> {
  const paused = await rows<{ pid: number }>(sql, `SELECT pid FROM pg_stat_activity WHERE ${THIS_DATABASE} AND wait_event = 'advisory' AND query LIKE 'COPY logs%'`);
  return paused.map((p) => p.pid);
}

/**
 * Sessions of this test's database running a DETACH … CONCURRENTLY now: pg_stat_activity shows every database of
 * the cluster, and an idle session its last statement (an earlier test's pruner, say, until its pool closes it).
 */
async function detachingPids(sql: Client): Promise<number[]> {
  const detaching = await rows<{ pid: number }>(sql, `SELECT pid FROM pg_stat_activity WHERE ${THIS_DATABASE} AND state = 'active' AND query LIKE '%DETACH PARTITION%CONCURRENTLY'`);
  return detaching.map((d) => d.pid);
}

describe('PgLogStore writes', () => {
  const hour = HOUR_START;
  let cluster: PostgresCluster;
  let threads: SearchThreads;
  let databases = 0;
  const opened: StorageBackend[] = [];
  const clients: Client[] = [];

  before(async () => {
    cluster = await startPostgres();
    threads = new SearchThreads(1);
  });

  after(async () => {
    await Promise.all(opened.map((backend) => backend.close()));
    await Promise.all(clients.map((client) => client.end()));
    await threads?.stop();
    await cluster?.stop();
  });

  /** A fresh database, the test's plain connection to it, and a way to open replicas' stores on it. */
  async function database(): Promise<{ sql: Client; open: (options?: Partial<PostgresStorageOptions>) => Promise<LogStore> }> {
    const url = await cluster.createDatabase(`writes_${++databases}`);
    const open = async (options: Partial<PostgresStorageOptions> = {}) => {
      const backend = await openPostgresStorage({
        url,
        partitionMs: HOUR,
        fullText: false,
        maxLabelSetsPerNamespace: 100,
        cursorKey: null,
        queryTimeoutMs: 10_000,
        connectTimeoutMs: 10_000,
        lineTester: threads,
        ...options,
      });
      opened.push(backend);
      return backend.store;
    };
    // The first store migrates: the test's connection looks at a database with its schema.
    await open();
    const sql = await connect(url);
    clients.push(sql);
    return { sql, open };
  }

  it('commits a batch whose lines reach two partitions once: lines, per-minute counts, key and the commit record', async () => {
    const { sql, open } = await database();
    const store = await open();
    const receivedMs = NOW;
    const lines = [line(hour - HOUR + 1_000, 'older a'), line(hour - HOUR + 61_000, 'older b', { level: 'error' }), line(hour + 5, 'newer')];
    const result = await store.appendBatch(batch(lines, 'two-hours', { receivedMs }));
    assert.deepEqual(result, { duplicate: false, accepted: 3, expired: [], tooManyLabelSets: [] });

    const stored = await rows<{ ts: number; message: string; commit_id: number; level: number }>(sql, 'SELECT ts, message, commit_id, level FROM logs ORDER BY ts');
    assert.deepEqual(stored.map((r) => [r.ts, r.message, r.level]), [[lines[0].ts, 'older a', 2], [lines[1].ts, 'older b', 4], [lines[2].ts, 'newer', 2]]);
    const [commit] = await rows<Record<string, number>>(sql, 'SELECT id, committed_ms, min_ts, max_ts, lines FROM ingest_commits');
    assert.deepEqual(commit, { id: stored[0].commit_id, committed_ms: receivedMs, min_ts: lines[0].ts, max_ts: lines[2].ts, lines: 3 });
    assert.ok(stored.every((r) => r.commit_id === commit.id), 'every line names its commit');
    const counts = await rows(sql, 'SELECT minute, level, lines::int, last_ts FROM minute_counts ORDER BY minute');
    assert.deepEqual(counts, [
      { minute: hour - HOUR, level: 2, lines: 1, last_ts: lines[0].ts },
      { minute: hour - HOUR + 60_000, level: 4, lines: 1, last_ts: lines[1].ts },
      { minute: hour, level: 2, lines: 1, last_ts: lines[2].ts },
    ]);
    assert.deepEqual(await rows(sql, "SELECT ts, convert_from(idempotency_key, 'UTF8') AS key FROM batch_keys"), [{ ts: lines[2].ts, key: 'two-hours' }], 'filed under the newest line');
    assert.deepEqual((await rows<{ t: string }>(sql, 'SELECT tableoid::regclass::text AS t FROM logs ORDER BY ts')).map((r) => r.t), [
      partitionTable('logs', hour - HOUR),
      partitionTable('logs', hour - HOUR),
      partitionTable('logs', hour),
    ]);
  });

  it('leaves nothing of a batch that fails in its second partition, and stores its resend', async () => {
    const { sql, open } = await database();
    const store = await open();
    const lines = [line(hour - HOUR + 1, 'first partition'), line(hour + 1, 'second partition')];
    await store.appendBatch(batch([line(hour + 2, 'makes the partitions')], null));
    await store.appendBatch(batch([line(hour - HOUR + 2, 'makes the partitions')], null));
    const before = await everything(sql);
    await sql.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await sql.query(`CREATE TRIGGER refuse BEFORE INSERT ON ${partitionTable('logs', hour)} FOR EACH ROW EXECUTE FUNCTION refuse()`);
    await assert.rejects(store.appendBatch(batch(lines, 'resent', { wantPositions: true })), /refused/);
    assert.deepEqual(await everything(sql), before, 'the first partition\'s line, the counts, key and commit record rolled back with it');

    await sql.query(`DROP TRIGGER refuse ON ${partitionTable('logs', hour)}`);
    assert.equal((await store.appendBatch(batch(lines, 'resent'))).accepted, 2, 'the resend is stored, not a duplicate');
    assert.equal((await everything(sql)).lines, before.lines + 2);
  });

  it('leaves nothing of a batch whose connection dies before it commits: StorageUnavailable, then its resend is stored', async () => {
    const { sql, open } = await database();
    const store = await open();
    const lines = [line(hour - HOUR + 1, 'first partition', { pod: 'new-pod' }), line(hour + 1, 'pause')];
    const pause = await pauseLines(sql);
    const appending = store.appendBatch(batch(lines, 'killed'));
    await until('the batch is in its COPY', async () => (await pausedBatches(sql)).length === 1, LOCK_PATIENCE_MS);
    // Expected before the kill: the batch may fail before the kill's own answer comes back.
    const refused = assert.rejects(appending, StorageUnavailable);
    await sql.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [await pausedBatches(sql)]);
    await refused;
    await pause.resume();
    assert.deepEqual(await everything(sql), { lines: 0, counts: 0, keys: 0, commits: 0, labelSets: 0 });
    await sql.query('DROP TRIGGER pause ON logs');

    assert.equal((await store.appendBatch(batch(lines, 'killed'))).accepted, 2, 'the same store takes the resend, and stores it');
    assert.deepEqual(await everything(sql), { lines: 2, counts: 2, keys: 1, commits: 1, labelSets: 2 });
  });

  it('takes a key stored through any replica for a duplicate, one after the other and at the same moment', async () => {
    const { sql, open } = await database();
    const [a, b] = [await open(), await open()];
    assert.equal((await a.appendBatch(batch([line(hour + 1, 'once')], 'one-after'))).duplicate, false);
    assert.deepEqual(await b.appendBatch(batch([line(hour + 2, 'other lines, same key')], 'one-after', { wantPositions: true })), {
      duplicate: true,
      accepted: 0,
      expired: [],
      tooManyLabelSets: [],
      positions: [],
    });

    // A holds the key's batch open at its COPY; B, sent the same batch, waits for it and then finds the key.
    const pause = await pauseLines(sql);
    const fromA = a.appendBatch(batch([line(hour + 3, 'pause')], 'same-moment'));
    await until('A is in its COPY', async () => (await pausedBatches(sql)).length === 1, LOCK_PATIENCE_MS);
    const fromB = b.appendBatch(batch([line(hour + 3, 'pause')], 'same-moment'));
    await until('B waits for A', async () => (await waitingForLocks(sql)) === 1, LOCK_PATIENCE_MS);
    await pause.resume();
    assert.deepEqual([(await fromA).duplicate, (await fromB).duplicate], [false, true]);
    await sql.query('DROP TRIGGER pause ON logs');

    // Many at once, with old lines, so that each key is filed under its arrival too, which differs between replicas.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const lines = [line(hour - 2 * HOUR + i, `race ${i}`)];
        return Promise.all([a.appendBatch(batch(lines, `race-${i}`)), b.appendBatch(batch(lines, `race-${i}`, { receivedMs: NOW + 1 }))]);
      }),
    );
    assert.deepEqual(results.map(([x, y]) => [x.duplicate, y.duplicate].sort()), Array.from({ length: 20 }, () => [false, true]));
    const stored = await rows<{ message: string }>(sql, "SELECT message FROM logs WHERE message LIKE 'race %'");
    assert.equal(stored.length, 20, 'each batch stored once');
    const [{ arrival }] = await rows<{ arrival: number }>(sql, "SELECT max(ts) AS arrival FROM batch_keys WHERE idempotency_key = 'race-0'");
    assert.ok([NOW, NOW + 1].includes(arrival), 'an old batch\'s key is filed under its arrival too');
  });

  it('admits a namespace\'s last label set to one of two replicas asking at once, and never burns an id on a known one', async () => {
    const { sql, open } = await database();
    const [a, b] = [await open({ maxLabelSetsPerNamespace: 3 }), await open({ maxLabelSetsPerNamespace: 3 })];
    for (let i = 0; i < 3; i++) await a.appendBatch(batch([line(hour + i, 'known', { pod: 'web-1' }), line(hour + i, 'known', { pod: 'web-2' })]));
    assert.deepEqual(await rows(sql, 'SELECT id, pod FROM streams ORDER BY id'), [{ id: 1, pod: 'web-1' }, { id: 2, pod: 'web-2' }]);

    const pause = await pauseLines(sql);
    const fromA = a.appendBatch(batch([line(hour + 10, 'pause', { pod: 'from-a' })]));
    await until('A is in its COPY', async () => (await pausedBatches(sql)).length === 1, LOCK_PATIENCE_MS);
    const fromB = b.appendBatch(batch([line(hour + 11, 'b', { pod: 'from-b' }), line(hour + 12, 'b', { pod: 'web-1' })]));
    await until('B waits for A', async () => (await waitingForLocks(sql)) === 1, LOCK_PATIENCE_MS);
    await pause.resume();
    assert.deepEqual(await fromA, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] });
    assert.deepEqual(await fromB, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [0] });
    assert.deepEqual(await rows(sql, 'SELECT id, pod FROM streams ORDER BY id'), [
      { id: 1, pod: 'web-1' },
      { id: 2, pod: 'web-2' },
      { id: 3, pod: 'from-a' },
    ]);
    const other = await b.appendBatch(batch([line(hour + 13, 'elsewhere', { namespace: 'payments', pod: 'ledger' })]));
    assert.equal(other.accepted, 1, 'another namespace has room of its own');
    assert.deepEqual(await rows(sql, "SELECT id FROM streams WHERE pod = 'ledger'"), [{ id: 4 }], 'no id burned by lines of known label sets');
  });

  it('refuses lines of a pruned range as expired, on the replica that pruned and on one that learns of it, and makes no partition for them again', async () => {
    const { sql, open } = await database();
    const [a, b] = [await open(), await open()];
    const old = hour - 3 * HOUR;
    await a.appendBatch(batch([line(old + 1, 'old')]));
    await b.appendBatch(batch([line(old + 2, 'old')]));
    const dropped = await a.dropPartitionsBefore(hour - 2 * HOUR);
    assert.deepEqual(dropped, { droppedPartitions: [partitionTable('logs', old)], droppedLines: 2 });

    const fromA = await a.appendBatch(batch([line(old + 3, 'late'), line(hour + 1, 'now'), line(old - HOUR, 'later still')], null, { wantPositions: true }));
    assert.deepEqual({ ...fromA, positions: undefined }, { duplicate: false, accepted: 1, expired: [0, 2], tooManyLabelSets: [], positions: undefined });
    assert.deepEqual(fromA.positions?.map((p) => p?.ts), [undefined, hour + 1, undefined]);
    // B was not told the cutoff: the partition it knew is gone, so a pruner dropped its range.
    const fromB = await b.appendBatch(batch([line(old + 4, 'late'), line(hour + 2, 'now')], 'b-late'));
    assert.deepEqual(fromB, { duplicate: false, accepted: 1, expired: [0], tooManyLabelSets: [] });
    const all = await b.appendBatch(batch([line(old - 2 * HOUR, 'older still')], 'b-older'));
    assert.deepEqual(all, { duplicate: false, accepted: 0, expired: [0], tooManyLabelSets: [] });
    assert.deepEqual((await rows<{ n: number }>(sql, "SELECT count(*)::int AS n FROM batch_keys WHERE idempotency_key = 'b-older'"))[0].n, 0, 'no line stored, no key');
    const client = await connect(cluster.url(sql.database));
    try {
      assert.deepEqual((await livePartitions(client)).map((p) => p.startMs), [hour], 'none made for an expired range');
    } finally {
      await client.end();
    }
  });

  it('says where each stored line is, by index, with the ids the lines were stored under', async () => {
    const { sql, open } = await database();
    const store = await open();
    await store.dropPartitionsBefore(hour - 2 * HOUR);
    const lines = [line(hour + 7, 'first'), line(hour - 3 * HOUR, 'expired'), line(hour + 7, 'same ms'), line(hour - HOUR + 9, 'older partition')];
    const { positions } = await store.appendBatch(batch(lines, null, { wantPositions: true }));
    const stored = await rows<{ id: number; message: string }>(sql, 'SELECT id, message FROM logs');
    const idOf = (message: string) => stored.find((r) => r.message === message)!.id;
    assert.deepEqual(positions, [
      { ts: hour + 7, partitionStart: hour, id: idOf('first') },
      undefined,
      { ts: hour + 7, partitionStart: hour, id: idOf('same ms') },
      { ts: hour - HOUR + 9, partitionStart: hour - HOUR, id: idOf('older partition') },
    ]);
    assert.ok(idOf('first') < idOf('same ms'), 'lines of one millisecond keep the batch\'s order');
  });

  it('prunes on one replica at a time; the others drop nothing meanwhile, and forgotten label sets are those without lines', async () => {
    const { sql, open } = await database();
    const [a, b] = [await open(), await open()];
    for (const start of [hour - 5 * HOUR, hour - 4 * HOUR]) await a.appendBatch(batch([line(start, 'gone', { pod: 'gone' }), line(start + 1, 'kept', { pod: 'steady' })]));
    await a.appendBatch(batch([line(hour + 1, 'kept', { pod: 'steady' })]));

    // A reader's open snapshot holds DETACH … CONCURRENTLY: A's prune waits there with the pruner's lock.
    const reader = await connect(cluster.url(sql.database));
    clients.push(reader);
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query('SELECT count(*) FROM logs');
    const pruning = a.dropPartitionsBefore(hour - 3 * HOUR);
    await until('A detaches', async () => (await detachingPids(sql)).length === 1, LOCK_PATIENCE_MS);
    assert.deepEqual(await b.dropPartitionsBefore(hour - 3 * HOUR), { droppedPartitions: [], droppedLines: 0 });
    await reader.query('COMMIT');
    assert.deepEqual(await pruning, { droppedPartitions: [partitionTable('logs', hour - 5 * HOUR), partitionTable('logs', hour - 4 * HOUR)], droppedLines: 4 });
    assert.deepEqual(await rows(sql, 'SELECT pod FROM streams'), [{ pod: 'steady' }]);
    const tables = await rows<{ name: string }>(sql, "SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname ~ '_[0-9]{8}_[0-9]{6}$' ORDER BY 1");
    assert.deepEqual(tables.map((t) => t.name), PARTITIONED_TABLES.map((t) => partitionTable(t, hour)).sort());
  });

  it("runs a replica's prunes one after the other: one asked while another runs drops what it was asked to", async () => {
    const { sql, open } = await database();
    const store = await open();
    for (const start of [hour - 5 * HOUR, hour - 4 * HOUR, hour]) await store.appendBatch(batch([line(start, 'line')]));
    // A reader's open snapshot holds the first run in its DETACH … CONCURRENTLY, the pruner's lock taken.
    const reader = await connect(cluster.url(sql.database));
    clients.push(reader);
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query('SELECT count(*) FROM logs');
    const first = store.dropPartitionsBefore(hour - 4 * HOUR);
    await until('the first run detaches', async () => (await detachingPids(sql)).length === 1, LOCK_PATIENCE_MS);
    const second = store.dropPartitionsBefore(hour - 3 * HOUR);
    await reader.query('COMMIT');
    assert.deepEqual(await first, { droppedPartitions: [partitionTable('logs', hour - 5 * HOUR)], droppedLines: 1 });
    assert.deepEqual(await second, { droppedPartitions: [partitionTable('logs', hour - 4 * HOUR)], droppedLines: 1 });
  });

  it('finishes on another replica a prune whose replica died in a detach', async () => {
    const { sql, open } = await database();
    const [a, b] = [await open(), await open()];
    for (const start of [hour - 5 * HOUR, hour - 4 * HOUR, hour]) await a.appendBatch(batch([line(start, 'line')]));
    const reader = await connect(cluster.url(sql.database));
    clients.push(reader);
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query('SELECT count(*) FROM logs');
    const pruning = a.dropPartitionsBefore(hour - 3 * HOUR);
    // The detach's first transaction commits the pending mark; only then does it wait for the reader's snapshot.
    await until(
      'A detaches, its first transaction committed',
      async () => (await detachingPids(sql)).length === 1 && (await rows(sql, 'SELECT 1 FROM pg_inherits WHERE inhdetachpending')).length === 1,
      LOCK_PATIENCE_MS,
    );
    const refused = assert.rejects(pruning, StorageUnavailable);
    await sql.query('SELECT pg_terminate_backend($1)', [(await detachingPids(sql))[0]]);
    await refused;
    await reader.query('COMMIT');
    assert.equal((await rows(sql, 'SELECT 1 FROM pg_inherits WHERE inhdetachpending')).length, 1, 'a detach left pending');

    const run = await b.dropPartitionsBefore(hour - 3 * HOUR);
    assert.ok(run.droppedPartitions.includes(partitionTable('logs', hour - 4 * HOUR)), `B dropped ${run.droppedPartitions.join(', ')}`);
    assert.deepEqual(await rows(sql, 'SELECT 1 FROM pg_inherits WHERE inhdetachpending'), []);
    const tables = await rows<{ name: string }>(sql, "SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname ~ '_[0-9]{8}_[0-9]{6}$' ORDER BY 1");
    assert.deepEqual(tables.map((t) => t.name), PARTITIONED_TABLES.map((t) => partitionTable(t, hour)).sort(), 'no table of the hours pruned left, of any partitioned table');
    assert.deepEqual((await rows(sql, 'SELECT message FROM logs')).length, 1);
  });

  it('keeps a label set that a batch is writing lines of while the pruner forgets unused ones', async () => {
    const { sql, open } = await database();
    const writer = await open();
    const old = hour - 5 * HOUR;
    await writer.appendBatch(batch([line(old, 'old', { pod: 'returning' }), line(old, 'old', { pod: 'gone' })]));
    // Another replica dropped the hour and died before forgetting its label sets.
    await dropPartitionsEndingBy(sql, old + HOUR);
    const pause = await pauseLines(sql);
    const writing = writer.appendBatch(batch([line(hour + 1, 'pause', { pod: 'returning' })]));
    await until('the batch is in its COPY', async () => (await pausedBatches(sql)).length === 1, LOCK_PATIENCE_MS);

    const pruner = await open();
    const pruning = pruner.dropPartitionsBefore(old);
    await until('the pruner waits for the batch', async () => (await waitingForLocks(sql)) === 1, LOCK_PATIENCE_MS);
    await pause.resume();
    assert.equal((await writing).accepted, 1);
    await pruning;
    assert.deepEqual(await rows(sql, 'SELECT pod FROM streams'), [{ pod: 'returning' }], 'the one without lines forgotten');
    assert.deepEqual(await rows(sql, 'SELECT s.pod FROM logs JOIN streams s ON s.id = logs.stream_id'), [{ pod: 'returning' }]);
  });

  it('tells partitions, bytes and the oldest partition\'s end, as the database counts them', async () => {
    const { sql, open } = await database();
    const store = await open();
    const empty = await store.stats();
    assert.deepEqual({ ...empty, bytes: undefined }, { partitions: 0, bytes: undefined, oldestPartitionEndMs: null });
    const streamsBytes = await rows<{ bytes: number }>(sql, "SELECT pg_total_relation_size('streams') AS bytes");
    assert.equal(empty.bytes, streamsBytes[0].bytes);

    const lines = Array.from({ length: 2_000 }, (_, i) => line(hour - HOUR + i, `line ${i} `.repeat(10)));
    await store.appendBatch(batch([...lines, line(hour, 'now')]));
    const stats = await store.stats();
    const [{ bytes }] = await rows<{ bytes: number }>(
      sql,
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c
        WHERE c.relkind = 'r' AND (c.relname = 'streams' OR c.relname ~ '^(logs|minute_counts|batch_keys|ingest_commits)_[0-9]{8}_[0-9]{6}$')`,
    );
    assert.deepEqual(stats, { partitions: 2, bytes, oldestPartitionEndMs: hour });
    assert.ok(stats.bytes > empty.bytes + 2_000 * 100, `${stats.bytes} bytes hold 2,000 lines of 100 characters`);
  });

  it('answers DiskFull when the server has no room, and stores nothing of the batch', async () => {
    const { sql, open } = await database();
    const store = await open();
    await sql.query(`CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'disk_full'; END $$`);
    await sql.query(`CREATE TRIGGER no_room BEFORE INSERT ON ingest_commits FOR EACH ROW EXECUTE FUNCTION no_room()`);
    await assert.rejects(store.appendBatch(batch([line(hour + 1, 'no room')], 'full')), DiskFull);
    assert.deepEqual(await everything(sql), { lines: 0, counts: 0, keys: 0, commits: 0, labelSets: 0 });
  });

  it('counts the lines handed over until they are answered, and answers every batch in flight before it closes', async () => {
    const { sql, open } = await database();
    const store = await open();
    await store.appendBatch(batch([line(hour + 1, 'makes the partition')]));
    const pause = await pauseLines(sql);
    const appending = Array.from({ length: 6 }, (_, i) => store.appendBatch(batch([line(hour + 2, 'pause'), line(hour + 3, `queued ${i}`)])));
    assert.equal(store.queuedLines(), 12);
    await until('the batches are in their COPY', async () => (await pausedBatches(sql)).length > 0, LOCK_PATIENCE_MS);
    const closing = store.close();
    assert.equal(store.isReady(), false, 'a closing store takes no more batches');
    await assert.rejects(store.appendBatch(batch([line(hour + 4, 'too late')])), StorageUnavailable);
    await pause.resume();
    assert.deepEqual((await Promise.all(appending)).map((r) => r.accepted), [2, 2, 2, 2, 2, 2]);
    await closing;
    assert.equal(store.queuedLines(), 0);
    assert.equal((await everything(sql)).lines, 13);
  });

  it('answers StorageUnavailable while the database is down, and stores again once it is back, without being reopened', async () => {
    const { sql, open } = await database();
    const store = await open();
    assert.equal((await store.appendBatch(batch([line(hour + 1, 'before')]))).accepted, 1);
    await sql.end();
    clients.splice(clients.indexOf(sql), 1);
    await cluster.restart({
      whileDown: async () => {
        await assert.rejects(store.appendBatch(batch([line(hour + 2, 'while down')], 'down')), StorageUnavailable);
        assert.equal(store.isReady(), false);
        assert.equal(store.queuedLines(), 0, 'a refused batch is no longer queued');
      },
    });
    assert.equal((await store.appendBatch(batch([line(hour + 2, 'while down')], 'down'))).accepted, 1, 'its resend is stored');
    await until('the store says it is ready again', () => store.isReady(), LOCK_PATIENCE_MS);
    const after = await connect(cluster.url(sql.database));
    clients.push(after);
    assert.deepEqual((await rows<{ message: string }>(after, 'SELECT message FROM logs ORDER BY ts')).map((r) => r.message), ['before', 'while down']);
  });
});
