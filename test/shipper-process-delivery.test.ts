import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ShipperRig,
  assertExactlyOnce,
  freePort,
  savedOffsets,
  shipperEnv,
  startProxy,
  startRig,
  stateDirOf,
  storedMessages,
  until,
  waitForLines,
  writeLines,
  podDir as podDirOf,
} from './support/shipper-harness';
import { exitOf, probe, startShipper } from './support/shipper-process';

describe('shipper process against an aggregator that is down', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  const podDir = (pod: string, env: Record<string, string> = {}) => podDirOf(rig, pod, env);

  it('keeps the lines while the aggregator answers 503, logs each failed attempt, and says when it works again', async () => {
    let up = false;
    // The proxy first: started after a free port was picked, it could be given that very port by the system.
    const gate = await startProxy(rig.url, () => (up ? null : { status: 503, body: '{"error":"the writer is behind"}' }));
    const port = await freePort();
    const { dir, env } = podDir('outage', { DAYLOG_METRICS_PORT: String(port) });
    try {
      const written = writeLines(join(dir, 'access.log'), 'line', 1, 50);
      const shipper = startShipper({ ...env, DAYLOG_URL: gate.url });
      const retries = () => shipper.events().filter((e) => e.event === 'retry');
      await until('three failed attempts', () => retries().length >= 3);
      const healthz = await probe(port, '/healthz');
      assert.equal(healthz?.status, 503);
      assert.deepEqual({ ...JSON.parse(healthz.text), since: '' }, { status: 'failing', reason: '503 the writer is behind', since: '' });
      assert.deepEqual(savedOffsets(stateDirOf(dir)), [0]);
      up = true;
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'outage', written.length), written);
      await until('the recovery is logged', () => shipper.events().some((e) => e.event === 'delivery_recovered'));
      const attempts = retries();
      assert.deepEqual(
        attempts.map(({ attempt, status, cause, reason }) => ({ attempt, status, cause, reason })),
        attempts.map((_, i) => ({ attempt: i + 1, status: 503, cause: 'unavailable', reason: '503 the writer is behind' })),
      );
      assert.ok(attempts.every((e) => typeof e.delay_ms === 'number' && e.delay_ms >= 0 && e.delay_ms <= 30_000));
      const recovered = shipper.events().find((e) => e.event === 'delivery_recovered')!;
      assert.equal(recovered.failed_attempts, attempts.length);
      assert.ok(typeof recovered.failed_for_ms === 'number' && recovered.failed_for_ms > 0);
      assert.deepEqual(await probe(port, '/healthz'), { status: 200, text: '{"status":"ok"}' });
      shipper.child.kill('SIGTERM');
      assert.deepEqual(await exitOf(shipper), [0, null]);
    } finally {
      gate.close();
    }
  });
});

describe('shipper process with a wrong token', () => {
  const TOKEN = 'the-right-ingest-token-42';
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig({ DAYLOG_INGEST_TOKENS: TOKEN });
  });
  after(() => rig.close());

  it('keeps every line, is unhealthy on /healthz and /metrics but alive on /livez, and ships each line once after a restart with the right token', async () => {
    const port = await freePort();
    const dir = join(rig.logDir, 'token');
    mkdirSync(dir);
    const env = shipperEnv({ url: rig.url, logDir: dir }, 'token', { DAYLOG_TOKEN: 'a-rotated-token-gone-wrong', DAYLOG_METRICS_PORT: String(port) });
    const access = join(dir, 'access.log');
    const written = writeLines(access, 'line', 1, 300);
    let shipper = startShipper(env);
    const refusals = () => shipper.events().filter((e) => e.event === 'retry');
    // More attempts than the three after which the shipper used to give the lines up.
    await until('five refused attempts', () => refusals().length >= 5);

    const healthz = await probe(port, '/healthz');
    assert.equal(healthz?.status, 503);
    const health = JSON.parse(healthz.text) as { status: string; reason: string; since: string };
    assert.deepEqual([health.status, health.reason], ['failing', "401 the token is not one of this server's ingest tokens"]);
    assert.ok(Date.parse(health.since) <= Date.now(), health.since);
    const metrics = (await probe(port, '/metrics'))?.text ?? '';
    assert.match(metrics, /^daylog_shipper_delivery_failing 1$/m);
    assert.match(metrics, /^daylog_shipper_delivery_failures_total\{cause="unauthorized"\} [1-9]\d*$/m);
    assert.match(metrics, /^daylog_shipper_lines_rejected_total 0$/m);
    assert.deepEqual(await probe(port, '/livez'), { status: 200, text: '{"status":"ok"}' });
    assert.ok(refusals().every((e) => e.status === 401 && e.reason === "401 the token is not one of this server's ingest tokens"));
    assert.deepEqual(await storedMessages(rig.aggregator.http, 'token'), []);
    assert.deepEqual(savedOffsets(stateDirOf(dir)), [0]);

    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null], shipper.output());
    assert.deepEqual(savedOffsets(stateDirOf(dir)), [0], 'the offset moved past lines that were never stored');
    assert.ok(!existsSync(join(dir, '.daylog')));

    written.push(...writeLines(access, 'more', 1, 100));
    shipper = startShipper({ ...env, DAYLOG_TOKEN: TOKEN });
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'token', written.length), written);
    await until('/healthz is ok', async () => (await probe(port, '/healthz'))?.status === 200);
    shipper.child.kill('SIGTERM');
    assert.deepEqual(await exitOf(shipper), [0, null]);
  });
});
