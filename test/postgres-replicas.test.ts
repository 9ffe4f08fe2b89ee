import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PARTITIONED_TABLES, livePartitions, partitionTable } from '@daylog/storage-postgres';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';
import { KeyedLoad, SentBatch, checkBatches, inDatabase } from './support/keyed-load';
import { NoAnswer, Replica, ReplicaSet, ingest, read, readOk, send } from './support/replicas';
import { until } from './support/shipper-harness';
import { SilentNetwork } from './support/silent-network';
import { TailClient } from './support/tail-client';
import { HOUR, MINUTE } from './support/test-app';

/**
 * Several real aggregator processes (the image's command line) over one PostgreSQL database, each reached over
 * TCP with a password, as issue 15 says replicas must behave ("Precisely, across replicas", "Crash and
 * faults"). Scenarios that leave the database alone run at once, each on a database of its own; those that
 * stop or freeze the database run one after the other on a cluster of their own.
 */

/** What a tail across replicas promises: another replica's lines within 2 s. */
const TAIL_PROMISE_MS = 2_000;
/** The replicas of the fault scenarios: a search gives up after this, a statement 5 s later. */
const QUERY_TIMEOUT_MS = 2_000;
/** How long a request may take while the database is away: its statement's time-out, and a second and a half for a busy machine. */
const LONGEST_REQUEST_MS = QUERY_TIMEOUT_MS + 5_000 + 1_500;
const UNREACHABLE = { error: 'the database cannot be reached: retry in a few seconds' };

/** The replicas of the scenarios that leave the database alone, and of those that do not: each group stopped by its own hook. */
const upReplicas = new ReplicaSet();
const faultReplicas = new ReplicaSet();
/** Every cluster's password, none of which any replica may ever print. */
const passwords: string[] = [];

async function startCluster(): Promise<PostgresCluster> {
  const cluster = await startPostgres();
  passwords.push(new URL(cluster.tcpUrl()).password);
  return cluster;
}

/** The database `name`, made on `cluster`: the URL replicas are given (TCP, with the password), and the test's own (its socket). */
async function database(cluster: PostgresCluster, name: string): Promise<{ url: string; ownUrl: string }> {
  return { ownUrl: await cluster.createDatabase(name), url: cluster.tcpUrl(name) };
}

/** A value of the replica's /metrics. */
async function metric(replica: Replica, name: string): Promise<number> {
  const { status, body } = await send(`${replica.url}/metrics`);
  assert.equal(status, 200);
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(body as string)?.[1];
  assert.ok(value !== undefined, `${replica.name} has no ${name}`);
  return Number(value);
}

const messagesOf = (page: { lines: { message: string }[] }): string[] => page.lines.map((line) => line.message);

function repeated(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => seen.has(value) || !seen.add(value));
}

/** When each line of a tail arrived (performance.now()), by its index in `tail.lines`. */
async function arrivalTimes(tail: TailClient): Promise<number[]> {
  const response = await tail.opened();
  assert.equal(response.statusCode, 200);
  const times: number[] = [];
  response.on('data', () => {
    while (times.length < tail.lines.length) times.push(performance.now());
  });
  return times;
}

const tailUrl = (replica: Replica, params: Record<string, string>): string => `${replica.url}/api/v1/tail?${new URLSearchParams({ format: 'ndjson', ...params }).toString()}`;
const tailMessages = (tail: TailClient): string[] => tail.lines.map((line) => (JSON.parse(line) as { message: string }).message);

/**
 * Lines on two replicas, some through each, paged with cursors from one on the other, both ways, and a line's
 * cursor from one asked for its context on the other.
 */
async function pageAcross([first, second]: Replica[], namespace: string): Promise<void> {
  const start = Date.now() - MINUTE;
  const sent = Array.from({ length: 30 }, (_, i) => ({ message: `line-${String(i).padStart(2, '0')}`, ts: start + i * 1000 }));
  for (const [i, replica] of [first, second].entries()) {
    const answer = await ingest(replica, { namespace, pod: 'paged' }, sent.filter((_, n) => n % 2 === i));
    assert.deepEqual([answer.status, answer.body.accepted], [200, 15]);
  }
  const expected = sent.map((line) => line.message);
  for (const [direction, order] of [['forward', expected], ['backward', [...expected].reverse()]] as const) {
    const shown: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page === 0 || cursor !== null; page++) {
      const body = await readOk(page % 2 === 0 ? first : second, '/api/v1/logs', { namespace, direction, limit: '4', ...(cursor && { cursor }) });
      shown.push(...messagesOf(body));
      cursor = body.nextCursor;
    }
    assert.deepEqual(shown, order, direction);
  }
  const page = await readOk(first, '/api/v1/logs', { namespace, direction: 'forward', limit: '11' });
  const context = await readOk(second, '/api/v1/logs/context', { cursor: page.lines[10].cursor, before: '2', after: '2' });
  assert.deepEqual([messagesOf({ lines: context.before }), context.line.message, messagesOf({ lines: context.after })], [
    expected.slice(8, 10),
    expected[10],
    expected.slice(11, 13),
  ]);
}

describe('replicas over one PostgreSQL database', { concurrency: true }, () => {
  describe('with the database up', { concurrency: true }, () => {
    let cluster: PostgresCluster;

    before(async () => {
      cluster = await startCluster();
    });
    after(async () => {
      await upReplicas.stop(upReplicas.started);
      await cluster?.stop();
    });

    describe('two replicas, their cursor key kept in the database', { concurrency: true }, () => {
      let a: Replica;
      let b: Replica;

      before(async () => {
        const { url } = await database(cluster, 'replicas');
        [a, b] = await upReplicas.start(['a', 'b'], url);
      });

      it('shows a line one replica acknowledged to queries, counts and label values on the other at once, in a partition and label set just made', async () => {
        const now = Date.now();
        const minute = now - (now % MINUTE);
        const pods = new Map<string, Map<string, { lines: number; lastTs: number }>>();
        for (let i = 0; i < 24; i++) {
          const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
          const namespace = `seen-${i % 3}`;
          const pod = `web-${String(i).padStart(2, '0')}`;
          // An hour of its own: the writer makes its partition for this batch.
          const ts = now - i * HOUR;
          const lines = ['info', 'warn', 'error'].map((level, j) => ({ message: `seen ${i} ${level}`, level, ts: ts - j }));
          const answer = await ingest(writer, { namespace, pod }, lines);
          assert.deepEqual([answer.status, answer.body], [200, { accepted: 3, rejected: [], duplicate: false }]);
          const inNamespace = pods.get(namespace) ?? new Map<string, { lines: number; lastTs: number }>();
          pods.set(namespace, inNamespace.set(pod, { lines: 3, lastTs: ts }));

          const [page, byPod, byLevel, podValues, namespaceValues] = await Promise.all([
            readOk(reader, '/api/v1/logs', { namespace, pod }),
            readOk(reader, '/api/v1/stats', { namespace, by: 'pod' }),
            // Whole minutes: counted from the per-minute counts alone.
            readOk(reader, '/api/v1/stats', { namespace, from: String(minute - 23 * HOUR - MINUTE), to: String(minute + 2 * MINUTE) }),
            readOk(reader, '/api/v1/labels/pod', { namespace }),
            readOk(reader, '/api/v1/labels/namespace'),
          ]);
          const at = `batch ${i} through ${writer.name}, read on ${reader.name}`;
          assert.deepEqual(messagesOf(page), lines.map((line) => line.message), at);
          const expectedTotal = [...inNamespace.values()].reduce((sum, p) => sum + p.lines, 0);
          assert.equal(byPod.total, expectedTotal, at);
          const podCounts: Record<string, number> = {};
          for (const bucket of byPod.buckets) for (const [name, count] of Object.entries(bucket.counts as Record<string, number>)) podCounts[name] = (podCounts[name] ?? 0) + count;
          assert.deepEqual(podCounts, Object.fromEntries([...inNamespace].map(([name, p]) => [name, p.lines])), at);
          assert.equal(byLevel.total, expectedTotal, at);
          assert.deepEqual(
            podValues.values,
            [...inNamespace].sort(([x], [y]) => (x < y ? -1 : 1)).map(([value, p]) => ({ value, lines: p.lines, lastSeen: new Date(p.lastTs).toISOString() })),
            at,
          );
          assert.deepEqual(
            (namespaceValues.values as { value: string; lines: number }[]).filter((v) => v.value.startsWith('seen-')).map(({ value, lines: count }) => [value, count]),
            [...pods].sort(([x], [y]) => (x < y ? -1 : 1)).map(([value, inIt]) => [value, [...inIt.values()].reduce((sum, p) => sum + p.lines, 0)]),
            at,
          );
        }
      });


      it('stores a batch whose key both replicas are sent at the same moment once; the other answers duplicate', async () => {
        const labels = { namespace: 'keys', pod: 'sender' };
        const winners: string[] = [];
        for (let wave = 0; wave < 4; wave++) {
          await Promise.all(
            Array.from({ length: 10 }, async (_, i) => {
              const key = `key-${wave}-${i}`;
              const batch = (via: string) => Array.from({ length: 5 }, (_, j) => ({ message: `${key}-via-${via} ${j}` }));
              const answers = await Promise.all([ingest(a, labels, batch('a'), key), ingest(b, labels, batch('b'), key)]);
              const stored = { accepted: 5, rejected: [], duplicate: false };
              const duplicate = { accepted: 0, rejected: [], duplicate: true };
              const bodies = answers.map((answer) => (answer.status === 200 ? answer.body : answer.status));
              assert.ok(
                JSON.stringify(bodies) === JSON.stringify([stored, duplicate]) || JSON.stringify(bodies) === JSON.stringify([duplicate, stored]),
                `${key}: ${JSON.stringify(bodies)}`,
              );
              winners.push(`${key}-via-${bodies[0].duplicate ? 'b' : 'a'}`);
            }),
          );
        }
        const page = await readOk(b, '/api/v1/logs', { namespace: 'keys', limit: '5000' });
        const perBatch = new Map<string, number>();
        for (const message of messagesOf(page)) perBatch.set(message.split(' ')[0], (perBatch.get(message.split(' ')[0]) ?? 0) + 1);
        assert.deepEqual(new Map([...perBatch].sort()), new Map(winners.sort().map((batch) => [batch, 5])));
      });

      it('pages on one replica with a cursor the other gave out, the key kept in the database', async () => {
        await pageAcross([a, b], 'paging');
      });

      it(`shows on a tail of one replica the lines ingested through both within ${TAIL_PROMISE_MS} ms, each once`, async () => {
        const tail = new TailClient(tailUrl(b, { namespace: 'tailed', limit: '0' }));
        const arrivals = await arrivalTimes(tail);
        const ackedAt = new Map<string, number>();
        try {
          // Three senders to each replica: transactions overlap, and commit out of the order they began in.
          await Promise.all(
            [a, a, a, b, b, b].map(async (replica, sender) => {
              for (let n = 0; n < 30; n++) {
                const messages = Array.from({ length: 5 }, (_, j) => `${replica.name}${sender}-${n}-${j}`);
                const answer = await ingest(replica, { namespace: 'tailed', pod: replica.name }, messages.map((message) => ({ message })));
                assert.equal(answer.status, 200);
                const at = performance.now();
                for (const message of messages) ackedAt.set(message, at);
              }
            }),
          );
          // A line shown twice would come before one committed after all of them.
          assert.equal((await ingest(a, { namespace: 'tailed', pod: 'a' }, [{ message: 'last' }])).status, 200);
          await until('the tail shows the last line', () => tail.lines.length > 0 && tailMessages(tail).includes('last'), 10_000);
          const shown = tailMessages(tail);
          assert.deepEqual(repeated(shown), []);
          assert.deepEqual(shown.filter((m) => m !== 'last').sort(), [...ackedAt.keys()].sort());
          const late = shown.map((message, i) => ({ message, ms: Math.round(arrivals[i] - (ackedAt.get(message) ?? arrivals[i])) })).filter(({ ms }) => ms > TAIL_PROMISE_MS);
          assert.deepEqual(late, []);
        } finally {
          tail.request.destroy();
        }
      });

      it('shows every line once, in order, on tails started on either replica while one ingests without pause', async () => {
        const labels = { namespace: 'streaming', pod: 'busy' };
        let acknowledged = 0;
        let running = true;
        const sender = (async () => {
          for (let n = 0; running; n++) {
            const answer = await ingest(a, labels, Array.from({ length: 10 }, (_, j) => ({ message: `line-${n * 10 + j}` })));
            assert.equal(answer.status, 200);
            acknowledged = n + 1;
          }
        })();
        const tails: { tail: TailClient; opened: number }[] = [];
        try {
          for (let i = 0; i < 6; i++) {
            await until(`${(i + 1) * 4} batches acknowledged`, () => acknowledged >= (i + 1) * 4, 30_000);
            // Fewer lines to begin with than a batch has: a line handed over late is older than all of them.
            const opened = acknowledged;
            const tail = new TailClient(tailUrl(i % 2 === 0 ? b : a, { namespace: 'streaming', limit: '5' }));
            assert.equal((await tail.opened()).statusCode, 200);
            // The answer's head is sent before the newest lines are read: only lines shown say when they were read.
            await until(`tail ${i} shows its newest lines`, () => tail.lines.length >= 5, 10_000);
            tails.push({ tail, opened });
          }
          const enough = acknowledged + 4;
          await until('four more batches after the last tail began', () => acknowledged >= enough, 30_000);
        } finally {
          running = false;
          await sender;
        }
        const lines = acknowledged * 10;
        try {
          for (const [i, { tail, opened }] of tails.entries()) {
            await until(`tail ${i} shows the last line`, () => tail.lines.length > 0 && tailMessages(tail).at(-1) === `line-${lines - 1}`, 10_000);
            const shown = tailMessages(tail);
            assert.deepEqual(repeated(shown), [], `tail ${i}`);
            // The newest lines when it read them, then every line after them as they were stored: none skipped, none twice, none out of order.
            const first = Number(shown[0].slice('line-'.length));
            assert.deepEqual(shown, Array.from({ length: lines - first }, (_, n) => `line-${first + n}`), `tail ${i}`);
            assert.ok(shown.length > 5 && first >= opened * 10 - 5, `tail ${i} shows lines ${first} to ${lines - 1}, begun after line ${opened * 10 - 1}`);
          }
        } finally {
          for (const { tail } of tails) tail.request.destroy();
        }
      });
    });

    describe('two replicas sharing DAYLOG_CURSOR_SECRET', { concurrency: 1 }, () => {
      let c: Replica;
      let d: Replica;
      let ownUrl: string;

      before(async () => {
        let url: string;
        ({ url, ownUrl } = await database(cluster, 'shared_secret'));
        [c, d] = await upReplicas.start(['c', 'd'], url, { DAYLOG_CURSOR_SECRET: 'a-secret-every-replica-of-this-test-shares' });
      });

      it('shows on one replica, which has read the namespace before, the lines of a label set and a partition the other has just made', async () => {
        // A reader begins a newest page on the label sets and partitions it knows while it asks for new ones: none may be left out.
        const namespace = 'known-before';
        const hour = Date.now() - (Date.now() % HOUR) - HOUR;
        const sent = ['first', 'second', 'third', 'fourth'].map((pod, i) => ({ pod, message: `${pod} pod's line`, ts: hour + i * 1_000 }));
        // The first pod again, in an hour no line was in: a partition older than every other, within the retention.
        sent.push({ pod: 'first', message: "first pod's line of long ago", ts: hour - 19 * HOUR });
        for (const [i, { pod, message, ts }] of sent.entries()) {
          const answer = await ingest(c, { namespace, pod }, [{ message, ts }]);
          assert.equal(answer.status, 200);
          const expected = sent.slice(0, i + 1).sort((x, y) => y.ts - x.ts).map((line) => line.message);
          for (const reader of [d, c]) assert.deepEqual(messagesOf(await readOk(reader, '/api/v1/logs', { namespace })), expected, `after ${message}, on ${reader.name}`);
        }
      });

      it('pages on one replica with a cursor the other gave out, sealed with the secret (no key kept in the database)', async () => {
        await pageAcross([c, d], 'paging');
        assert.equal(await inDatabase(ownUrl, async (db) => (await db.query('SELECT count(*)::int AS keys FROM cursor_key')).rows[0].keys), 0);
      });

      it('loses no acknowledged line and leaves no half batch when a replica is killed under load; what it did not acknowledge, resent to the other, is stored once', async () => {
        const load = new KeyedLoad([{ replica: c, senders: 8 }, { replica: d, senders: 2 }], 'killed', 1000, false);
        try {
          await until('c acknowledged 15 batches', () => load.answered(c, 200) >= 15, 30_000);
          c.run.child.kill('SIGKILL');
          assert.deepEqual(await c.run.exited, [null, 'SIGKILL']);
          const onD = load.answered(d, 200);
          await until('d acknowledged 5 more batches', () => load.answered(d, 200) >= onD + 5, 30_000);
        } finally {
          await load.stop();
        }
        const unanswered = load.batches.filter((batch) => batch.answer instanceof NoAnswer);
        assert.deepEqual(unanswered.map((batch) => batch.replica.name), Array(8).fill('c'), 'each sender to c had a batch in flight');
        assert.deepEqual(load.batches.filter((batch) => !(batch.answer instanceof NoAnswer) && batch.answer.status !== 200).map((batch) => batch.key), []);
        await checkBatches(load, ownUrl, () => d, { lostAnswers: false });
      });
    });

    describe('one pruner', () => {
      it('drops each expired partition once, on one replica of three started at once, and leaves none behind', async () => {
        const { url, ownUrl } = await database(cluster, 'pruning');
        const db = await connectTo(ownUrl);
        try {
          const oneMinute = { DAYLOG_PARTITION: '1m' };
          // Lines minutes old, through a replica that keeps an hour: eight partitions of a minute each, and the current one.
          const [seeder] = await upReplicas.start(['seeder'], url, { ...oneMinute, DAYLOG_RETENTION: '1h' });
          const minute = Date.now() - (Date.now() % MINUTE);
          const starts = Array.from({ length: 8 }, (_, i) => minute - (i + 3) * MINUTE);
          const lines = starts.flatMap((start) => Array.from({ length: 5 }, (_, j) => ({ message: `old ${j}`, ts: start + j * 1000 })));
          const seeded = await ingest(seeder, { namespace: 'old', pod: 'old' }, lines);
          assert.deepEqual([seeded.status, seeded.body.accepted], [200, lines.length]);
          await upReplicas.stop([seeder]);
          const names = starts.map((start) => partitionTable('logs', start));
          const live = async () => (await livePartitions(db)).map((p) => p.name);
          const seededLive = await live();
          assert.deepEqual(names.filter((name) => !seededLive.includes(name)), []);

          // A reader on the expired partitions, its transaction open: DETACH … CONCURRENTLY waits for it to end, so the
          // first replica to prune is still at it while every replica runs its prunes.
          const reader = await connectTo(ownUrl);
          await reader.query('BEGIN');
          for (const table of PARTITIONED_TABLES) await reader.query(`SELECT count(*) FROM ${table}`);
          // Now past the retention: every one of them expired as the replicas start, and each replica prunes at once, then every second.
          const pruners = await upReplicas.start(['pruner-1', 'pruner-2', 'pruner-3'], url, { ...oneMinute, DAYLOG_RETENTION: '1m', DAYLOG_PRUNE_INTERVAL: '1s' });
          const lastRun = async (replica: Replica) => (await metric(replica, 'daylog_prune_last_run_timestamp_seconds')) * 1000;
          try {
            const started = Date.now();
            await until('every replica finished a prune while one is held up', async () => (await Promise.all(pruners.map(lastRun))).every((ms) => ms > started), 30_000);
            assert.deepEqual(names.filter((name) => !seededLive.includes(name)), []);
          } finally {
            await reader.query('COMMIT');
            await reader.end();
          }
          await until('the expired partitions are dropped', async () => (await live()).every((name) => !names.includes(name)), 30_000);
          // Each replica has finished a run begun since: a second drop of one of them would have been logged by now.
          const dropped = Date.now();
          await until('each pruner ran again', async () => (await Promise.all(pruners.map(lastRun))).every((ms) => ms > dropped + 1500), 30_000);

          const drops = pruners.flatMap((replica) =>
            replica.run
              .logEntries()
              .filter((entry) => entry.message === 'dropped partitions past the retention')
              .map((entry) => ({ replica: replica.name, partitions: entry.partitions as string[], lines: entry.lines as number })),
          );
          const droppedNames = drops.flatMap((drop) => drop.partitions);
          const failures = pruners.flatMap((replica) => replica.run.logEntries().filter((entry) => entry.context === 'Retention' && ['warn', 'error', 'fatal'].includes(entry.level as string)));
          assert.deepEqual(failures, []);
          assert.deepEqual(repeated(droppedNames), [], JSON.stringify(drops));
          assert.deepEqual(names.filter((name) => !droppedNames.includes(name)), []);
          assert.equal(drops.reduce((sum, drop) => sum + drop.lines, 0), lines.length, JSON.stringify(drops));
          const counted = async (name: string) => (await Promise.all(pruners.map((replica) => metric(replica, name)))).reduce((x, y) => x + y, 0);
          assert.deepEqual([await counted('daylog_pruned_partitions_total'), await counted('daylog_pruned_lines_total')], [droppedNames.length, lines.length]);
          const tables = PARTITIONED_TABLES.flatMap((table) => starts.map((start) => partitionTable(table, start)));
          assert.deepEqual((await db.query('SELECT relname FROM pg_class WHERE relname = ANY($1)', [tables])).rows, []);
          assert.deepEqual((await db.query('SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhdetachpending')).rows, []);
        } finally {
          await db.end();
        }
      });
    });
  });

  describe('with the database stopped, restarted and frozen under them', { concurrency: 1 }, () => {
    let cluster: PostgresCluster;
    let ownUrl: string;
    let f1: Replica;
    let f2: Replica;
    const other = (batch: SentBatch) => (batch.replica === f1 ? f2 : f1);

    before(async () => {
      cluster = await startCluster();
      let url: string;
      ({ url, ownUrl } = await database(cluster, 'faults'));
      [f1, f2] = await faultReplicas.start(['f1', 'f2'], url, { DAYLOG_QUERY_TIMEOUT: `${QUERY_TIMEOUT_MS}ms` });
    });
    after(async () => {
      await faultReplicas.stop(faultReplicas.started);
      await cluster?.stop();
    });

    /** Each request answered 200, or 503 with Retry-After and the reason, none later than a statement's time-out. */
    function checkAnswers(load: KeyedLoad): void {
      const answers = [...load.batches.map((b) => ({ what: `POST ${b.key}`, answer: b.answer })), ...load.reads.map((r, i) => ({ what: `GET ${i} on ${r.replica.name}`, answer: r.answer }))];
      const wrong = answers.filter(({ answer }) => {
        if (answer instanceof NoAnswer) return true;
        if (answer.ms > LONGEST_REQUEST_MS) return true;
        if (answer.status === 200) return false;
        return answer.status !== 503 || answer.retryAfter !== '5' || JSON.stringify(answer.body) !== JSON.stringify(UNREACHABLE);
      });
      assert.deepEqual(
        wrong.map(({ what, answer }) => (answer instanceof NoAnswer ? `${what}: ${answer.message}` : `${what}: ${answer.status} in ${Math.round(answer.ms)} ms, ${JSON.stringify(answer.body)}`)),
        [],
      );
    }

    /** Waits until the load has had batches and reads refused on both replicas since `since`. */
    async function refusedOnBoth(load: KeyedLoad, since: number): Promise<void> {
      await until('batches and reads refused on both replicas', () => [f1, f2].every((r) => load.answered(r, 503, since) > 0 && load.readsAnswered(r, 503, since) > 0), 20_000);
    }

    /** Waits at most 30 s from `since` (the database back) for /readyz, batches and reads to be taken again on both. */
    async function takenAgain(load: KeyedLoad, since: number): Promise<void> {
      await until(
        'ready, batches and reads taken on both replicas again',
        async () => {
          const ready = await Promise.all([f1, f2].map(async (r) => (await read(r, '/readyz')).status === 200));
          return ready.every(Boolean) && [f1, f2].every((r) => load.answered(r, 200, since) > 0 && load.readsAnswered(r, 200, since) > 0);
        },
        Math.max(since + 30_000 - Date.now(), 0),
      );
    }

    async function readyzRefused(): Promise<void> {
      await Promise.all([f1, f2].map((r) => until(`/readyz 503 on ${r.name}`, async () => (await read(r, '/readyz')).status === 503, 10_000)));
    }

    for (const immediate of [false, true]) {
      it(`answers 503 while the database is ${immediate ? 'stopped at once (as in a crash)' : 'shut down'} and restarted, /readyz within 10 s, and takes everything again within 30 s of its return`, async () => {
        const load = new KeyedLoad([{ replica: f1, senders: 2 }, { replica: f2, senders: 2 }], immediate ? 'crashed' : 'restarted', 50, true);
        try {
          await until('batches taken on both replicas', () => [f1, f2].every((r) => load.answered(r, 200) > 2), 30_000);
          await cluster.restart({
            immediate,
            whileDown: async () => {
              const down = Date.now();
              await readyzRefused();
              await refusedOnBoth(load, down);
            },
          });
          await takenAgain(load, Date.now());
        } finally {
          await load.stop();
        }
        checkAnswers(load);
        await checkBatches(load, ownUrl, other, { lostAnswers: true });
      });
    }

    it('never applies a COMMIT a silent connection held until its batch was answered 503, and stores the resend', async () => {
      const network = await SilentNetwork.to(cluster.port);
      const url = cluster.tcpUrl('faults').replace(`:${cluster.port}/`, `:${network.port}/`);
      const [f3] = await faultReplicas.start(['f3'], url, { DAYLOG_QUERY_TIMEOUT: `${QUERY_TIMEOUT_MS}ms` });
      const load = new KeyedLoad([{ replica: f3, senders: 4 }], 'held', 50, false);
      try {
        await until('batches taken', () => load.answered(f3, 200) > 5, 30_000);
        await network.silenceAtNextCommit();
        const silenced = Date.now();
        // The batch whose COMMIT is held among them: its answer cannot come before its connection speaks again.
        await until('every batch sent before the silence answered', () => load.answeredAllSentBefore(silenced), 20_000);
        assert.ok(load.batches.some((batch) => batch.sentAt < silenced && !(batch.answer instanceof NoAnswer) && batch.answer.status === 503));
        network.restore();
        const restored = Date.now();
        await until('batches taken again', () => load.answered(f3, 200, restored) > 0, 30_000);
      } finally {
        await load.stop();
        await faultReplicas.stop([f3]);
        await network.close();
      }
      checkAnswers(load);
      await checkBatches(load, ownUrl, () => f1, { lostAnswers: false });
    });

    it('answers 503 while the database server is silent, none past the time-out, and takes everything again; a batch refused, resent under its key, is stored once', async () => {
      // More senders than a replica has write connections: some batches wait for one when the database goes silent.
      const load = new KeyedLoad([{ replica: f1, senders: 10 }, { replica: f2, senders: 10 }], 'frozen', 50, true);
      try {
        await until('batches taken on both replicas', () => [f1, f2].every((r) => load.answered(r, 200) > 5), 30_000);
        await cluster.whileFrozen(async () => {
          const frozen = Date.now();
          await readyzRefused();
          await refusedOnBoth(load, frozen);
          await until('every batch sent before the silence answered', () => load.answeredAllSentBefore(frozen), 20_000);
        });
        await takenAgain(load, Date.now());
      } finally {
        await load.stop();
      }
      checkAnswers(load);
      await checkBatches(load, ownUrl, other, { lostAnswers: true });
    });
  });
});

it('shows the database password in no output of any replica, ever', () => {
  const replicas = [...upReplicas.started, ...faultReplicas.started];
  assert.equal(replicas.length, 11);
  for (const { name, run } of replicas) {
    const { stdout, stderr } = run.output();
    // The check reads what each wrote: every one named its database, the password as ***.
    assert.match(stdout, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//, `${name} never named its database`);
    for (const password of passwords) assert.ok(!`${stdout}${stderr}`.includes(password), `${name} printed a password`);
  }
});
