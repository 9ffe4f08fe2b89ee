import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeliveryFailureCause, RetryPolicy } from '@daylog/shipper';
import {
  CannedAnswer,
  RunningShipper,
  ShipperRig,
  assertExactlyOnce,
  runShipper,
  savedOffsets,
  startProxy,
  startRig,
  stateDirOf,
  storedMessages,
  until,
  waitForLines,
  writeLines,
  podDir as podDirOf,
} from './support/shipper-harness';

/** Small steps, so that a test sees many attempts without waiting for the production backoff. */
const FAST_RETRY: RetryPolicy = { baseMs: 10, capMs: 50 };

/** Enough attempts to tell "kept and retried" from the three tries after which the shipper used to give up. */
const MANY_ATTEMPTS = 6;

const failuresOf = (shipper: RunningShipper, cause: DeliveryFailureCause) => shipper.metrics.deliveryFailures[cause];

/** While refused: nothing stored, nothing given up, the saved offsets still at the start, the shipper saying why. */
async function assertKeptWhileRefused(rig: ShipperRig, pod: string, dir: string, shipper: RunningShipper, cause: DeliveryFailureCause, reason: RegExp) {
  await until(`${MANY_ATTEMPTS} attempts failed as ${cause}`, () => failuresOf(shipper, cause) >= MANY_ATTEMPTS);
  assert.deepEqual(await storedMessages(rig.aggregator.http, pod), []);
  assert.deepEqual([shipper.metrics.linesRejected, shipper.metrics.batchesDropped], [0, 0]);
  assert.deepEqual(savedOffsets(stateDirOf(dir)), [0]);
  const status = shipper.health.status();
  assert.equal(status.status, 'failing');
  assert.match(status.status === 'failing' ? status.reason : '', reason);
  assert.ok(status.status === 'failing' && Date.parse(status.since) <= Date.now());
  assert.equal(shipper.metrics.deliveryFailing, 1);
  assert.match(shipper.metrics.toPrometheus(), new RegExp(`^daylog_shipper_delivery_failures_total\\{cause="${cause}"\\} [1-9]\\d*$`, 'm'));
  assert.match(shipper.metrics.toPrometheus(), /^daylog_shipper_delivery_failing 1$/m);
}

async function assertDeliveredOnce(rig: ShipperRig, pod: string, dir: string, shipper: RunningShipper, written: string[]) {
  assertExactlyOnce(await waitForLines(rig.aggregator.http, pod, written.length), written);
  await until('the shipper says deliveries work again', () => shipper.health.status().status === 'ok');
  assert.equal(shipper.metrics.deliveryFailing, 0);
  await shipper.stop();
  assert.deepEqual(savedOffsets(stateDirOf(dir)), [statSync(join(dir, 'access.log')).size]);
}

describe('shipper delivery', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  const podDir = (pod: string, env: Record<string, string> = {}) => podDirOf(rig, pod, env);

  /** Answers about the sender's configuration or the aggregator, not the lines: none may cost a line. */
  const refusals: [string, CannedAnswer | 'hang-up', DeliveryFailureCause, RegExp][] = [
    ['a wrong token (401)', { status: 401, body: `{"error":"the token is not one of this server's ingest tokens"}` }, 'unauthorized', /^401 the token is not one of this server's ingest tokens$/],
    ['a read token (403)', { status: 403, body: '{"error":"this token may only read; this needs a ingest token"}' }, 'forbidden', /^403 this token may only read/],
    ['a 405 from something else at the URL', { status: 405, headers: { 'Content-Type': 'text/html' }, body: '<html>\n<h1>405 Not Allowed</h1>\n</html>' }, 'client_error', /^405 <html> <h1>405 Not Allowed<\/h1> <\/html>$/],
    ['a 415', { status: 415, body: '{"error":"Content-Type \\"text/plain\\" is not accepted"}' }, 'client_error', /^415 Content-Type "text\/plain" is not accepted$/],
    ['a 400 about the request, not its lines', { status: 400, body: '{"error":"the body is not valid gzip"}' }, 'client_error', /^400 the body is not valid gzip$/],
    ['a 500', { status: 500, body: '{"error":"internal error; the server log has the details"}' }, 'server_error', /^500 internal error/],
    ['a full disk (507)', { status: 507, body: '{"error":"the disk is full"}' }, 'disk_full', /^507 the disk is full$/],
    ['a 200 that is not the aggregator\'s answer', { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html>sign in</html>' }, 'unexpected_answer', /^200 is not an answer of Daylog's ingest \(is DAYLOG_URL the aggregator\?\): <html>sign in<\/html>$/],
    ['a connection closed without an answer', 'hang-up', 'unreachable', /^aggregator unreachable: socket hang up$/],
  ];
  for (const [i, [what, refusal, cause, reason]] of refusals.entries()) {
    it(`keeps the lines through ${what}, retrying until the aggregator takes them, then ships each once`, async () => {
      const pod = `kept-${i}`;
      const { dir, env } = podDir(pod);
      let refusing = true;
      const proxy = await startProxy(rig.url, () => (refusing ? refusal : null));
      try {
        const written = writeLines(join(dir, 'access.log'), 'line', 1, 20);
        const shipper = runShipper({ ...env, DAYLOG_URL: proxy.url }, FAST_RETRY);
        await assertKeptWhileRefused(rig, pod, dir, shipper, cause, reason);
        refusing = false;
        await assertDeliveredOnce(rig, pod, dir, shipper, written);
      } finally {
        proxy.close();
      }
    });
  }

  it('keeps the lines while DAYLOG_URL names a path the aggregator does not serve (404), and ships them once the URL is fixed', async () => {
    const { dir, env } = podDir('wrong-path');
    const written = writeLines(join(dir, 'access.log'), 'line', 1, 20);
    let shipper = runShipper({ ...env, DAYLOG_URL: `${rig.url}/nowhere` }, FAST_RETRY);
    await assertKeptWhileRefused(rig, 'wrong-path', dir, shipper, 'not_found', /^404 Cannot POST \/nowhere\/api\/v1\/logs\?/);
    // Stopped while refused: the batch's range stays saved and unacknowledged, to be sent again.
    await shipper.stop(100);
    assert.deepEqual(savedOffsets(stateDirOf(dir)), [0]);
    written.push(...writeLines(join(dir, 'access.log'), 'after', 1, 5));
    shipper = runShipper(env, FAST_RETRY);
    assertExactlyOnce(await waitForLines(rig.aggregator.http, 'wrong-path', written.length), written);
    await shipper.stop();
  });

  it('gives up, and counts, lines the aggregator refuses as lines: every line of a batch invalid (400)', async () => {
    const { dir, env } = podDir('all-invalid');
    const app = join(dir, 'app.log');
    writeFileSync(app, '{"msg":"too old","time":"2020-01-01T00:00:00Z"}\n{"msg":"also too old","time":"2020-01-01T00:00:01Z"}\n');
    const shipper = runShipper(env, FAST_RETRY);
    await until('the invalid lines are given up', () => shipper.metrics.linesRejected === 2);
    writeFileSync(app, '{"msg":"fresh"}\n', { flag: 'a' });
    assert.deepEqual(await waitForLines(rig.aggregator.http, 'all-invalid', 1), ['fresh']);
    assert.equal(shipper.health.status().status, 'ok');
    assert.deepEqual(Object.values(shipper.metrics.deliveryFailures).filter((n) => n > 0), []);
    await shipper.stop();
    assert.deepEqual(savedOffsets(stateDirOf(dir)), [statSync(app).size]);
  });

  it('gives up, and counts, a single line the aggregator still answers 413 after halving', async () => {
    const { dir, env } = podDir('too-large');
    let tooLarge = true;
    const proxy = await startProxy(rig.url, () => (tooLarge ? { status: 413, body: '{"error":"the body is larger than 100 bytes"}' } : null));
    try {
      const access = join(dir, 'access.log');
      writeLines(access, 'huge', 1, 4);
      const shipper = runShipper({ ...env, DAYLOG_URL: proxy.url }, FAST_RETRY);
      await until('the four lines are given up one by one', () => shipper.metrics.batchesDropped === 4);
      assert.equal(shipper.metrics.linesRejected, 4);
      tooLarge = false;
      const written = writeLines(access, 'small', 1, 3);
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'too-large', written.length), written);
      await shipper.stop();
    } finally {
      proxy.close();
    }
  });

  it('uses a path in DAYLOG_URL as the prefix of a gateway in front of the aggregator', async () => {
    const { dir, env } = podDir('prefixed');
    const gateway = await startProxy(rig.url, () => null, { pathPrefix: '/daylog' });
    try {
      const written = writeLines(join(dir, 'access.log'), 'line', 1, 20);
      const shipper = runShipper({ ...env, DAYLOG_URL: `${gateway.url}/daylog/` }, FAST_RETRY);
      assertExactlyOnce(await waitForLines(rig.aggregator.http, 'prefixed', written.length), written);
      assert.ok(gateway.paths.length > 0 && gateway.paths.every((path) => path.startsWith('/daylog/api/v1/logs?')), gateway.paths.join(' '));
      await shipper.stop();
    } finally {
      gateway.close();
    }
  });

  it('never ships its own state files, even when a glob reaches them', async () => {
    const { dir, env } = podDir('own-state');
    const app = join(dir, 'app.log');
    const written = writeLines(app, 'line', 1, 10);
    const shipper = runShipper({ ...env, DAYLOG_FILES: join(dir, '**'), DAYLOG_STATE_DIR: join(dir, 'state') });
    await waitForLines(rig.aggregator.http, 'own-state', written.length);
    // By now the glob has been listed many times since checkpoints.json was first written.
    written.push(...writeLines(app, 'after', 1, 10));
    await waitForLines(rig.aggregator.http, 'own-state', written.length);
    await shipper.stop();
    assertExactlyOnce(await storedMessages(rig.aggregator.http, 'own-state'), written);
  });
});
