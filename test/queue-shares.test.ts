import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { tokenDigest } from '../apps/aggregator/src/auth/bearer-token';
import { QueueShares } from '../apps/aggregator/src/ingest/queue-shares';
import { protobufPush } from './support/bombs';
import { ManualClock, TestApp, TestAgent, queryJson, startTestApp } from './support/test-app';

const SHOP = 'shop-ingest-token-0001';
const PAYMENTS = 'payments-ingest-token-01';
/** The defaults: a queue of 200,000 lines, 100,000 of them a client's, requests of up to 100,000. */
const SHARE = 100_000;
const shareFull = (held: number) =>
  new RegExp(
    `^this client already has ${held} lines waiting to be written and may have at most ${SHARE}, half of DAYLOG_MAX_QUEUED_LINES: retry this batch once they are written, or send fewer lines at a time$`,
  );
const SHARE_FULL = new RegExp(
  `^this client already has ${SHARE} lines waiting to be written and may have at most ${SHARE}, half of DAYLOG_MAX_QUEUED_LINES: retry this batch once they are written, or send fewer lines at a time$`,
);

/** What an attacker sends: a 230-byte body of 100,000 lines. */
const FULL_BATCH = gzipSync(Buffer.alloc(SHARE * 2, 'y\n'), { level: 9 });

function sendText(http: TestAgent, token: string, pod: string, body: Buffer, namespace = 'shop') {
  return http
    .post(`/api/v1/logs?namespace=${namespace}&pod=${pod}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'text/plain')
    .set('Content-Encoding', 'gzip')
    .serialize((data: unknown) => data as string)
    .send(body);
}

/** Sends a whole batch and goes without waiting for its answer, once the server has started on it. */
async function sendAndLeave(t: TestApp, body: Buffer): Promise<void> {
  const server = t.app.getHttpServer();
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sent = httpRequest({
    port,
    method: 'POST',
    path: '/api/v1/logs?namespace=shop&pod=gone',
    headers: { Authorization: `Bearer ${SHOP}`, 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip', 'Content-Length': body.length },
  });
  sent.on('error', () => undefined);
  sent.end(body);
  await until(async () => (await queuedLines(t.http)) > 0 || sent.writableFinished, 'the batch was never sent');
  sent.destroy();
}

async function queuedLines(http: TestAgent): Promise<number> {
  return Number(/^daylog_ingest_queued_lines (\d+)$/m.exec((await http.get('/metrics')).text)![1]);
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, what);
    await sleep(5);
  }
}

describe('each client’s share of the writer’s queue', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()), env: { DAYLOG_INGEST_TOKENS: `${SHOP}=shop,${PAYMENTS}=payments` } });
  });
  after(() => t.close());

  it('refuses a client holding half the queue with a 429, while another client’s batch is stored', async () => {
    // then() sends it; a supertest request waits to be awaited otherwise.
    const first = sendText(t.http, SHOP, 'bulk-1', FULL_BATCH).then((response) => response);
    await until(async () => (await queuedLines(t.http)) >= SHARE, 'the first batch never queued');

    const second = sendText(t.http, SHOP, 'bulk-2', FULL_BATCH).then((response) => response);
    await Promise.race([second, until(async () => (await queuedLines(t.http)) >= 2 * SHARE, 'the second batch was neither answered nor queued')]);
    const [payments, lokiPush] = await Promise.all([
      t.http
        .post('/api/v1/logs')
        .set('Authorization', `Bearer ${PAYMENTS}`)
        .send({ labels: { namespace: 'payments', pod: 'pay-1' }, lines: [{ message: 'one payment' }] }),
      t.http
        .post('/loki/api/v1/push')
        .set('Authorization', `Bearer ${SHOP}`)
        .send({ streams: [{ stream: { namespace: 'shop', pod: 'bulk-3' }, values: [[`${t.clock.now()}000000`, 'one more']] }] }),
    ]);

    const refused = await second;
    assert.equal(refused.status, 429, `the shop's second batch: ${refused.status} ${refused.text}`);
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(refused.body.error, SHARE_FULL);
    assert.equal(lokiPush.status, 429, `the shop's push: ${lokiPush.status} ${lokiPush.text}`);
    assert.match(lokiPush.body.error, SHARE_FULL);
    assert.equal(payments.status, 200, `the payments batch: ${payments.status} ${payments.text}`);
    assert.deepEqual(payments.body, { accepted: 1, rejected: [], duplicate: false });
    assert.equal((await first).status, 200);
    assert.equal((await first).body.accepted, SHARE);

    assert.deepEqual(
      (await queryJson(t.http, { namespace: 'payments' })).lines.map((line) => line.message),
      ['one payment'],
    );
    for (const pod of ['bulk-2', 'bulk-3']) assert.deepEqual((await queryJson(t.http, { pod })).lines, []);
    // Its share given back, the shop is served again.
    assert.equal((await sendText(t.http, SHOP, 'bulk-4', FULL_BATCH)).status, 200);
  });

  it('refuses bodies past the share once their lines are counted, before any is split or validated, and gives every hold back', async () => {
    // What a batch of the shop's in the writer holds, all but a line of the share: held here, so that it stays.
    const inTheWriter = t.app.get(QueueShares).reserve(`token:${tokenDigest(SHOP).toString('base64url')}`, SHARE - 1);
    // Lines for a namespace the shop's token may not write: a body whose lines were validated is answered 403.
    const forbidden = (pod: string) => sendText(t.http, SHOP, pod, FULL_BATCH, 'payments');
    const bodies = Array.from({ length: 20 }, (_, i) => forbidden(`refused-${i}`).then((response) => response));
    const push = protobufPush([{ labels: '{namespace="payments", pod="refused-push"}', entries: [{ ms: t.clock.now(), line: 'one' }, { ms: t.clock.now(), line: 'two' }] }]);
    const lokiPush = t.http
      .post('/loki/api/v1/push')
      .set('Authorization', `Bearer ${SHOP}`)
      .set('Content-Type', 'application/x-protobuf')
      .serialize((data: unknown) => data as string)
      .send(push)
      .then((response) => response);
    const health = await t.http.get('/healthz');
    const answers = await Promise.all([...bodies, lokiPush]);
    inTheWriter();

    assert.equal(health.status, 200);
    for (const answer of answers) {
      assert.equal(answer.status, 429, `a body past the share: ${answer.status} ${answer.text.slice(0, 200)}`);
      assert.equal(answer.headers['retry-after'], '1');
      assert.match(answer.body.error, shareFull(SHARE - 1));
    }
    // Each way a request ends gives its hold back: refused after validation, refused as too long, stored, client gone.
    assert.equal((await forbidden('validated')).status, 403);
    const tooLong = gzipSync(Buffer.alloc((SHARE + 1) * 2, 'y\n'));
    assert.equal((await sendText(t.http, SHOP, 'too-long', tooLong)).status, 413);
    assert.equal((await sendText(t.http, SHOP, 'stored', FULL_BATCH)).body.accepted, SHARE);
    await sendAndLeave(t, FULL_BATCH);
    const whole = await sendText(t.http, SHOP, 'after-all', FULL_BATCH);
    assert.equal(whole.status, 200, `a batch of the whole share after all of them: ${whole.status} ${whole.text}`);
    assert.equal(whole.body.accepted, SHARE);
  });
});
