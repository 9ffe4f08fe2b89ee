import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { LabelSet, StoredLogLine } from '@daylog/storage';
import { CommittedLinesOptions, PgCommittedLines, PgDatabase, ensurePartition, migratePostgres, storedMessage } from '@daylog/storage-postgres';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';

const HOUR = 3_600_000;
const PATIENCE_MS = 30_000;
const FOLLOWER = 'daylog-tail-test';
/** What a tail across replicas promises (issue 15): another replica's lines within 2 s. */
const TAIL_PROMISE_MS = 2_000;

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${PATIENCE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface WrittenLine {
  ts: number;
  severity?: number;
  labels?: LabelSet;
  message: string;
  fields?: string | null;
  format?: number | null;
}

const WEB: LabelSet = { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'stdout' };

/**
 * Begins an ingest transaction and writes what the schema says the writer does (migrations/postgres/001_schema.sql):
 * label sets looked up or added, the lines under a commit id, and the commit's row in ingest_commits. The caller
 * commits or rolls back; returns the commit's id and each line's id.
 */
async function beginCommit(client: Client, lines: WrittenLine[]): Promise<{ id: number; lineIds: number[] }> {
  await client.query('BEGIN');
  const { rows: [{ id }] } = await client.query<{ id: number }>("SELECT nextval('commit_ids')::int AS id");
  const lineIds: number[] = [];
  for (const line of lines) {
    const { namespace, pod, container, source } = line.labels ?? WEB;
    const labels = [namespace ?? '', pod, container ?? '', source ?? ''];
    await client.query('INSERT INTO streams (namespace, pod, container, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', labels);
    const { rows: [stream] } = await client.query<{ id: number }>('SELECT id FROM streams WHERE (namespace, pod, container, source) = ($1, $2, $3, $4)', labels);
    const { message, messageWithNul } = storedMessage(line.message);
    const { rows: [written] } = await client.query<{ id: string }>(
      `INSERT INTO logs (ts, commit_id, stream_id, level, format, message, fields, message_with_nul)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [line.ts, id, stream.id, line.severity ?? 2, line.format ?? null, message, line.fields ?? null, messageWithNul],
    );
    lineIds.push(Number(written.id));
  }
  const times = lines.map((line) => line.ts);
  await client.query('INSERT INTO ingest_commits (committed_ms, id, min_ts, max_ts, lines) VALUES ($1, $2, $3, $4, $5)', [
    Date.now(),
    id,
    Math.min(...times),
    Math.max(...times),
    lines.length,
  ]);
  return { id, lineIds };
}

async function commit(client: Client, lines: WrittenLine[]): Promise<number[]> {
  const { lineIds } = await beginCommit(client, lines);
  await client.query('COMMIT');
  return lineIds;
}

/** A follower of the database at `url`, and what it handed over. */
class Follower {
  readonly db: PgDatabase;
  readonly lines: PgCommittedLines;
  readonly batches: StoredLogLine[][] = [];
  readonly failures: unknown[] = [];
  readonly arrivals: number[] = [];
  wanted = true;

  constructor(url: string, options: Partial<CommittedLinesOptions> = {}) {
    this.db = new PgDatabase({ url, maxConnections: 3, statementTimeoutMs: 10_000, applicationName: FOLLOWER });
    this.lines = new PgCommittedLines(this.db, options);
  }

  follow(): void {
    this.lines.follow({
      publish: (lines) => {
        this.batches.push([...lines]);
        this.arrivals.push(performance.now());
      },
      wanted: () => this.wanted,
      failed: (error) => this.failures.push(error),
    });
  }

  messages(): string[][] {
    return this.batches.map((batch) => batch.map((line) => line.message));
  }

  async close(): Promise<void> {
    await this.lines.stop();
    await this.db.close();
  }
}

/** Resolves once the follower has begun two reads after this call: the first has then been handed over in full. */
async function followerLookedAgain(watcher: Client): Promise<void> {
  const started = async () => {
    const { rows } = await watcher.query<{ at: Date | null }>('SELECT max(query_start) AS at FROM pg_stat_activity WHERE application_name = $1', [FOLLOWER]);
    return rows[0].at?.getTime() ?? 0;
  };
  const { rows: [{ now }] } = await watcher.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  let since = now.getTime();
  for (let reads = 0; reads < 2; reads++) {
    await until(async () => (await started()) > since, 'read again');
    since = await started();
  }
}

/** A line as a tail is given it. */
function expected(line: WrittenLine, id: number, partitionStart: number, level: StoredLogLine['level'], fields: StoredLogLine['fields'] = null): StoredLogLine {
  const format = line.format === 1 ? 'nginx-access' : null;
  return { ts: line.ts, level, ...(line.labels ?? WEB), message: line.message, fields, format, position: { ts: line.ts, partitionStart, id } };
}

describe('PostgreSQL committed lines (what live tails show across replicas)', () => {
  let cluster: PostgresCluster;
  const hour = Date.now() - (Date.now() % HOUR);
  const now = hour + ((Date.now() - hour) >> 1);

  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.stop());

  /** A database with the schema and partitions for this hour and the one before; its writer's connection. */
  async function database(name: string): Promise<{ url: string; writer: Client }> {
    const url = await cluster.createDatabase(name);
    const writer = await connectTo(url);
    await migratePostgres(writer);
    await ensurePartition(writer, HOUR, hour - HOUR);
    await ensurePartition(writer, HOUR, hour);
    return { url, writer };
  }

  it('hands over each commit once, in order, from when following began, its lines as a query gives them', async () => {
    const { url, writer } = await database('in_order');
    // Small reads, so that commits are read in several slices and several reads.
    const follower = new Follower(url, { pollMs: 20, commitsPerRead: 2, linesPerRead: 3 });
    try {
      await commit(writer, [{ ts: now, message: 'before following' }]);
      follower.follow();
      await follower.lines.caughtUp();
      const plain: WrittenLine[] = [
        { ts: now, message: 'GET /cart' },
        { ts: now + 1, severity: 4, message: 'payment failed', fields: '{"order":"A-17","retry":true}' },
      ];
      const bare: WrittenLine = { ts: now + 2, labels: { namespace: null, pod: 'batch', container: null, source: null }, message: 'nul\u0000inside' };
      const access: WrittenLine = {
        ts: now + 3,
        format: 1,
        message: '10.0.0.7 - - [24/Nov/2026:10:00:00 +0000] "GET /health HTTP/1.1" 503 12 "-" "probe"',
        severity: 4,
      };
      const acrossHours: WrittenLine[] = [{ ts: hour - 5, message: 'late, last hour' }, { ts: now + 4, message: 'this hour' }];
      const big: WrittenLine[] = Array.from({ length: 5 }, (_, i) => ({ ts: now + 10 + i, message: `big ${i}` }));
      const ids = [
        await commit(writer, plain),
        await commit(writer, [bare]),
        await commit(writer, [access]),
        await commit(writer, acrossHours),
        await commit(writer, big),
        await commit(writer, [{ ts: now + 20, message: 'last' }]),
      ];
      await follower.lines.caughtUp();
      assert.deepEqual(follower.batches, [
        [expected(plain[0], ids[0][0], hour, 'info'), expected(plain[1], ids[0][1], hour, 'error', { order: 'A-17', retry: true })],
        [expected(bare, ids[1][0], hour, 'info')],
        [
          expected(access, ids[2][0], hour, 'error', {
            remote_addr: '10.0.0.7', status: 503, method: 'GET', path: '/health', protocol: 'HTTP/1.1', bytes: 12, user_agent: 'probe',
          }),
        ],
        [expected(acrossHours[0], ids[3][0], hour - HOUR, 'info'), expected(acrossHours[1], ids[3][1], hour, 'info')],
        big.map((line, i) => expected(line, ids[4][i], hour, 'info')),
        [expected({ ts: now + 20, message: 'last' }, ids[5][0], hour, 'info')],
      ]);
      assert.deepEqual(follower.failures, []);
    } finally {
      await follower.close();
      await writer.end();
    }
  });

  it('hands over a commit whose transaction began first before one that committed earlier, once it commits', async () => {
    const { url, writer } = await database('out_of_order');
    const later = await connectTo(url);
    const follower = new Follower(url, { pollMs: 20 });
    try {
      follower.follow();
      await follower.lines.caughtUp();
      // `writer` takes the smaller xid and holds it open while `later` commits a bigger one.
      await beginCommit(writer, [{ ts: now, message: 'began first, commits last' }]);
      const { rows: [open] } = await writer.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      // Another label set: the same one would wait on the open transaction's insert of it.
      await commit(later, [{ ts: now + 1, labels: { ...WEB, pod: 'web-2' }, message: 'began second, commits first' }]);
      const { rows: [committed] } = await later.query<{ xid: string }>('SELECT xid::text FROM ingest_commits');
      assert.ok(BigInt(open.xid) < BigInt(committed.xid), 'the open transaction has the smaller xid');
      let caughtUp = false;
      const catchingUp = follower.lines.caughtUp().then(() => (caughtUp = true));
      await followerLookedAgain(later);
      assert.deepEqual(follower.messages(), [], 'nothing while a smaller xid may still commit');
      assert.equal(caughtUp, false, 'not caught up while a transaction that began before is open');
      await writer.query('COMMIT');
      await catchingUp;
      assert.deepEqual(follower.messages(), [['began first, commits last'], ['began second, commits first']]);
    } finally {
      await follower.close();
      await later.end();
      await writer.end();
    }
  });

  it('hands over nothing of a transaction rolled back', async () => {
    const { url, writer } = await database('rolled_back');
    const follower = new Follower(url, { pollMs: 20 });
    try {
      follower.follow();
      await follower.lines.caughtUp();
      await beginCommit(writer, [{ ts: now, message: 'rolled back' }]);
      await writer.query('ROLLBACK');
      await commit(writer, [{ ts: now, message: 'kept' }]);
      await follower.lines.caughtUp();
      assert.deepEqual(follower.messages(), [['kept']]);
    } finally {
      await follower.close();
      await writer.end();
    }
  });

  it('passes over what is committed while no lines are wanted (no tail open), and hands over what comes after', async () => {
    const { url, writer } = await database('unwanted');
    const follower = new Follower(url, { pollMs: 20 });
    try {
      follower.wanted = false;
      follower.follow();
      await commit(writer, [{ ts: now, message: 'nobody tails' }]);
      await follower.lines.caughtUp();
      follower.wanted = true;
      await commit(writer, [{ ts: now, message: 'a tail is open' }]);
      await follower.lines.caughtUp();
      assert.deepEqual(follower.messages(), [['a tail is open']]);
    } finally {
      await follower.close();
      await writer.end();
    }
  });

  it('goes on from where it was when the database restarts under it: no commit lost or handed over twice', async () => {
    const { url, writer: first } = await database('restarted');
    await first.end();
    const follower = new Follower(url, { pollMs: 20, retryMs: 100, commitsPerRead: 5, linesPerRead: 8 });
    const acknowledged: string[] = [];
    let restarted = false;
    /** Commits of one to three lines, one after another, through the restart (a commit in flight may be lost, or not). */
    const write = async () => {
      let writer: Client | null = null;
      for (let n = 0; !restarted || acknowledged.length < 60; n++) {
        try {
          if (!writer) {
            writer = await connectTo(url);
            // A connection the server ends tells it here too, besides failing the next query.
            writer.on('error', () => undefined);
          }
          const lines = Array.from({ length: 1 + (n % 3) }, (_, i) => ({ ts: now + n, message: `commit ${n} line ${i}` }));
          await commit(writer, lines);
          acknowledged.push(...lines.map((line) => line.message));
        } catch {
          await writer?.end().catch(() => undefined);
          writer = null;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await writer?.end();
    };
    let writing = Promise.resolve();
    try {
      follower.follow();
      await follower.lines.caughtUp();
      writing = write();
      await until(() => follower.batches.length >= 10, 'following');
      await cluster.restart({ immediate: true });
      restarted = true;
      await writing;
      await follower.lines.caughtUp();
      const watcher = await connectTo(url);
      const { rows } = await watcher.query<{ message: string }>(
        'SELECT l.message FROM ingest_commits c JOIN logs l ON l.commit_id = c.id ORDER BY c.xid, c.id, l.id',
      );
      await watcher.end();
      const stored = rows.map((row) => row.message);
      assert.deepEqual(follower.batches.flat().map((line) => line.message), stored, 'every stored line once, in commit order');
      assert.deepEqual(acknowledged.filter((message) => !stored.includes(message)), [], 'every acknowledged commit is stored');
      assert.ok(follower.failures.length >= 1, 'the follower met the restart');
    } finally {
      restarted = true;
      await writing.catch(() => undefined);
      await follower.close();
    }
  });

  it(`hands over another writer's commit well within ${TAIL_PROMISE_MS} ms, polling as it does in service`, async (t) => {
    const { url, writer } = await database('latency');
    const follower = new Follower(url);
    try {
      follower.follow();
      await follower.lines.caughtUp();
      const delays: number[] = [];
      for (let n = 0; n < 20; n++) {
        // Commits at any moment of the poll's period.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
        await commit(writer, [{ ts: now, message: `sample ${n}` }]);
        const committedAt = performance.now();
        await until(() => follower.batches.length > n, 'handed over');
        delays.push(follower.arrivals[n] - committedAt);
      }
      delays.sort((a, b) => a - b);
      t.diagnostic(`commit to hand-over: median ${Math.round(delays[10])} ms, max ${Math.round(delays[19])} ms over 20 commits`);
      assert.ok(delays[19] < TAIL_PROMISE_MS / 2, `the slowest took ${Math.round(delays[19])} ms`);
    } finally {
      await follower.close();
      await writer.end();
    }
  });
});
