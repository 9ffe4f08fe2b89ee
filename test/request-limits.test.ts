import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BOMB_POD, PushEntry, bombs, protobufPush, varint } from './support/bombs';
import { ManualClock, TestApp, queryJson, startTestApp } from './support/test-app';

/** Sends the bytes as given: superagent would otherwise serialise a Buffer as a JSON object. */
const asGiven = (data: unknown) => data as string;

describe('a small body that would become millions of lines or objects', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()) });
  });
  after(() => t.close());

  for (const bomb of bombs()) {
    it(`is a 413 from counting, with the server still answering: ${bomb.name} (${bomb.body.length} bytes of gzip)`, async () => {
      const response = await t.http
        .post(bomb.path)
        .set('Content-Type', bomb.contentType)
        .set('Content-Encoding', 'gzip')
        .serialize(asGiven)
        .send(bomb.body);
      assert.equal(response.status, 413, response.text.slice(0, 300));
      assert.match(response.body.error, bomb.error);
      assert.equal((await t.http.get('/healthz')).status, 200);
    });
  }

  it('stores nothing of any of them', async () => {
    assert.deepEqual((await queryJson(t.http, { pod: BOMB_POD })).lines, []);
  });

  it('refuses a snappy block declaring more than DAYLOG_MAX_BODY_BYTES before decompressing it', async () => {
    const declaresOneGiB = Buffer.concat([varint(1024 ** 3), Buffer.from([0x00])]);
    const response = await t.http.post('/loki/api/v1/push').set('Content-Type', 'application/x-protobuf').serialize(asGiven).send(declaresOneGiB);
    assert.equal(response.status, 413);
    assert.deepEqual(response.body, {
      error: 'the body is larger than 16777216 bytes (DAYLOG_MAX_BODY_BYTES, counted after decompression); send smaller batches',
    });
  });
});

describe('DAYLOG_MAX_LINES_PER_REQUEST', () => {
  const MAX = 100;
  let t: TestApp;
  before(async () => {
    // A client's share of the queue holds no more than one request: a batch past it must be refused even with the queue empty.
    t = await startTestApp({ clock: new ManualClock(Date.now()), env: { DAYLOG_MAX_LINES_PER_REQUEST: String(MAX), DAYLOG_MAX_QUEUED_LINES: String(2 * MAX) } });
  });
  after(() => t.close());

  const messages = (count: number) => Array.from({ length: count }, (_, i) => `line ${i}`);
  const entries = (count: number): PushEntry[] => messages(count).map((line) => ({ ms: t.clock.now(), line }));
  const nanoseconds = () => `${t.clock.now()}000000`;
  /** The lines in two streams or a batch, so that the limit is seen to count across them. */
  const send: Record<string, (pod: string, count: number) => Promise<{ status: number; body: { error?: string } }>> = {
    text: (pod, count) => t.http.post(`/api/v1/logs?pod=${pod}`).set('Content-Type', 'text/plain').send(`${messages(count).join('\n')}\n`),
    ndjson: (pod, count) =>
      t.http
        .post(`/api/v1/logs?pod=${pod}`)
        .set('Content-Type', 'application/x-ndjson')
        .send(messages(count).map((message) => JSON.stringify({ message })).join('\n')),
    'JSON array': (pod, count) => t.http.post('/api/v1/logs').send(messages(count).map((message) => ({ pod, message }))),
    'JSON batch': (pod, count) => t.http.post('/api/v1/logs').send({ labels: { pod }, lines: messages(count).map((message) => ({ message })) }),
    'Loki JSON': (pod, count) =>
      t.http.post('/loki/api/v1/push').send({
        streams: [
          { stream: { pod, stream: 'stdout' }, values: messages(count - 40).map((line) => [nanoseconds(), line]) },
          { stream: { pod, stream: 'stderr' }, values: messages(40).map((line) => [nanoseconds(), line]) },
        ],
      }),
    'Loki protobuf': (pod, count) =>
      t.http
        .post('/loki/api/v1/push')
        .set('Content-Type', 'application/x-protobuf')
        .serialize(asGiven)
        .send(protobufPush([{ labels: `{pod="${pod}", stream="stdout"}`, entries: entries(count - 40) }, { labels: `{pod="${pod}", stream="stderr"}`, entries: entries(40) }])),
  };

  for (const [path, post] of Object.entries(send)) {
    const pod = path.toLowerCase().replace(/ /g, '-');
    it(`takes ${MAX} lines as ${path}`, async () => {
      const response = await post(`${pod}-at-limit`, MAX);
      assert.ok(response.status === 200 || response.status === 204, JSON.stringify(response.body));
      assert.equal((await queryJson(t.http, { pod: `${pod}-at-limit`, limit: '1000' })).lines.length, MAX);
    });

    it(`refuses ${MAX + 1} lines as ${path} with 413, even with the queue empty, and stores none`, async () => {
      const response = await post(`${pod}-past-limit`, MAX + 1);
      assert.equal(response.status, 413);
      const noun = path.startsWith('Loki') ? 'entries' : 'lines';
      assert.deepEqual(response.body, {
        error: `the request has more than ${MAX} ${noun} (DAYLOG_MAX_LINES_PER_REQUEST): split the batch into requests of at most ${MAX} ${noun}`,
      });
      assert.deepEqual((await queryJson(t.http, { pod: `${pod}-past-limit` })).lines, []);
    });
  }

  it('counts blank lines of a text body, as rejections number them', async () => {
    const response = await t.http.post('/api/v1/logs?pod=blank').set('Content-Type', 'text/plain').send(`${'\n'.repeat(MAX)}one line`);
    assert.equal(response.status, 413);
  });

  it('refuses a protobuf push of more streams, entries and metadata pairs than its lines can need', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`key${i}`, 'value']));
    const push = protobufPush([{ labels: '{pod="metadata"}', entries: entries(MAX).map((entry) => ({ ...entry, metadata })) }]);
    const response = await t.http.post('/loki/api/v1/push').set('Content-Type', 'application/x-protobuf').serialize(asGiven).send(push);
    assert.equal(response.status, 413);
    assert.deepEqual(response.body, {
      error: `the body holds more than ${5 * MAX + 3} streams, entries and metadata pairs, more than ${MAX} lines (DAYLOG_MAX_LINES_PER_REQUEST) can need: split the batch into smaller requests`,
    });
  });
});
