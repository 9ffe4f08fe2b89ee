import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShipperRig, assertExactlyOnce, runShipper, shipperEnv, startProxy, startRig, stateDirOf, storedMessages, until, waitForLines, writeLines, podDir as podDirOf } from './support/shipper-harness';
import { WireLineBody } from './support/test-app';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shipper', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig({ DAYLOG_MAX_BODY_BYTES: '200000' });
  });
  after(() => rig.close());

  /** Each test's pod has its own folder of logs, and its own shipper state inside it. */
  const podDir = (pod: string, env: Record<string, string> = {}) => podDirOf(rig, pod, env);

  it('ships lines written before and after it starts, joins a line written in two parts, and follows a file created later', async () => {
    const { dir, env } = podDir('basic');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'before', 1, 50);
    writeFileSync(join(dir, 'one.log'), 'a one-line file\n');
    writeFileSync(join(dir, 'twin.log'), 'a one-line file\n');
    const shipper = runShipper(env);
    written.push('a one-line file', 'a one-line file');
    written.push(...writeLines(access, 'after', 1, 50));
    appendFileSync(access, 'abc');
    await pause(300);
    appendFileSync(access, 'def\n');
    written.push('abcdef');
    writeFileSync(join(dir, 'later.log'), '');
    await pause(200);
    written.push(...writeLines(join(dir, 'later.log'), 'later', 1, 10));
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'basic', written.length), written);
    await shipper.stop();
  });

  it("finishes files rotated while it was down when its clock is a day ahead of the files' times", async () => {
    // Files' mtimes are the file system's clock, checkpoints the shipper's: here the two disagree by a day,
    // as with a volume that keeps its own time, or a node whose clock is wrong.
    const aDayAhead = { now: () => Date.now() + 24 * 3600 * 1000 };
    const { dir, env } = podDir('clock-ahead');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'first', 1, 100);
    let shipper = runShipper(env, undefined, aDayAhead);
    await waitForLines(rig.aggregator.http, 'clock-ahead', written.length);
    await shipper.stop();

    written.push(...writeLines(access, 'first-unread', 1, 20));
    renameSync(access, `${access}.1`);
    written.push(...writeLines(access, 'second', 1, 30));
    renameSync(`${access}.1`, `${access}.2`);
    renameSync(access, `${access}.1`);
    written.push(...writeLines(access, 'third', 1, 10));

    shipper = runShipper(env, undefined, aDayAhead);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'clock-ahead', written.length), written);
    await shipper.stop();
  });

  it('follows a rename rotation under load: finishes the old file, then the new one', async () => {
    const { dir, env } = podDir('renamed');
    const access = join(dir, 'access.log');
    const written: string[] = [];
    const shipper = runShipper(env);
    let n = 1;
    for (let round = 0; round < 10; round++) {
      written.push(...writeLines(access, 'line', n, 500));
      n += 500;
      if (round === 4) {
        renameSync(access, join(dir, 'access.log.1'));
        written.push(...writeLines(join(dir, 'access.log.1'), 'late-in-old', 1, 20));
        writeFileSync(access, '');
      }
      await pause(20);
    }
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'renamed', written.length), written);
    assert.ok(shipper.metrics.rotations >= 1);
    await shipper.stop();
  });

  it('survives copytruncate, reading the unread tail from the copy beside the file', async () => {
    const { dir, env } = podDir('copytruncate');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'first', 1, 300);
    let shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'copytruncate', written.length);
    await shipper.stop();
    written.push(...writeLines(access, 'unread', 1, 40));
    copyFileSync(access, join(dir, 'access.log.1'));
    truncateSync(access, 0);
    written.push(...writeLines(access, 'second', 1, 100));
    shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'copytruncate', written.length);
    written.push(...writeLines(access, 'third', 1, 100));
    copyFileSync(access, join(dir, 'access.log.1'));
    truncateSync(access, 0);
    written.push(...writeLines(access, 'fourth', 1, 50));
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'copytruncate', written.length), written);
    await shipper.stop();
  });

  it('resumes after a restart exactly where it stopped', async () => {
    const { dir, env } = podDir('restart');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'one', 1, 1000);
    let shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'restart', 1000);
    await shipper.stop();
    written.push(...writeLines(access, 'two', 1, 1000));
    shipper = runShipper(env);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'restart', written.length), written);
    await shipper.stop();
    assert.ok(existsSync(join(stateDirOf(dir), 'checkpoints.json')));
  });

  it('keeps its state for its own user alone: the directory 0700, the checkpoints 0600', async () => {
    // The usual umask, which leaves what a process creates readable to everyone unless it says otherwise.
    const umask = process.umask(0o022);
    try {
      const { dir, env } = podDir('private-state');
      writeLines(join(dir, 'access.log'), 'line', 1, 5);
      const shipper = runShipper(env);
      await waitForLines(rig.aggregator.http, 'private-state', 5);
      await shipper.stop();
      const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
      assert.deepEqual([mode(stateDirOf(dir)), mode(join(stateDirOf(dir), 'checkpoints.json'))], ['700', '600']);
    } finally {
      process.umask(umask);
    }
  });

  it('splits a batch the aggregator answers 413, and ships every line once', async () => {
    const { dir, env } = podDir('split');
    const written = writeLines(join(dir, 'access.log'), 'wide', 1, 3000, ` ${'x'.repeat(250)}`);
    const shipper = runShipper(env);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'split', written.length), written);
    assert.ok(shipper.metrics.batchesSplit > 0, 'no batch was split');
    await shipper.stop();
  });

  it('cuts a 1 MiB line, replaces invalid UTF-8, and keeps going', async () => {
    const { dir, env } = podDir('odd');
    const access = join(dir, 'app.log');
    appendFileSync(access, `${'y'.repeat(1024 * 1024)}\n`);
    appendFileSync(access, Buffer.concat([Buffer.from('bad bytes: '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    appendFileSync(access, 'after\n');
    const shipper = runShipper(env);
    const stored = await waitForLines(rig.aggregator.http, 'odd', 3);
    assert.equal(stored.length, 3);
    assert.match(stored[0], /^y+ …\[truncated \d+ bytes\]$/);
    assert.ok(Buffer.byteLength(stored[0]) <= 65536);
    assert.equal(stored[1], 'bad bytes: \ufffd\ufffd');
    assert.equal(stored[2], 'after');
    assert.equal(shipper.metrics.linesTruncated, 1);
    assert.equal(shipper.metrics.linesInvalidUtf8, 1);
    await shipper.stop();
  });

  it('sets a corrupt checkpoint file aside and starts over rather than crash', async () => {
    const { dir, env } = podDir('corrupt');
    mkdirSync(stateDirOf(dir));
    writeFileSync(join(stateDirOf(dir), 'checkpoints.json'), '{"version": 1, "files": {"1:2": {"path": ');
    const written = writeLines(join(dir, 'access.log'), 'line', 1, 20);
    const shipper = runShipper(env);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'corrupt', written.length), written);
    assert.equal(readdirSync(stateDirOf(dir)).filter((f) => f.startsWith('checkpoints.json.corrupt-')).length, 1);
    await shipper.stop();
  });

  it('waits at least Retry-After before sending again after a 429', async () => {
    const { dir, env } = podDir('throttled');
    const requests: number[] = [];
    const proxy = await startProxy(rig.url, () => {
      requests.push(Date.now());
      return requests.length === 1 ? { status: 429, headers: { 'Retry-After': '3' }, body: '{"error":"slow down"}' } : null;
    });
    try {
      const written = writeLines(join(dir, 'access.log'), 'line', 1, 10);
      const shipper = runShipper({ ...env, DAYLOG_URL: proxy.url });
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'throttled', written.length), written);
      assert.ok(requests.length >= 2);
      assert.ok(requests[1] - requests[0] >= 3000, `second request ${requests[1] - requests[0]} ms after the 429`);
      assert.equal(shipper.metrics.linesRetried, 10);
      await shipper.stop();
    } finally {
      proxy.close();
    }
  });

  it('keeps lines while the aggregator is down and delivers them once it is back', async () => {
    const { dir, env } = podDir('outage');
    let up = false;
    const gate = await startProxy(rig.url, () => (up ? null : { status: 503, body: '{"error":"down"}' }));
    try {
      const written = writeLines(join(dir, 'access.log'), 'line', 1, 60_000);
      const shipper = runShipper({ ...env, DAYLOG_URL: gate.url }, { baseMs: 50, capMs: 200 });
      await pause(1000);
      assert.deepEqual(await storedMessages(rig.aggregator.http, 'outage'), []);
      // 60k lines are 720 kB; while the aggregator is down the shipper holds one read (256 kB) at most.
      assert.ok(shipper.metrics.linesRead < 25_000, `read ${shipper.metrics.linesRead} lines while the aggregator was down`);
      up = true;
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'outage', written.length, 60_000), written);
      await shipper.stop();
    } finally {
      gate.close();
    }
  });

  it('ships 100k lines written as fast as possible, once each', async () => {
    const { dir, env } = podDir('flood');
    const shipper = runShipper(env);
    const written: string[] = [];
    for (let i = 0; i < 100; i++) written.push(...writeLines(join(dir, 'access.log'), 'flood', i * 1000 + 1, 1000));
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'flood', written.length, 60_000), written);
    await shipper.stop();
  });

  it('ships a JSON line at its own time, in seconds, milliseconds, microseconds or nanoseconds alike', async () => {
    const { dir, env } = podDir('json-times');
    const ms = Date.now() - 60_000;
    const times = [Math.floor(ms / 1000), (ms + 1000) / 1000, ms + 2000, `${ms + 3000}123`, `${ms + 4000}123456`];
    writeFileSync(join(dir, 'app.log'), times.map((ts, i) => `${JSON.stringify({ msg: `time ${i}`, ts })}\n`).join(''));
    const shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'json-times', times.length);
    const stored = await rig.aggregator.http.get('/api/v1/logs').query({ pod: 'json-times', format: 'json', direction: 'forward' });
    assert.deepEqual(
      (stored.body.lines as WireLineBody[]).map((l) => [l.message, l.ts]),
      [Math.floor(ms / 1000) * 1000, ms + 1000, ms + 2000, ms + 3000, ms + 4000].map((at, i) => [`time ${i}`, new Date(at).toISOString()]),
    );
    await shipper.stop();
  });

  it('counts the lines the aggregator rejects one by one and ships their neighbours', async () => {
    const { dir, env } = podDir('per-line');
    writeFileSync(join(dir, 'app.log'), '{"msg":"too old","time":"2020-01-01T00:00:00Z"}\n{"msg":"fresh","level":"warn"}\n');
    const shipper = runShipper(env);
    assert.deepEqual(await waitForLines(rig.aggregator.http, 'per-line', 1), ['fresh']);
    await until('the rejection is counted', () => shipper.metrics.linesRejected > 0);
    assert.equal(shipper.metrics.linesRejected, 1);
    assert.equal(shipper.metrics.linesShipped, 1);
    await shipper.stop();
  });

  it('sends gzip with its key and the bearer token: nginx logs as text for the aggregator to read, others as JSON', async () => {
    const { dir, env } = podDir('headers');
    const seen: Record<string, string | string[] | undefined>[] = [];
    const proxy = await startProxy(rig.url, (headers) => {
      seen.push(headers);
      return null;
    });
    try {
      const written = [
        ...writeLines(join(dir, 'access.log'), 'access', 1, 3),
        ...writeLines(join(dir, 'error.log'), 'error', 1, 3),
        ...writeLines(join(dir, 'app.log'), 'app', 1, 3),
      ];
      const shipper = runShipper({ ...env, DAYLOG_URL: proxy.url, DAYLOG_TOKEN: 's3cret-token' });
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'headers', written.length), written);
      assert.deepEqual(seen.map((headers) => headers['content-type']).sort(), ['application/json', 'text/plain', 'text/plain']);
      for (const headers of seen) {
        assert.equal(headers.authorization, 'Bearer s3cret-token');
        assert.equal(headers['content-encoding'], 'gzip');
        assert.match(String(headers['idempotency-key']), /^[\w-]{22}:0-\d+$/);
      }
      await shipper.stop();
    } finally {
      proxy.close();
    }
  });

  it('takes no link out of the watched folder for a copy rotated while it was down', async () => {
    const { dir, env } = podDir('rotated-link');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'first', 1, 10);
    let shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'rotated-link', written.length);
    await shipper.stop();
    // Written after the checkpoint, so its time makes it look like a copy rotated since.
    const credentials = join(rig.logDir, 'rotated-link-credentials');
    writeFileSync(credentials, 'password: hunter2\n');
    renameSync(access, `${access}.2`);
    symlinkSync(credentials, `${access}.1`);
    written.push(...writeLines(access, 'second', 1, 10));
    shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'rotated-link', written.length);
    await shipper.stop();
    assertExactlyOnce(await storedMessages(rig.aggregator.http, 'rotated-link'), written);
    assert.match(shipper.metrics.toPrometheus(), /^daylog_shipper_files_skipped_total 1$/m);
  });

  it('follows a file deleted and recreated under the same name', async () => {
    const { dir, env } = podDir('recreated');
    const app = join(dir, 'app.log');
    const written = writeLines(app, 'first', 1, 100);
    const shipper = runShipper(env);
    await waitForLines(rig.aggregator.http, 'recreated', 100);
    rmSync(app);
    await pause(200);
    written.push(...writeLines(app, 'second', 1, 100));
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'recreated', written.length), written);
    await shipper.stop();
  });
});

describe('shipper on real nginx logs', () => {
  it('ships what Debian nginx wrote, with levels and fields parsed', async () => {
    const rig = await startRig({}, { now: () => Date.UTC(2026, 10, 24, 23, 0, 0) });
    try {
      const dir = join(rig.logDir, 'nginx');
      mkdirSync(dir);
      for (const name of ['access.log', 'error.log']) copyFileSync(join(__dirname, '../../test/fixtures/nginx', name), join(dir, name));
      const shipper = runShipper(shipperEnv({ url: rig.url, logDir: dir }, 'webserver'));
      const stored = await waitForLines(rig.aggregator.http, 'webserver', 6 + 20);
      assert.equal(stored.length, 26);
      const errors = await rig.aggregator.http.get('/api/v1/logs').query({ pod: 'webserver', min_level: 'error', format: 'json', direction: 'forward' });
      const summary = (errors.body.lines as WireLineBody[]).map((l) => [l.ts, l.source, l.level, l.format, l.fields?.status ?? l.fields?.request]);
      // The two files' lines share one second: which file's batch was stored first decides their order, so
      // they are compared file by file (within a file, the order of its lines).
      summary.sort((a, b) => String(a[1]).localeCompare(String(b[1])));
      assert.deepEqual(summary, [
        ['2026-11-24T22:40:17.000Z', 'access.log', 'error', 'nginx-access', 500],
        ['2026-11-24T22:40:17.000Z', 'access.log', 'error', 'nginx-access', 502],
        ['2026-11-24T22:40:17.000Z', 'error.log', 'error', 'nginx-error', 'GET /static/missing.css HTTP/1.1'],
        ['2026-11-24T22:40:17.000Z', 'error.log', 'error', 'nginx-error', 'POST /api/orders HTTP/1.1'],
      ]);
      await shipper.stop();
    } finally {
      await rig.close();
    }
  });
});
