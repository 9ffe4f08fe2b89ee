import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, imageCommand } from './support/image-command';
import { inheritedEnv } from './support/process-env';
import { ShipperRig, assertExactlyOnce, shipperEnv, startRig, until, waitForLines, writeLines } from './support/shipper-harness';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The built shipper, with the command line of the image's `shipper` stage, run from the repository as /app. */
function startShipper(env: Record<string, string>): { child: ChildProcess; exited: Promise<[number | null, string | null]>; output: () => string } {
  const [program, args] = imageCommand('shipper');
  const child = spawn(program, args, { cwd: REPO, env: { ...inheritedEnv(), ...env }, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, exited: once(child, 'exit') as Promise<[number | null, string | null]>, output: () => output };
}

describe('shipper process', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  const podDir = (pod: string, env: Record<string, string> = {}) => {
    const dir = join(rig.logDir, pod);
    mkdirSync(dir);
    return { dir, env: shipperEnv({ url: rig.url, logDir: dir }, pod, env) };
  };

  it('flushes on SIGTERM, exits 0, and a restart ships the rest once', async () => {
    const metricsPort = String(20000 + Math.floor(Math.random() * 20000));
    const { dir, env } = podDir('sigterm', { DAYLOG_BATCH_WAIT: '30s', DAYLOG_BATCH_LINES: '10000', DAYLOG_METRICS_PORT: metricsPort });
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'line', 1, 500);
    let shipper = startShipper(env);
    const linesRead = async () =>
      (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '')).includes('daylog_shipper_lines_read_total 500');
    await until('the shipper reads 500 lines', linesRead);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await shipper.exited, [0, null], shipper.output());
    assert.equal((await waitForLines(rig.aggregator.http, 'sigterm', 500, 2000)).length, 500, 'the pending batch was flushed at SIGTERM');
    written.push(...writeLines(access, 'after', 1, 500));
    shipper = startShipper({ ...env, DAYLOG_BATCH_WAIT: '100ms' });
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'sigterm', written.length), written);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await shipper.exited, [0, null]);
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
      await shipper.exited;
      shipper = startShipper(env);
    }
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'sigkill', written.length, 30_000), written);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await shipper.exited, [0, null]);
  });

  it('finishes files rotated twice while it was down, and a file truncated and regrown meanwhile', async () => {
    const { dir, env } = podDir('down');
    const access = join(dir, 'access.log');
    const app = join(dir, 'app.log');
    const written = [...writeLines(access, 'a', 1, 300), ...writeLines(app, 'b', 1, 300)];
    let shipper = startShipper(env);
    await waitForLines(rig.aggregator.http, 'down', written.length);
    shipper.child.kill('SIGTERM');
    await shipper.exited;

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
    assert.deepEqual(await shipper.exited, [0, null]);
  });

  it('serves /metrics and /healthz when asked to', async () => {
    const { dir, env } = podDir('metrics', { DAYLOG_METRICS_PORT: String(20000 + Math.floor(Math.random() * 20000)) });
    writeLines(join(dir, 'access.log'), 'line', 1, 10);
    const shipper = startShipper(env);
    await waitForLines(rig.aggregator.http, 'metrics', 10);
    let metrics = '';
    for (let attempt = 0; attempt < 20 && !metrics.includes('daylog_shipper_lines_shipped_total 10'); attempt++) {
      metrics = await (await fetch(`http://127.0.0.1:${env.DAYLOG_METRICS_PORT}/metrics`)).text();
      await pause(100);
    }
    assert.match(metrics, /^daylog_shipper_lines_read_total 10$/m);
    assert.match(metrics, /^daylog_shipper_lines_shipped_total 10$/m);
    assert.match(metrics, /^daylog_shipper_bytes_behind 0$/m);
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${env.DAYLOG_METRICS_PORT}/healthz`)).json(), { status: 'ok' });
    shipper.child.kill('SIGTERM');
    await shipper.exited;
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
  ];
  for (const [bad, line] of badConfig) {
    it(`stops with one line naming ${Object.keys(bad)[0]}`, async () => {
      const shipper = startShipper({ ...shipperEnv(rig, 'config'), ...bad });
      const [code] = await shipper.exited;
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
    await shipper.exited;
  });
});
