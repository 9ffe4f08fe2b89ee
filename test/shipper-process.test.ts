import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShipperRig, assertExactlyOnce, freePort, shipperEnv, startRig, storedMessages, until, waitForLines, writeLines, podDir as podDirOf } from './support/shipper-harness';
import { exitOf, probe, startShipper } from './support/shipper-process';

/** The deliberate pauses between kills of the SIGKILL test; nothing here waits a fixed time for a condition. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shipper process', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  const podDir = (pod: string, env: Record<string, string> = {}) => podDirOf(rig, pod, env);

  it('flushes on SIGTERM, exits 0, and a restart ships the rest once', async () => {
    const metricsPort = await freePort();
    const { dir, env } = podDir('sigterm', { DAYLOG_BATCH_WAIT: '30s', DAYLOG_BATCH_LINES: '10000', DAYLOG_METRICS_PORT: String(metricsPort) });
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'line', 1, 500);
    let shipper = startShipper(env);
    await until('the shipper reads 500 lines', async () => /^daylog_shipper_lines_read_total 500$/m.test((await probe(metricsPort, '/metrics'))?.text ?? ''));
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null], shipper.output());
    // Stored before the process exited: nothing to wait for.
    assert.equal((await storedMessages(rig.aggregator.http, 'sigterm')).length, 500, 'the pending batch was flushed at SIGTERM');
    written.push(...writeLines(access, 'after', 1, 500));
    shipper = startShipper({ ...env, DAYLOG_BATCH_WAIT: '100ms' });
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'sigterm', written.length), written);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
  });

  it('loses nothing and duplicates nothing when killed with SIGKILL mid-stream', async () => {
    const { dir, env } = podDir('sigkill', { DAYLOG_BATCH_LINES: '200' });
    const access = join(dir, 'access.log');
    const written: string[] = [];
    let shipper = startShipper(env);
    for (let round = 0; round < 5; round++) {
      written.push(...writeLines(access, `round${round}`, 1, 4000));
      await pause(150 + round * 50);
      shipper.child.kill('SIGKILL');
      await exitOf(shipper);
      shipper = startShipper(env);
    }
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'sigkill', written.length), written);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
  });

  it('finishes files rotated twice while it was down, and a file truncated and regrown meanwhile', async () => {
    const { dir, env } = podDir('down');
    const access = join(dir, 'access.log');
    const app = join(dir, 'app.log');
    const written = [...writeLines(access, 'a', 1, 300), ...writeLines(app, 'b', 1, 300)];
    let shipper = startShipper(env);
    await waitForLines(rig.aggregator.http, 'down', written.length);
    shipper.child.kill('SIGTERM');
    await exitOf(shipper);

    written.push(...writeLines(access, 'a-unread', 1, 50));
    renameSync(access, `${access}.1`);
    written.push(...writeLines(access, 'a-second-file', 1, 80));
    renameSync(`${access}.1`, `${access}.2`);
    renameSync(access, `${access}.1`);
    written.push(...writeLines(access, 'a-third-file', 1, 60));

    written.push(...writeLines(app, 'b-unread', 1, 20));
    copyFileSync(app, `${app}.1`);
    truncateSync(app, 0);
    written.push(...writeLines(app, 'b-regrown', 1, 400, ' longer than before'));

    shipper = startShipper(env);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'down', written.length), written);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
  });

  it('serves /metrics, /healthz and /livez when asked to', async () => {
    const port = await freePort();
    const { dir, env } = podDir('metrics', { DAYLOG_METRICS_PORT: String(port) });
    writeLines(join(dir, 'access.log'), 'line', 1, 10);
    const shipper = startShipper(env);
    await waitForLines(rig.aggregator.http, 'metrics', 10);
    let metrics = '';
    await until('/metrics counts the 10 lines shipped', async () => {
      metrics = (await probe(port, '/metrics'))?.text ?? '';
      return /^daylog_shipper_lines_shipped_total 10$/m.test(metrics);
    });
    assert.match(metrics, /^daylog_shipper_lines_read_total 10$/m);
    assert.match(metrics, /^daylog_shipper_bytes_behind 0$/m);
    assert.match(metrics, /^daylog_shipper_delivery_failing 0$/m);
    assert.match(metrics, /^daylog_shipper_delivery_failures_total\{cause="unauthorized"\} 0$/m);
    assert.deepEqual(await probe(port, '/healthz'), { status: 200, text: '{"status":"ok"}' });
    assert.deepEqual(await probe(port, '/livez'), { status: 200, text: '{"status":"ok"}' });
    shipper.child.kill('SIGTERM');
    await exitOf(shipper);
  });

  const badConfig: [Record<string, string>, string][] = [
    [{ DAYLOG_URL: 'not a url' }, 'DAYLOG_URL="not a url" is not valid: expected the aggregator base URL, e.g. http://daylog:8080'],
    [{ POD_NAME: '' }, `POD_NAME="" is not valid: expected the pod's name (Downward API: fieldRef metadata.name)`],
    [{ DAYLOG_FORMAT: 'xml' }, 'DAYLOG_FORMAT="xml" is not valid: expected one of auto, nginx-access, nginx-error, json, plain'],
    [{ DAYLOG_BATCH_WAIT: 'soon' }, 'DAYLOG_BATCH_WAIT="soon" is not valid: expected a positive duration such as 90s, 15m, 2h or 1d'],
    [{ DAYLOG_START_AT: 'middle' }, 'DAYLOG_START_AT="middle" is not valid: expected beginning or end (where to start a file seen for the first time)'],
    [{ DAYLOG_MAX_LINE_BYTES: '100' }, 'DAYLOG_MAX_LINE_BYTES="100" is not valid: expected at least 1024 (a cut line keeps room for its mark)'],
    [{ DAYLOG_BATCH_BYTES: '16777216' }, 'DAYLOG_BATCH_BYTES="16777216" is not valid: expected a whole number from 1 to 4194304'],
    [{ DAYLOG_BATCH_LINES: '100000' }, 'DAYLOG_BATCH_LINES="100000" is not valid: expected a whole number from 1 to 10000'],
    ...['http://daylog:8080/api/v1/logs', 'http://gateway/daylog/loki/api/v1/push/', 'http://daylog:8080/?token=x', 'http://daylog:8080#logs'].map(
      (url): [Record<string, string>, string] => [
        { DAYLOG_URL: url },
        `DAYLOG_URL=${JSON.stringify(url)} is not valid: expected the base URL only, without an endpoint path, query or fragment (the shipper adds /api/v1/logs), e.g. http://daylog:8080 or http://gateway/daylog`,
      ],
    ),
  ];
  for (const [bad, line] of badConfig) {
    it(`stops with one line naming ${Object.keys(bad)[0]}: ${Object.values(bad)[0]}`, async () => {
      const shipper = startShipper({ ...shipperEnv(rig, 'config'), ...bad });
      const [code] = await exitOf(shipper);
      assert.equal(code, 1);
      assert.equal(shipper.output(), `${line}\n`);
    });
  }

  it('starts at the end of files it has never seen when DAYLOG_START_AT=end', async () => {
    const { dir, env } = podDir('from-end', { DAYLOG_START_AT: 'end' });
    const access = join(dir, 'access.log');
    writeLines(access, 'old', 1, 100);
    const shipper = startShipper(env);
    await until('the shipper follows the file', () => shipper.output().includes('"event":"following"'));
    const written = writeLines(access, 'new', 1, 10);
    writeFileSync(join(dir, 'created-later.log'), 'new file line\n');
    written.push('new file line');
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'from-end', written.length), written);
    shipper.child.kill('SIGTERM');
    await exitOf(shipper);
  });

  it('stops with one line when DAYLOG_STATE_DIR is not set, and creates nothing beside the logs', async () => {
    const { dir, env } = podDir('no-state');
    writeLines(join(dir, 'access.log'), 'line', 1, 1);
    const { DAYLOG_STATE_DIR: _unset, ...withoutStateDir } = env;
    const shipper = startShipper(withoutStateDir);
    assert.deepEqual(await exitOf(shipper), [1, null]);
    assert.equal(
      shipper.output(),
      `DAYLOG_STATE_DIR="" is not valid: expected a directory for the shipper's checkpoints that survives its restarts, outside the log directories (in Kubernetes a volume of the pod, e.g. a small emptyDir)\n`,
    );
    assert.deepEqual(readdirSync(dir), ['access.log']);
  });

  it('ships no file through a link leading out of the folder its glob names or into its state, says so once, and follows links that stay inside', async () => {
    const port = await freePort();
    const stateDir = join(rig.logDir, 'links', 'state');
    const { dir, env } = podDir('links', { DAYLOG_METRICS_PORT: String(port), DAYLOG_STATE_DIR: stateDir });
    const credentials = join(rig.logDir, 'links-credentials');
    writeFileSync(credentials, 'password: hunter2\n');
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'checkpoints.json'), '{"version":2,"files":{}}');
    symlinkSync(credentials, join(dir, 'evil.log'));
    symlinkSync('../links-credentials', join(dir, 'relative.log'));
    symlinkSync(join(stateDir, 'checkpoints.json'), join(dir, 'state.log'));
    mkdirSync(join(dir, 'archive'));
    const written = writeLines(join(dir, 'archive', 'app-1.out'), 'inside', 1, 5);
    symlinkSync('archive/app-1.out', join(dir, 'current.log'));
    written.push(...writeLines(join(dir, 'access.log'), 'plain', 1, 5));
    const shipper = startShipper(env);
    await waitForLines(rig.aggregator.http, 'links', written.length);
    // A file created later makes the shipper list the folder again: the refusals are not said again.
    written.push(...writeLines(join(dir, 'later.log'), 'later', 1, 3));
    await waitForLines(rig.aggregator.http, 'links', written.length);
    const metrics = (await probe(port, '/metrics'))?.text ?? '';
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
    assertExactlyOnce(await storedMessages(rig.aggregator.http, 'links'), written);
    assert.match(metrics, /^daylog_shipper_files_skipped_total 3$/m);
    const outside = `its real path is outside the watched directories (${realpathSync(dir)})`;
    assert.deepEqual(
      shipper
        .events()
        .filter((e) => e.event === 'file_skipped')
        .map(({ path, real_path, reason }) => ({ path, real_path, reason }))
        .sort((a, b) => String(a.path).localeCompare(String(b.path))),
      [
        { path: join(dir, 'evil.log'), real_path: realpathSync(credentials), reason: outside },
        { path: join(dir, 'relative.log'), real_path: realpathSync(credentials), reason: outside },
        { path: join(dir, 'state.log'), real_path: realpathSync(join(stateDir, 'checkpoints.json')), reason: "its real path is inside the shipper's state directory" },
      ],
    );
  });

  it('says when a glob matches no file, once, and again when it starts and stops matching', async () => {
    const dir = join(rig.logDir, 'globs');
    const later = join(dir, 'later');
    mkdirSync(later, { recursive: true });
    const accessGlob = join(dir, '*.log');
    const laterGlob = join(later, '*.txt');
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'line', 1, 5);
    const shipper = startShipper(shipperEnv({ url: rig.url, logDir: dir }, 'globs', { DAYLOG_FILES: `${accessGlob},${laterGlob}` }));
    const said = (event: string, glob: string) => shipper.events().filter((e) => e.event === event && e.glob === glob);

    await until('the empty glob is reported', () => said('no_files_match', laterGlob).length === 1);
    assert.deepEqual(said('files_match', accessGlob).map((e) => e.files), [1]);
    await waitForLines(rig.aggregator.http, 'globs', written.length);

    writeFileSync(join(later, 'app.txt'), 'from the later glob\n');
    written.push('from the later glob');
    await until('the glob is reported matching', () => said('files_match', laterGlob).length === 1);
    assert.deepEqual(said('files_match', laterGlob).map((e) => e.files), [1]);
    await waitForLines(rig.aggregator.http, 'globs', written.length);

    rmSync(join(later, 'app.txt'));
    await until('the glob is reported empty again', () => said('no_files_match', laterGlob).length === 2);
    // Many listings later (lines written after the removal are read only after one), still said once each.
    written.push(...writeLines(access, 'after', 1, 5));
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'globs', written.length), written);
    assert.deepEqual(
      shipper.events().filter((e) => e.event === 'files_match' || e.event === 'no_files_match').map((e) => [e.event, e.glob]),
      [
        ['files_match', accessGlob],
        ['no_files_match', laterGlob],
        ['files_match', laterGlob],
        ['no_files_match', laterGlob],
      ],
    );
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
  });
});
