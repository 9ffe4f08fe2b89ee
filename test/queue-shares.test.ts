import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { ManualClock, TestApp, TestAgent, queryJson, startTestApp } from './support/test-app';

const SHOP = 'shop-ingest-token-0001';
const PAYMENTS = 'payments-ingest-token-01';
/** The defaults: a queue of 200,000 lines, 100,000 of them a client's, requests of up to 100,000. */
const SHARE = 100_000;
const SHARE_FULL = new RegExp(
  `^this client already has ${SHARE} lines waiting to be written and may have at most ${SHARE}, half of DAYLOG_MAX_QUEUED_LINES: retry this batch once they are written, or send fewer lines at a time$`,
);

/** What an attacker sends: a 230-byte body of 100,000 lines. */
const FULL_BATCH = gzipSync(Buffer.alloc(SHARE * 2, 'y\n'), { level: 9 });

function sendText(http: TestAgent, token: string, pod: string, body: Buffer) {
  return http
    .post(`/api/v1/logs?namespace=shop&pod=${pod}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', 'text/plain')
    .set('Content-Encoding', 'gzip')
    .serialize((data: unknown) => data as string)
    .send(body);
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
});
