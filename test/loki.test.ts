import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { ManualClock, TestApp, WireLineBody, queryJson, startTestApp, withoutCursor } from './support/test-app';

/** Lines of a pod, once `count` of them are stored. */
async function storedLines(t: TestApp, pod: string, count: number): Promise<Omit<WireLineBody, 'cursor'>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { lines } = await queryJson(t.http, { pod, direction: 'forward' });
    if (lines.length >= count) return lines.map(withoutCursor);
    if (Date.now() > deadline) throw new Error(`${pod}: ${lines.length} of ${count} lines after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('POST /loki/api/v1/push', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = await t.app.getUrl();
  });
  after(() => t.close());

  for (const json of [false, true]) {
    it(`takes winston-loki's ${json ? 'JSON' : 'protobuf + snappy'} pushes, labels mapped and the others kept as fields`, async () => {
      if (!json) assert.equal(typeof createRequire(__filename)('snappy').compressSync, 'function', 'winston-loki sends protobuf only when snappy loads');
      const pod = `checkout-${json ? 'json' : 'protobuf'}`;
      const transport = new LokiTransport({
        host: url,
        labels: { namespace: 'shop', pod, container: 'app', app: 'checkout' },
        json,
        batching: true,
        interval: 0.05,
      });
      const logger = winston.createLogger({ transports: [transport] });
      logger.info('order 42 paid');
      logger.error('payment declined');
      const lines = await storedLines(t, pod, 2);
      await transport.close?.();
      assert.deepEqual(
        lines.map(({ level, namespace, pod: linePod, container, message, fields }) => ({
          level,
          namespace,
          pod: linePod,
          container,
          message: message.split(' {')[0],
          app: fields?.app,
        })),
        [
          { level: 'info', namespace: 'shop', pod, container: 'app', message: 'order 42 paid', app: 'checkout' },
          { level: 'error', namespace: 'shop', pod, container: 'app', message: 'payment declined', app: 'checkout' },
        ],
      );
      for (const line of lines) assert.ok(Math.abs(Date.parse(line.ts) - Date.now()) < 60_000);
    });
  }

  it("takes pino-loki's pushes, pino's level as the level and the app's labels mapped", async () => {
    const stream = pinoLoki({ host: url, labels: { k8s_namespace_name: 'payments', k8s_pod_name: 'pay-7f9', service: 'pay' }, batching: false });
    const logger = pino({ base: null }, stream);
    logger.warn({ attempt: 3 }, 'card network slow');
    logger.fatal('ledger unreachable');
    // Without batching, pino-loki sends each line in a request of its own, both at once: lines of one millisecond
    // from requests in flight together have no order between them (several connections write to PostgreSQL).
    const lines = (await storedLines(t, 'pay-7f9', 2)).sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || a.message.localeCompare(b.message));
    stream.end();
    assert.deepEqual(
      lines.map(({ level, namespace, pod, fields }) => ({ level, namespace, pod, service: fields?.service })),
      [
        { level: 'warn', namespace: 'payments', pod: 'pay-7f9', service: 'pay' },
        { level: 'fatal', namespace: 'payments', pod: 'pay-7f9', service: 'pay' },
      ],
    );
    assert.match(lines[0].message, /card network slow/);
  });

  it('files a stream without a pod label under its job, and keeps structured metadata as fields', async () => {
    const ns = `${Date.now()}000000`;
    const response = await t.http
      .post('/loki/api/v1/push')
      .send({ streams: [{ stream: { job: 'fluent-bit', stream: 'stderr' }, values: [[ns, 'disk almost full', { trace_id: 'abc123' }]] }] });
    assert.equal(response.status, 204);
    const [line] = await storedLines(t, 'fluent-bit', 1);
    assert.deepEqual([line.message, line.level, line.fields], ['disk almost full', 'info', { stream: 'stderr', trace_id: 'abc123' }]);
    assert.equal(line.ts, new Date(Math.floor(Number(BigInt(ns) / 1_000_000n))).toISOString());
  });

  it('stores the valid entries and answers 400 naming the others, as Loki does', async () => {
    const now = `${Date.now()}000000`;
    const response = await t.http.post('/loki/api/v1/push').send({
      streams: [{ stream: { pod: 'mixed' }, values: [[now, 'good'], ['yesterday', 'bad time'], [now, '']] }],
    });
    assert.equal(response.status, 400);
    assert.match(response.body.error, /^2 of 3 entries refused \(1 stored\): entry 1: ts must be .*; entry 2: message is required/);
    assert.deepEqual((await storedLines(t, 'mixed', 1)).map((line) => line.message), ['good']);
  });

  it('reads a push time as nanoseconds whatever its number of digits, as Loki does', async () => {
    const nowMs = t.clock.now();
    // Daylog's own API would read these 16 digits as microseconds (now); Loki's protocol says nanoseconds (1970).
    const microsecondsByMistake = `${nowMs}000`;
    const response = await t.http.post('/loki/api/v1/push').send({
      streams: [{ stream: { pod: 'loki-ns' }, values: [[`${nowMs}000000`, 'nanoseconds'], [microsecondsByMistake, 'microseconds']] }],
    });
    assert.equal(response.status, 400);
    assert.match(response.body.error, /^1 of 2 entries refused \(1 stored\): entry 1: ts is older than the retention$/);
    const legacy = await t.http.post('/loki/api/v1/push').send({
      streams: [{ labels: '{pod="loki-ns"}', entries: [{ ts: new Date(nowMs - 1000).toISOString(), line: 'legacy' }, { ts: Math.floor(nowMs / 1000), line: 'a number' }] }],
    });
    assert.match(legacy.body.error, /^1 of 2 entries refused \(1 stored\): entry 1: ts must be /);
    assert.deepEqual((await storedLines(t, 'loki-ns', 2)).map((line) => [line.message, line.ts]), [
      ['legacy', new Date(nowMs - 1000).toISOString()],
      ['nanoseconds', new Date(nowMs).toISOString()],
    ]);
  });

  it('refuses a body that is not a push, garbled protobuf, and other content types', async () => {
    const notPush = await t.http.post('/loki/api/v1/push').send({ lines: [] });
    assert.equal(notPush.status, 400);
    assert.match(notPush.body.error, /a Loki push is \{"streams"/);
    const garbled = await t.http.post('/loki/api/v1/push').set('Content-Type', 'application/x-protobuf').send(Buffer.from('not snappy at all'));
    assert.equal(garbled.status, 400);
    assert.match(garbled.body.error, /not a snappy-compressed Loki PushRequest/);
    const text = await t.http.post('/loki/api/v1/push').set('Content-Type', 'text/plain').send('hello');
    assert.equal(text.status, 415);
    const protobufToDaylog = await t.http.post('/api/v1/logs').set('Content-Type', 'application/x-protobuf').send(Buffer.from('x'));
    assert.equal(protobufToDaylog.status, 415);
    assert.match(protobufToDaylog.body.error, /\/loki\/api\/v1\/push/);
  });
});
