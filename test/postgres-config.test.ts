import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@daylog/config';
import { CursorCodec } from '@daylog/storage';
import { exitWithin, runAggregator } from './support/aggregator-process';
import { PostgresCluster, startPostgres } from './support/postgres-cluster';
import { until } from './support/shipper-harness';
import { ingestLines, queryJson, startTestApp, tempDataDir } from './support/test-app';

const PASSWORD = 'Pa55-never-shown-7f3c';
const HINT = 'expected a libpq URL such as postgres://user:password@host:5432/database, or postgres://user@/database?host=/run/postgresql for a Unix socket';
const SECRET = 'a-cursor-secret-shared-by-every-replica';

/** The ConfigError loading `env` throws: its one line, checked to hold no password. */
function refusal(env: Record<string, string>, password = PASSWORD): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(!error.message.includes(password), `the password is shown: ${error.message}`);
    assert.ok(!error.message.includes('\n'), error.message);
    return error.message;
  }
  assert.fail(`${JSON.stringify(env)} was accepted`);
}

describe('choosing PostgreSQL: DAYLOG_POSTGRES_URL', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'daylog-pg-config-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('chooses PostgreSQL when set, from the variable or from a file as a Secret is mounted; SQLite when unset or empty', () => {
    const url = `postgres://daylog:${PASSWORD}@db.internal:5432/daylog`;
    assert.deepEqual(loadConfig({ DAYLOG_POSTGRES_URL: url }).postgres, {
      url,
      shownUrl: 'postgres://daylog:***@db.internal:5432/daylog',
      variable: 'DAYLOG_POSTGRES_URL',
      connectTimeoutMs: 60_000,
    });
    const file = join(scratch, 'postgres-url');
    writeFileSync(file, `${url}\n`);
    assert.deepEqual(loadConfig({ DAYLOG_POSTGRES_URL_FILE: file, DAYLOG_POSTGRES_CONNECT_TIMEOUT: '5s' }).postgres, {
      url,
      shownUrl: 'postgres://daylog:***@db.internal:5432/daylog',
      variable: 'DAYLOG_POSTGRES_URL_FILE',
      connectTimeoutMs: 5000,
    });
    assert.equal(loadConfig({}).postgres, null);
    assert.equal(loadConfig({ DAYLOG_POSTGRES_URL: '' }).postgres, null);
  });

  it('takes the URLs libpq takes: postgresql://, a Unix socket by ?host=, no password, an IPv6 host, %-escapes', () => {
    for (const [url, shown] of [
      ['postgresql://daylog@/daylog?host=/run/postgresql', 'postgresql://daylog@/daylog?host=/run/postgresql'],
      [`postgres://daylog:${PASSWORD}@/daylog?host=/var/run/postgresql&port=5433`, 'postgres://daylog:***@/daylog?host=/var/run/postgresql&port=5433'],
      ['postgres:///daylog?host=/tmp', 'postgres:///daylog?host=/tmp'],
      ['postgres://db/daylog', 'postgres://db/daylog'],
      [`postgres://daylog:${PASSWORD}@[::1]:5432/daylog`, 'postgres://daylog:***@[::1]:5432/daylog'],
      [`postgres://daylog:${PASSWORD}%40%2F@db/daylog`, 'postgres://daylog:***@db/daylog'],
      [`postgres://daylog@db/daylog?password=${PASSWORD}&sslmode=disable`, 'postgres://daylog@db/daylog?password=***&sslmode=disable'],
      [`postgres://daylog@db/daylog?sslmode=verify-full&sslpassword=${PASSWORD}`, 'postgres://daylog@db/daylog?sslmode=verify-full&sslpassword=***'],
    ]) {
      assert.equal(loadConfig({ DAYLOG_POSTGRES_URL: url }).postgres?.shownUrl, shown, url);
    }
  });

  it('refuses a malformed URL in one line naming the variable and what is wrong, never showing the password', () => {
    const cases: [Record<string, string>, string][] = [
      [
        { DAYLOG_POSTGRES_URL: `mysql://daylog:${PASSWORD}@db:3306/daylog` },
        `DAYLOG_POSTGRES_URL="mysql://daylog:***@db:3306/daylog" is not valid: the URL does not start with postgres:// or postgresql://; ${HINT}`,
      ],
      [{ DAYLOG_POSTGRES_URL: 'db.internal:5432' }, `DAYLOG_POSTGRES_URL="db.internal:5432" is not valid: the URL does not start with postgres:// or postgresql://; ${HINT}`],
      [
        { DAYLOG_POSTGRES_URL: `postgres://daylog:${PASSWORD}@db:99999/daylog` },
        `DAYLOG_POSTGRES_URL="postgres://…" is not valid: the URL cannot be read (is the port a number from 1 to 65535? are @ : / ? # in the user name or password written %40 %3A %2F %3F %23?); ${HINT}`,
      ],
      // The host forgotten: the password reads as a port, and a URL that cannot be read shows nothing after its scheme.
      [
        { DAYLOG_POSTGRES_URL: `postgresql://daylog:${PASSWORD}` },
        `DAYLOG_POSTGRES_URL="postgresql://…" is not valid: the URL cannot be read (is the port a number from 1 to 65535? are @ : / ? # in the user name or password written %40 %3A %2F %3F %23?); ${HINT}`,
      ],
      [
        { DAYLOG_POSTGRES_URL: `postgres://daylog:${PASSWORD}/x@db/daylog` },
        `DAYLOG_POSTGRES_URL="postgres://…" is not valid: the URL cannot be read (is the port a number from 1 to 65535? are @ : / ? # in the user name or password written %40 %3A %2F %3F %23?); ${HINT}`,
      ],
      [
        { DAYLOG_POSTGRES_URL: `postgres://daylog:${PASSWORD}%E0@db/daylog` },
        `DAYLOG_POSTGRES_URL="postgres://daylog:***@db/daylog" is not valid: the URL has a % that does not start a %-escape of UTF-8 (write % itself as %25); ${HINT}`,
      ],
      [
        { DAYLOG_POSTGRES_URL: `postgres://daylog@db/daylog?password=${PASSWORD}&port=fast` },
        `DAYLOG_POSTGRES_URL="postgres://daylog@db/daylog?password=***&port=fast" is not valid: the URL has a port= parameter that is not a port from 1 to 65535; ${HINT}`,
      ],
      [
        { DAYLOG_POSTGRES_URL: `postgres://daylog:${PASSWORD}@db/daylog`, DAYLOG_POSTGRES_URL_FILE: '/run/secrets/url' },
        'DAYLOG_POSTGRES_URL="<set>" is not valid: set DAYLOG_POSTGRES_URL or DAYLOG_POSTGRES_URL_FILE, not both',
      ],
      [{ DAYLOG_POSTGRES_URL_FILE: '/nonexistent/postgres-url' }, 'DAYLOG_POSTGRES_URL_FILE="/nonexistent/postgres-url" is not valid: cannot be read (ENOENT)'],
    ];
    for (const [env, line] of cases) assert.equal(refusal(env), line);

    const wrong = join(scratch, 'wrong-url');
    writeFileSync(wrong, `mysql://daylog:${PASSWORD}@db/daylog\n`);
    assert.equal(
      refusal({ DAYLOG_POSTGRES_URL_FILE: wrong }),
      `DAYLOG_POSTGRES_URL_FILE="${wrong}" is not valid: the URL in it (mysql://daylog:***@db/daylog) does not start with postgres:// or postgresql://; ${HINT}`,
    );
    const empty = join(scratch, 'empty-url');
    writeFileSync(empty, '\n');
    assert.equal(refusal({ DAYLOG_POSTGRES_URL_FILE: empty }), `DAYLOG_POSTGRES_URL_FILE="${empty}" is not valid: the file is empty; ${HINT}`);
  });

  it('stops the process with that one line and nothing else', async () => {
    const run = runAggregator({ DAYLOG_POSTGRES_URL: `mysql://daylog:${PASSWORD}@db/daylog`, DAYLOG_PORT: '0' });
    const [code] = await exitWithin(run, 15_000);
    assert.equal(code, 1);
    assert.deepEqual(run.output(), {
      stdout: '',
      stderr: `DAYLOG_POSTGRES_URL="mysql://daylog:***@db/daylog" is not valid: the URL does not start with postgres:// or postgresql://; ${HINT}\n`,
    });
  });

  it("ignores SQLite's settings when PostgreSQL is chosen, whatever their values: never an error", () => {
    const env = { DAYLOG_DATA_DIR: '/proc/version/data', DAYLOG_SYNCHRONOUS: 'sometimes', DAYLOG_MAX_DISK: 'lots' };
    const config = loadConfig({ ...env, DAYLOG_POSTGRES_URL: 'postgres://daylog@db/daylog' });
    assert.deepEqual(config.ignoredSettings, ['DAYLOG_DATA_DIR', 'DAYLOG_SYNCHRONOUS', 'DAYLOG_MAX_DISK']);
    assert.deepEqual([config.synchronous, config.maxDiskBytes], ['full', null]);
    assert.deepEqual(loadConfig({ DAYLOG_POSTGRES_URL: 'postgres://daylog@db/daylog' }).ignoredSettings, []);
    assert.match(refusal({ DAYLOG_SYNCHRONOUS: 'sometimes' }), /^DAYLOG_SYNCHRONOUS="sometimes" is not valid/);
  });

  it('waits at most DAYLOG_POSTGRES_CONNECT_TIMEOUT for the database at boot: from 1s to 60s', () => {
    assert.equal(loadConfig({ DAYLOG_POSTGRES_URL: 'postgres://db/daylog', DAYLOG_POSTGRES_CONNECT_TIMEOUT: '1s' }).postgres?.connectTimeoutMs, 1000);
    for (const value of ['500ms', '2m']) {
      assert.equal(refusal({ DAYLOG_POSTGRES_CONNECT_TIMEOUT: value }), `DAYLOG_POSTGRES_CONNECT_TIMEOUT="${value}" is not valid: expected a duration from 1s to 60s`);
    }
    assert.equal(
      refusal({ DAYLOG_POSTGRES_CONNECT_TIMEOUT: 'soon' }),
      'DAYLOG_POSTGRES_CONNECT_TIMEOUT="soon" is not valid: expected a positive duration such as 90s, 15m, 2h or 1d',
    );
  });
});

describe('DAYLOG_CURSOR_SECRET', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'daylog-cursor-secret-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is at least 32 characters, from the variable or a file, and is never repeated in a refusal', () => {
    assert.deepEqual(loadConfig({ DAYLOG_CURSOR_SECRET: SECRET }).cursorSecret, Buffer.from(SECRET));
    const file = join(scratch, 'secret');
    writeFileSync(file, `${SECRET}\n`);
    assert.deepEqual(loadConfig({ DAYLOG_CURSOR_SECRET_FILE: file }).cursorSecret, Buffer.from(SECRET));
    assert.equal(loadConfig({}).cursorSecret, null);

    const short = 'only-twenty-chars-xy';
    assert.equal(
      refusal({ DAYLOG_CURSOR_SECRET: short }, short),
      'DAYLOG_CURSOR_SECRET="<secret>" is not valid: expected a secret of at least 32 characters, the same on every replica (this one has 20), e.g. from openssl rand -base64 32',
    );
    writeFileSync(file, `${short}\n`);
    assert.equal(
      refusal({ DAYLOG_CURSOR_SECRET_FILE: file }, short),
      `DAYLOG_CURSOR_SECRET_FILE="${file}" is not valid: expected a secret of at least 32 characters, the same on every replica (this one has 20), e.g. from openssl rand -base64 32`,
    );
    assert.equal(
      refusal({ DAYLOG_CURSOR_SECRET: SECRET, DAYLOG_CURSOR_SECRET_FILE: file }, SECRET),
      'DAYLOG_CURSOR_SECRET="<set>" is not valid: set DAYLOG_CURSOR_SECRET or DAYLOG_CURSOR_SECRET_FILE, not both',
    );
  });

  it("lets a cursor from one server page on another with the same secret, on SQLite too, where each data dir has its own key", async () => {
    const lines = ['first', 'second', 'third'].map((message, i) => ({ message, ts: `2026-11-24T09:0${i}:00Z` }));
    const [a, b, own] = await Promise.all([
      startTestApp({ env: { DAYLOG_CURSOR_SECRET: SECRET } }),
      startTestApp({ env: { DAYLOG_CURSOR_SECRET: SECRET } }),
      startTestApp(),
    ]);
    try {
      for (const t of [a, b, own]) await ingestLines(t.http, lines);
      const first = await queryJson(a.http, { direction: 'forward', limit: '1' });
      assert.deepEqual(first.lines.map((line) => line.message), ['first']);
      const cursor = first.nextCursor!;
      const next = await queryJson(b.http, { direction: 'forward', limit: '1', cursor });
      assert.deepEqual(next.lines.map((line) => line.message), ['second']);
      const refused = await own.http.get('/api/v1/logs').query({ format: 'json', direction: 'forward', limit: '1', cursor });
      assert.equal(refused.status, 400);
      assert.match(refused.body.error, /cursor is not one this server gave out/);
    } finally {
      await Promise.all([a.close(), b.close(), own.close()]);
    }
  });
});

describe('PostgreSQL at boot and while it is down', () => {
  let cluster: PostgresCluster;
  const scratch = tempDataDir();

  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const password = () => new URL(cluster.tcpUrl()).password;
  const shownTcpUrl = (database: string) => `postgres://postgres:***@127.0.0.1:${cluster.port}/${database}`;
  const processEnv = { DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' };

  it("boots on PostgreSQL, SQLite's settings named as ignored in one line, no data dir made, the password in no output", async () => {
    await cluster.createDatabase('boots');
    const dataDir = join(scratch, 'never-made');
    const run = runAggregator({
      ...processEnv,
      DAYLOG_POSTGRES_URL: cluster.tcpUrl('boots'),
      DAYLOG_DATA_DIR: dataDir,
      DAYLOG_SYNCHRONOUS: 'sometimes',
      DAYLOG_MAX_DISK: 'lots',
    });
    try {
      const url = await run.listening();
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      run.child.kill('SIGTERM');
      assert.deepEqual(await exitWithin(run, 10_000), [0, null]);
      const ours = run.logEntries().filter((entry) => entry.context === 'Daylog');
      assert.deepEqual(
        ours.filter((entry) => JSON.stringify(entry).includes('DAYLOG_DATA_DIR')).map(({ level, message, ignored }) => ({ level, message, ignored })),
        [
          {
            level: 'warn',
            message: "ignored, as SQLite's settings while DAYLOG_POSTGRES_URL chooses PostgreSQL: DAYLOG_DATA_DIR, DAYLOG_SYNCHRONOUS, DAYLOG_MAX_DISK",
            ignored: ['DAYLOG_DATA_DIR', 'DAYLOG_SYNCHRONOUS', 'DAYLOG_MAX_DISK'],
          },
        ],
      );
      const listening = ours.find((entry) => entry.message === 'listening')!;
      assert.deepEqual([listening.database, listening.dataDir], [shownTcpUrl('boots'), undefined]);
      assert.equal(existsSync(dataDir), false);
      const { stdout, stderr } = run.output();
      assert.ok(!`${stdout}${stderr}`.includes(password()), `${stdout}${stderr}`);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('exits 1 once DAYLOG_POSTGRES_CONNECT_TIMEOUT has passed without the database, in one line naming the variable and not the password', async () => {
    const urlFile = join(scratch, 'postgres-url');
    writeFileSync(urlFile, `${cluster.tcpUrl()}\n`);
    const env = { ...processEnv, DAYLOG_POSTGRES_CONNECT_TIMEOUT: '2s' };
    let waited: number[] = [];
    let runs: ReturnType<typeof runAggregator>[] = [];
    await cluster.restart({
      whileDown: async () => {
        const started = Date.now();
        runs = [runAggregator({ ...env, DAYLOG_POSTGRES_URL: cluster.tcpUrl() }), runAggregator({ ...env, DAYLOG_POSTGRES_URL_FILE: urlFile })];
        waited = await Promise.all(runs.map(async (run) => {
          assert.deepEqual(await exitWithin(run, 15_000), [1, null]);
          return Date.now() - started;
        }));
      },
    });
    for (const [i, variable] of ['DAYLOG_POSTGRES_URL', 'DAYLOG_POSTGRES_URL_FILE'].entries()) {
      const { stdout, stderr } = runs[i].output();
      assert.ok(waited[i] >= 2000, `gave up after ${waited[i]} ms, before its time-out`);
      assert.ok(!`${stdout}${stderr}`.includes(password()), `${stdout}${stderr}`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, stderr);
      const { level, context, message } = JSON.parse(lines[0]) as Record<string, unknown>;
      assert.deepEqual([level, context], ['fatal', 'Daylog']);
      assert.equal(
        message,
        `cannot start: ${variable} (${shownTcpUrl('postgres')}): the database cannot be reached after 2 s: connect ECONNREFUSED 127.0.0.1:${cluster.port}`,
      );
    }
  });

  it('gives up at DAYLOG_POSTGRES_CONNECT_TIMEOUT a database that takes the connection and never answers, not at the connection time-out after it', async () => {
    const env = { ...processEnv, DAYLOG_POSTGRES_URL: cluster.tcpUrl(), DAYLOG_POSTGRES_CONNECT_TIMEOUT: '1s' };
    const run = await cluster.whileFrozen(async () => {
      const frozenRun = runAggregator(env);
      assert.deepEqual(await exitWithin(frozenRun, 15_000), [1, null]);
      return frozenRun;
    });
    const { message } = JSON.parse(run.output().stderr.trimEnd()) as Record<string, unknown>;
    // Each ping's connection has 3 s: one begun at once would have outlasted the wait by two seconds.
    assert.equal(message, `cannot start: DAYLOG_POSTGRES_URL (${shownTcpUrl('postgres')}): the database cannot be reached after 1 s: the server did not answer`);
  });

  it('answers /readyz 503 within 10 s of the database going away, and 200 within 30 s of its return; /healthz stays 200', async () => {
    const t = await startTestApp({ env: { DAYLOG_POSTGRES_URL: await cluster.createDatabase('readiness') } });
    try {
      assert.equal((await t.http.get('/readyz')).status, 200);
      await cluster.restart({
        whileDown: async () => {
          await until('/readyz answers 503', async () => (await t.http.get('/readyz')).status === 503, 10_000);
          assert.deepEqual((await t.http.get('/readyz')).body, { error: 'storage is not ready: closed, or its database cannot be reached' });
          assert.equal((await t.http.get('/healthz')).status, 200);
        },
      });
      await until('/readyz answers 200 again', async () => (await t.http.get('/readyz')).status === 200, 30_000);
    } finally {
      await t.close();
    }
  });

  it('answers ingest, queries and counts 503 with Retry-After while the database is stopped or silent, none past the query time-out, and takes them again after', async () => {
    const queryTimeoutMs = 2000;
    const t = await startTestApp({ env: { DAYLOG_POSTGRES_URL: await cluster.createDatabase('requests_while_down'), DAYLOG_QUERY_TIMEOUT: `${queryTimeoutMs}ms` } });
    const ingest = (message: string) => t.http.post('/api/v1/logs').send({ labels: { pod: 'web-1' }, lines: [{ message }] });
    const requests = {
      ingest: () => ingest('while down'),
      query: () => t.http.get('/api/v1/logs').query({ format: 'json' }),
      count: () => t.http.get('/api/v1/stats').query({ format: 'json' }),
    };
    const eachRefused = async () => {
      for (const [what, send] of Object.entries(requests)) {
        const started = Date.now();
        const response = await send();
        // A silent database: a statement is given up the query time-out plus 5 s after it was sent, a connection after 3 s.
        assert.ok(Date.now() - started < queryTimeoutMs + 6000, `${what} took ${Date.now() - started} ms`);
        assert.deepEqual([what, response.status, response.headers['retry-after'], response.body], [what, 503, '5', { error: 'the database cannot be reached: retry in a few seconds' }]);
      }
    };
    try {
      assert.equal((await ingest('before')).status, 200);
      await cluster.restart({ whileDown: eachRefused });
      await until('ingest is taken again after a restart', async () => (await ingest('after a restart')).status === 200, 30_000);
      await cluster.whileFrozen(eachRefused);
      await until('ingest is taken again once the database answers', async () => (await ingest('after a silence')).status === 200, 30_000);
      const { lines } = await queryJson(t.http, { pod: 'web-1', direction: 'forward' });
      assert.deepEqual(lines.map((line) => line.message), ['before', 'after a restart', 'after a silence']);
    } finally {
      await t.close();
    }
  });

  it('answers requests already waiting on a database gone silent 503 within 10 s of the silence, at the default query time-out', async () => {
    const t = await startTestApp({ env: { DAYLOG_POSTGRES_URL: await cluster.createDatabase('silence_in_flight') } });
    const requests = {
      ingest: () => t.http.post('/api/v1/logs').send({ labels: { pod: 'web-1' }, lines: [{ message: 'into the silence' }] }),
      query: () => t.http.get('/api/v1/logs').query({ format: 'json' }),
      count: () => t.http.get('/api/v1/stats').query({ format: 'json' }),
    };
    try {
      // Every connection of the pool is made and idle before the silence: each request takes one and waits on it.
      for (const send of Object.values(requests)) assert.equal((await send()).status, 200);
      await cluster.whileFrozen(async () => {
        const silentSince = Date.now();
        const answers = await Promise.all(
          Object.entries(requests).map(async ([what, send]) => {
            const response = await send();
            return { what, status: response.status, afterMs: Date.now() - silentSince };
          }),
        );
        for (const { what, status, afterMs } of answers) {
          assert.equal(status, 503, what);
          // The query time-out is 10 s: a request left to it would be answered at 12 s.
          assert.ok(afterMs < 10_000, `${what} answered ${afterMs} ms into the silence`);
        }
      });
      await until('ingest is taken again once the database answers', async () => (await requests.ingest()).status === 200, 30_000);
    } finally {
      await t.close();
    }
  });

  it('seals cursors with DAYLOG_CURSOR_SECRET as SQLite does, else with the key kept in the database, one per database', async () => {
    const position = { ts: Date.UTC(2026, 10, 24, 9, 30), partitionStart: Date.UTC(2026, 10, 24, 9), id: 42 };
    const sealed = async (env: Record<string, string>): Promise<string> => {
      const t = await startTestApp({ env });
      try {
        return t.app.get(CursorCodec).encodeLine(position);
      } finally {
        await t.close();
      }
    };
    const shared = await cluster.createDatabase('shared_key');
    const other = await cluster.createDatabase('other_key');
    const onSqlite = await sealed({ DAYLOG_CURSOR_SECRET: SECRET });
    assert.equal(await sealed({ DAYLOG_POSTGRES_URL: other, DAYLOG_CURSOR_SECRET: SECRET }), onSqlite);
    const kept = await sealed({ DAYLOG_POSTGRES_URL: shared });
    assert.notEqual(kept, onSqlite);
    assert.equal(await sealed({ DAYLOG_POSTGRES_URL: shared }), kept, 'a second replica on the same database');
    assert.notEqual(await sealed({ DAYLOG_POSTGRES_URL: other }), kept);
  });
});
