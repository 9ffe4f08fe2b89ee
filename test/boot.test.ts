import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@daylog/config';
import Database from 'better-sqlite3';
import { exitWithin, runAggregator } from './support/aggregator-process';
import { ingestLines, queryJson, startTestApp, tempDataDir } from './support/test-app';

describe('configuration at boot', () => {
  const scratchDir = tempDataDir();
  after(() => rmSync(scratchDir, { recursive: true, force: true }));

  it('has defaults that work', () => {
    assert.deepEqual(loadConfig({}), {
      host: '0.0.0.0',
      port: 8080,
      postgres: null,
      ignoredSettings: [],
      cursorSecret: null,
      dataDir: './data',
      retentionMs: 86_400_000,
      partitionMs: 3_600_000,
      pruneIntervalMs: 60_000,
      maxBodyBytes: 16_777_216,
      maxLineBytes: 65_536,
      maxQueuedLines: 200_000,
      maxQueuedLinesPerClient: 100_000,
      maxLinesPerRequest: 100_000,
      maxObjectsPerRequest: 500_003,
      synchronous: 'full',
      logFormat: 'json',
      shutdownGraceMs: 10_000,
      fullText: true,
      compression: true,
      ingestTokens: null,
      readTokens: null,
      metricsNeedToken: false,
      rateLimit: null,
      queryTimeoutMs: 10_000,
      maxScannedLines: 10_000_000,
      maxDiskBytes: null,
      maxLabelSetsPerNamespace: 5000,
      maxTailsPerClient: 20,
      maxTails: 500,
    });
  });

  it('reads sizes and search limits as operators write them', () => {
    for (const [text, bytes] of [
      ['500000000', 500_000_000],
      ['500M', 500 * 1024 ** 2],
      ['2Gi', 2 * 1024 ** 3],
      ['2GiB', 2 * 1024 ** 3],
      ['1t', 1024 ** 4],
    ] as const) {
      assert.equal(loadConfig({ DAYLOG_MAX_DISK: text }).maxDiskBytes, bytes, text);
    }
    const limits = loadConfig({ DAYLOG_QUERY_TIMEOUT: '1500ms', DAYLOG_QUERY_MAX_SCANNED_LINES: '5000' });
    assert.deepEqual([limits.queryTimeoutMs, limits.maxScannedLines], [1500, 5000]);
    for (const [env, message] of [
      [{ DAYLOG_MAX_DISK: '2 GB' }, 'DAYLOG_MAX_DISK="2 GB" is not valid: expected off, or a size in bytes such as 500000000, 500M or 2G'],
      [{ DAYLOG_MAX_DISK: '100k' }, 'DAYLOG_MAX_DISK="100k" is not valid: expected off, or at least 1M (a partition file alone takes some hundred kilobytes)'],
      [{ DAYLOG_QUERY_TIMEOUT: '1h' }, 'DAYLOG_QUERY_TIMEOUT="1h" is not valid: expected a duration from 1ms to 10m'],
      [{ DAYLOG_QUERY_MAX_SCANNED_LINES: '0' }, 'DAYLOG_QUERY_MAX_SCANNED_LINES="0" is not valid: expected a whole number from 1 to 1000000000000'],
    ] as const) {
      assert.throws(() => loadConfig(env), { message });
    }
  });

  const bad: [Record<string, string>, string][] = [
    [{ DAYLOG_PORT: 'http' }, 'DAYLOG_PORT="http" is not valid: expected a port from 0 to 65535'],
    [{ DAYLOG_PORT: '70000' }, 'DAYLOG_PORT="70000" is not valid: expected a port from 0 to 65535'],
    [{ DAYLOG_RETENTION: 'forever' }, 'DAYLOG_RETENTION="forever" is not valid: expected a positive duration such as 90s, 15m, 2h or 1d'],
    [{ DAYLOG_PARTITION: '7m' }, 'DAYLOG_PARTITION="7m" is not valid: expected a duration of at least 1m that divides a day (1h, 30m, 15m, …) and is no longer than DAYLOG_RETENTION (24h)'],
    [{ DAYLOG_PARTITION: '1ms' }, 'DAYLOG_PARTITION="1ms" is not valid: expected a duration of at least 1m that divides a day (1h, 30m, 15m, …) and is no longer than DAYLOG_RETENTION (24h)'],
    [{ DAYLOG_RETENTION: '30m' }, 'DAYLOG_PARTITION="1h" is not valid: expected a duration of at least 1m that divides a day (1h, 30m, 15m, …) and is no longer than DAYLOG_RETENTION (30m)'],
    [{ DAYLOG_PRUNE_INTERVAL: '0s' }, 'DAYLOG_PRUNE_INTERVAL="0s" is not valid: expected a positive duration such as 90s, 15m, 2h or 1d'],
    [{ DAYLOG_PRUNE_INTERVAL: '30d' }, 'DAYLOG_PRUNE_INTERVAL="30d" is not valid: expected a duration from 1s to 24d'],
    [{ DAYLOG_DATA_DIR: '/proc/version/data' }, 'DAYLOG_DATA_DIR="/proc/version/data" is not valid: cannot be used as a directory (ENOTDIR)'],
    [{ DAYLOG_MAX_BODY_BYTES: '16MB' }, 'DAYLOG_MAX_BODY_BYTES="16MB" is not valid: expected a whole number from 1 to 1073741824'],
    [{ DAYLOG_MAX_LINE_BYTES: '0' }, 'DAYLOG_MAX_LINE_BYTES="0" is not valid: expected a whole number from 1 to 16777216'],
    [
      { DAYLOG_MAX_LINES_PER_REQUEST: '100001' },
      'DAYLOG_MAX_LINES_PER_REQUEST="100001" is not valid: expected at most half of DAYLOG_MAX_QUEUED_LINES (100000), what one client may have queued: a larger batch could never be queued; lower it or raise DAYLOG_MAX_QUEUED_LINES',
    ],
    [
      { DAYLOG_MAX_QUEUED_LINES: '199999' },
      'DAYLOG_MAX_LINES_PER_REQUEST="100000" is not valid: expected at most half of DAYLOG_MAX_QUEUED_LINES (99999), what one client may have queued: a larger batch could never be queued; lower it or raise DAYLOG_MAX_QUEUED_LINES',
    ],
    [{ DAYLOG_HOST: '' }, 'DAYLOG_HOST="" is not valid: expected a host name or IP address to listen on'],
    [{ DAYLOG_SYNCHRONOUS: 'off' }, 'DAYLOG_SYNCHRONOUS="off" is not valid: expected full (every acknowledged batch is fsynced) or normal'],
    [{ DAYLOG_LOG_FORMAT: 'yaml' }, 'DAYLOG_LOG_FORMAT="yaml" is not valid: expected json (one object a line) or text'],
    [{ DAYLOG_SHUTDOWN_GRACE: '1h' }, 'DAYLOG_SHUTDOWN_GRACE="1h" is not valid: expected a duration of at most 10m'],
  ];
  for (const [env, line] of bad) {
    it(`stops with one line naming ${Object.keys(env)[0]}=${Object.values(env)[0]}`, async () => {
      const run = runAggregator({ DAYLOG_DATA_DIR: scratchDir, DAYLOG_PORT: '0', ...env });
      const [code] = await run.exited;
      assert.equal(code, 1);
      assert.equal(run.output().stderr, `${line}\n`);
    });
  }

  it('says in one log entry that it cannot listen on a port already taken', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = String((taken.address() as AddressInfo).port);
      const run = runAggregator({ DAYLOG_DATA_DIR: scratchDir, DAYLOG_HOST: '127.0.0.1', DAYLOG_PORT: port });
      const [code] = await run.exited;
      assert.equal(code, 1);
      const lastLine = JSON.parse(run.output().stderr.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
      assert.deepEqual(
        [lastLine.level, lastLine.context, lastLine.message],
        ['fatal', 'Daylog', `cannot start: listen EADDRINUSE: address already in use 127.0.0.1:${port}`],
      );
    } finally {
      taken.close();
    }
  });

  it("starts with the image's command line, answers health checks, logs JSON lines, and exits 0 on SIGTERM", async () => {
    const dataDir = tempDataDir();
    const run = runAggregator({ DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' });
    try {
      const url = await run.listening();
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
      run.child.kill('SIGTERM');
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);

      const entries = run.logEntries();
      for (const entry of entries) {
        assert.equal(typeof entry.timestamp, 'number');
        assert.ok(['log', 'warn'].includes(entry.level as string), JSON.stringify(entry));
        assert.equal(typeof entry.message, 'string');
        assert.equal(typeof entry.context, 'string');
      }
      const ours = entries.filter((entry) => entry.context === 'Daylog').map(({ message, address, dataDir, signal }) => ({ message, address, dataDir, signal }));
      assert.deepEqual(ours, [
        { message: 'listening', address: url.replace('http://', ''), dataDir, signal: undefined },
        { message: 'ingest is OPEN: anyone who can reach this port can write lines; set DAYLOG_INGEST_TOKENS', address: undefined, dataDir: undefined, signal: undefined },
        { message: 'reads are OPEN: anyone who can reach this port can read every line; set DAYLOG_READ_TOKENS', address: undefined, dataDir: undefined, signal: undefined },
        { message: 'stopping: answering the requests in flight', address: undefined, dataDir: undefined, signal: 'SIGTERM' },
        { message: 'stopped', address: undefined, dataDir: undefined, signal: undefined },
      ]);
      assert.equal(run.output().stderr, '');
    } finally {
      run.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says the address it is bound to: every interface is 0.0.0.0, not 127.0.0.1', async () => {
    const run = runAggregator({ DAYLOG_DATA_DIR: scratchDir, DAYLOG_PORT: '0', DAYLOG_HOST: '0.0.0.0' });
    try {
      const url = await run.listening();
      assert.match(url, /^http:\/\/0\.0\.0\.0:\d+$/);
      assert.equal((await fetch(url.replace('0.0.0.0', '127.0.0.1') + '/healthz')).status, 200);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('logs as text when DAYLOG_LOG_FORMAT=text', async () => {
    const run = runAggregator({ DAYLOG_DATA_DIR: scratchDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1', DAYLOG_LOG_FORMAT: 'text' });
    try {
      await new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (run.output().stdout.includes('listening')) resolve();
          else if (Date.now() - started > 15_000) reject(new Error(run.output().stdout + run.output().stderr));
          else return;
          clearInterval(poll);
        }, 50);
      });
      const line = run.output().stdout.split('\n').find((l) => l.includes('listening'))!;
      assert.match(line, /^\[Nest\] \d+ +- .* LOG \[Daylog\] listening \{ address: '127\.0\.0\.1:\d+', dataDir: '.*' \}$/);
      run.child.kill('SIGINT');
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('migrations', () => {
  it('applies the numbered migrations once, and refuses a catalogue written by a newer Daylog', async () => {
    const dataDir = tempDataDir();
    try {
      await (await startTestApp({ dataDir })).close();
      await (await startTestApp({ dataDir })).close();
      const db = new Database(join(dataDir, 'catalogue.db'));
      assert.deepEqual(db.prepare('SELECT version, name FROM schema_migrations').all(), [
        { version: 1, name: '001_catalogue.sql' },
        { version: 2, name: '002_streams_never_reuse_ids.sql' },
        { version: 3, name: '003_partition_generations.sql' },
      ]);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (99, '099_future.sql', 0)").run();
      db.close();
      await assert.rejects(startTestApp({ dataDir }), {
        name: 'MigrationError',
        message: 'the catalogue has migration 99 that this build does not know: it was written by a newer Daylog',
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('adds the format column to a partition file written before it existed, keeping its lines', async () => {
    const dataDir = tempDataDir();
    try {
      const first = await startTestApp({ dataDir });
      await ingestLines(first.http, [{ message: 'written by an older Daylog', ts: '2026-11-24T09:30:00Z' }]);
      await first.close();
      const partition = new Database(join(dataDir, 'partitions', 'logs_20261124T090000Z.db'));
      partition.exec('ALTER TABLE "logs_20261124T090000Z" DROP COLUMN format');
      partition.close();

      const second = await startTestApp({ dataDir });
      try {
        const line = '10.0.0.7 - - [24/Nov/2026:09:40:00 +0000] "GET / HTTP/1.1" 502 0 "-" "curl/8.5"';
        await ingestLines(second.http, [{ message: line, format: 'nginx-access' }]);
        const { lines } = await queryJson(second.http, { pod: 'web-1', direction: 'forward' });
        assert.deepEqual(lines.map((l) => [l.message, l.level, l.fields?.status ?? null]), [
          ['written by an older Daylog', 'info', null],
          [line, 'error', 502],
        ]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('file modes', () => {
  /** Each directory and file under `dir` (itself included, as '.') with its permission bits, by path. */
  function modesUnder(dir: string, path = '.'): Record<string, string> {
    const modes: Record<string, string> = { [path]: (statSync(join(dir, path)).mode & 0o777).toString(8) };
    for (const entry of readdirSync(join(dir, path), { withFileTypes: true })) {
      const child = path === '.' ? entry.name : `${path}/${entry.name}`;
      if (entry.isDirectory()) Object.assign(modes, modesUnder(dir, child));
      else modes[child] = (statSync(join(dir, child)).mode & 0o777).toString(8);
    }
    return modes;
  }

  /** What a running aggregator with lines in two hours has in its data dir, every file for its user alone. */
  function privateModes(partitionFiles: string[]): Record<string, string> {
    const files = ['catalogue.db', 'catalogue.db-shm', 'catalogue.db-wal', 'cursor.key', ...partitionFiles.map((file) => `partitions/${file}`)];
    return Object.fromEntries([['.', '700'], ['partitions', '700'], ...files.map((file) => [file, '600'])]);
  }

  it("keeps its data for its own user alone: directories 0700, files 0600, SQLite's -wal and -shm included, and an older install's made so at boot", async () => {
    // The usual umask, which leaves what a process creates readable to everyone unless it says otherwise.
    const umask = process.umask(0o022);
    const root = tempDataDir();
    const dataDir = join(root, 'data');
    const env = { DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' };
    let run = runAggregator(env);
    try {
      const url = await run.listening();
      const now = Date.now();
      const lines = [{ ts: now - 3_600_000, message: 'an hour ago' }, { ts: now, message: 'now' }].map((line) => JSON.stringify({ pod: 'web-1', ...line }));
      const ingest = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: lines.join('\n') });
      assert.equal(ingest.status, 200, await ingest.text());
      const partitions = readdirSync(join(dataDir, 'partitions'));
      assert.ok(partitions.some((file) => file.endsWith('.db-wal')) && partitions.some((file) => file.endsWith('.db-shm')), partitions.join(', '));
      assert.deepEqual(modesUnder(dataDir), privateModes(partitions));

      run.child.kill('SIGTERM');
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);
      // As an older Daylog left them: readable to everyone.
      const left = modesUnder(dataDir);
      for (const path of Object.keys(left)) chmodSync(join(dataDir, path), path === '.' || path === 'partitions' ? 0o755 : 0o644);
      run = runAggregator(env);
      await run.listening();
      const partitionsNow = readdirSync(join(dataDir, 'partitions'));
      assert.deepEqual(modesUnder(dataDir), privateModes(partitionsNow));
    } finally {
      process.umask(umask);
      run.child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('a data directory with a torn or foreign file', () => {
  /** A data dir with lines in two partitions, as a stopped aggregator leaves it. */
  async function dataDirWithLines(): Promise<string> {
    const dataDir = tempDataDir();
    const t = await startTestApp({ dataDir });
    await ingestLines(t.http, [{ ts: t.clock.now() - 2 * 3_600_000, message: 'older' }, { ts: t.clock.now(), message: 'newer' }]);
    await t.close();
    return dataDir;
  }

  async function bootFails(dataDir: string): Promise<string> {
    const run = runAggregator({ DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' });
    const [code] = await exitWithin(run, 15_000);
    assert.equal(code, 1);
    // One line: the storage is opened before the app is made, so no framework trace comes first.
    const lines = run.output().stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, run.output().stderr);
    const only = JSON.parse(lines[0]) as { level: string; message: string };
    assert.equal(only.level, 'fatal');
    return only.message;
  }

  it('refuses to start beside a file it did not write, and leaves the file where it is', async () => {
    const dataDir = await dataDirWithLines();
    try {
      const foreign = join(dataDir, 'partitions', 'notes.txt');
      writeFileSync(foreign, 'keep me');
      assert.equal(await bootFails(dataDir), `cannot start: ${foreign} is not a Daylog partition: move it out of ${join(dataDir, 'partitions')}, which holds only Daylog's files`);
      assert.equal(readFileSync(foreign, 'utf8'), 'keep me');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names a torn partition file, keeps it and every other file, and starts once it is moved away', async () => {
    const dataDir = await dataDirWithLines();
    try {
      const dir = join(dataDir, 'partitions');
      const [torn, kept] = readdirSync(dir).filter((file) => file.endsWith('.db')).sort();
      writeFileSync(join(dir, torn), Buffer.alloc(8192, 7));
      const message = await bootFails(dataDir);
      assert.match(message, new RegExp(`^cannot start: ${join(dir, torn)} cannot be read as a Daylog partition \\(file is not a database\\): restore it, or move it out of`));
      assert.equal(readFileSync(join(dir, torn)).length, 8192);
      assert.ok(readdirSync(dir).includes(kept));

      renameSync(join(dir, torn), join(dataDir, '..', `${torn}.set-aside-${process.pid}`));
      const t = await startTestApp({ dataDir });
      try {
        assert.deepEqual((await queryJson(t.http, {})).lines.map((line) => line.message), ['newer']);
      } finally {
        await t.close();
        rmSync(join(dataDir, '..', `${torn}.set-aside-${process.pid}`), { force: true });
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names a torn catalogue', async () => {
    const dataDir = await dataDirWithLines();
    try {
      const catalogue = join(dataDir, 'catalogue.db');
      writeFileSync(catalogue, Buffer.alloc(8192, 7));
      assert.match(await bootFails(dataDir), new RegExp(`^cannot start: ${catalogue} cannot be read as Daylog's catalogue`));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
