import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { MINUTE, ManualClock, TestApp, startTestApp } from './support/test-app';

const READER = 'reader-token-0123456789';
const SHOP_READER = 'shop-reader-token-0123456789';
const WRITER = 'writer-token-0123456789';

interface Frame {
  streams: { stream: Record<string, string>; values: [string, string, object?][] }[];
  dropped_entries?: unknown[];
}

/** A WebSocket tail, as Grafana's browser or logcli opens it, with the messages it has had. */
class LokiTail {
  readonly frames: Frame[] = [];
  pings = 0;
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString('utf8')) as Frame));
    this.socket.on('ping', () => this.pings++);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`HTTP ${response.statusCode}: ${body}`), { status: response.statusCode, body })));
      });
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Every line received, oldest message first, each as `<ns> <line>`. */
  lines(): string[] {
    return this.frames.flatMap((frame) => frame.streams.flatMap((s) => s.values.map(([ts, line]) => `${ts} ${line}`)));
  }

  async until(what: string, holds: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!holds()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; had ${JSON.stringify(this.frames)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('GET /loki/api/v1/tail (WebSocket), as Grafana and logcli open it', () => {
  let t: TestApp;
  let base: string;
  const clock = new ManualClock();
  const auth = { Authorization: `Bearer ${READER}` };
  const send = (lines: object[], labels: Record<string, string>) =>
    t.http.post('/api/v1/logs').set('Authorization', `Bearer ${WRITER}`).send({ labels, lines }).expect(200);

  before(async () => {
    t = await startTestApp({ clock, env: { DAYLOG_READ_TOKENS: `${READER},${SHOP_READER}=shop`, DAYLOG_INGEST_TOKENS: WRITER } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = (await t.app.getUrl()).replace(/^http/, 'ws');
    const old = Array.from({ length: 150 }, (_, i) => ({ ts: new Date(clock.now() - 50 * MINUTE + i * 1000).toISOString(), message: `old ${i}` }));
    await send(old, { namespace: 'shop', pod: 'web-1', container: 'nginx' });
    await send([{ ts: new Date(clock.now() - 2 * 60 * MINUTE).toISOString(), message: 'two hours ago' }], { namespace: 'shop', pod: 'web-1', container: 'nginx' });
    await send([{ ts: new Date(clock.now() - MINUTE).toISOString(), message: 'ops line' }], { namespace: 'ops', pod: 'db-1' });
  });
  after(() => t.close());

  it("sends Grafana's tail (only query=) the newest 100 lines of the last hour, oldest first, then each new line as it is stored", async () => {
    const tail = new LokiTail(`${base}/loki/api/v1/tail?query=${encodeURIComponent('{pod="web-1"}')}`, auth);
    await tail.opened;
    await tail.until('the newest 100 lines', () => tail.lines().length >= 100);
    const first = tail.lines();
    assert.deepEqual(
      first.map((l) => l.split(' ').slice(1).join(' ')),
      Array.from({ length: 100 }, (_, i) => `old ${50 + i}`),
    );
    const [ts] = first[0].split(' ');
    assert.equal(ts, `${BigInt(clock.now() - 50 * MINUTE + 50_000) * 1_000_000n}`);
    assert.deepEqual(tail.frames[0].streams[0].stream, { namespace: 'shop', pod: 'web-1', container: 'nginx', level: 'info' });
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'live one' }], { namespace: 'shop', pod: 'web-1', container: 'nginx' });
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'other pod' }], { namespace: 'shop', pod: 'web-2', container: 'nginx' });
    await tail.until('the live line', () => tail.lines().some((l) => l.endsWith(' live one')));
    assert.equal(tail.lines().filter((l) => l.endsWith('other pod')).length, 0);
    assert.ok(tail.frames.every((f) => f.streams.every((s) => s.values.every((v) => v.length === 2 && typeof v[0] === 'string'))));
    await tail.until('a ping', () => tail.pings > 0, 5000);
    tail.socket.close(1000);
    assert.equal((await tail.closed).code, 1000);
  });

  it("takes logcli's limit and start, and runs the pipeline on old and live lines alike", async () => {
    const start = `${BigInt(clock.now() - 50 * MINUTE + 140_000) * 1_000_000n}`;
    const query = '{namespace="shop"} |~ "old 14[5-9]|live two" | line_format "seen: {{.pod}}"';
    const tail = new LokiTail(`${base}/loki/api/v1/tail?limit=3&query=${encodeURIComponent(query)}&start=${start}`, auth);
    await tail.opened;
    await tail.until('three lines', () => tail.lines().length >= 3);
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'live two' }, { ts: new Date(clock.now()).toISOString(), message: 'not this' }], { namespace: 'shop', pod: 'web-3' });
    await tail.until('the live line', () => tail.lines().length >= 4);
    const messages = tail.lines().map((l) => l.split(' ').slice(1).join(' '));
    assert.deepEqual(messages, ['seen: web-1', 'seen: web-1', 'seen: web-1', 'seen: web-3']);
    assert.deepEqual(
      tail.lines().slice(0, 3).map((l) => l.split(' ')[0]),
      [147, 148, 149].map((i) => `${BigInt(clock.now() - 50 * MINUTE + i * 1000) * 1_000_000n}`),
    );
    tail.socket.close(1000);
  });

  it('shows a namespace-scoped token only its namespaces', async () => {
    const tail = new LokiTail(`${base}/loki/api/v1/tail?limit=1000&query=${encodeURIComponent('{pod=~".+"}')}`, { Authorization: `Bearer ${SHOP_READER}` });
    await tail.opened;
    await tail.until('the first lines', () => tail.lines().length > 0);
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'ops live' }], { namespace: 'ops', pod: 'db-1' });
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'shop live' }], { namespace: 'shop', pod: 'web-9' });
    await tail.until('the shop line', () => tail.lines().some((l) => l.endsWith('shop live')));
    assert.deepEqual(
      tail.frames.flatMap((f) => f.streams.map((s) => s.stream.namespace)).filter((ns) => ns !== 'shop'),
      [],
    );
    tail.socket.close(1000);
  });

  it('refuses the upgrade without a valid token (401) and with a bad query or parameter (400 in plain text)', async () => {
    const url = (query: string, extra = '') => `${base}/loki/api/v1/tail?query=${encodeURIComponent(query)}${extra}`;
    const refused = async (tail: LokiTail) => {
      const error = (await tail.opened.then(
        () => assert.fail('upgraded'),
        (e: unknown) => e,
      )) as { status: number; body: string };
      return error;
    };
    assert.equal((await refused(new LokiTail(url('{pod="web-1"}')))).status, 401);
    assert.equal((await refused(new LokiTail(url('{pod="web-1"}'), { Authorization: 'Bearer not-a-token-of-this-server' }))).status, 401);
    const bad = await refused(new LokiTail(url('{pod="web-1"'), auth));
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^parse error at line 1, col 13/);
    assert.match((await refused(new LokiTail(url('count_over_time({pod="web-1"}[1m])'), auth))).body, /a live tail follows a log query/);
    assert.match((await refused(new LokiTail(url('{pod="web-1"}', '&delay_for=9'), auth))).body, /^invalid delay_for/);
    assert.match((await refused(new LokiTail(url('{pod="web-1"}', '&limit=0'), auth))).body, /^invalid limit/);
    const plain = await t.http.get(`/loki/api/v1/tail?query=${encodeURIComponent('{pod="web-1"}')}`).set(auth);
    assert.equal(plain.status, 400);
    assert.match(plain.text, /^this is Loki's live tail, a WebSocket: connect with Upgrade: websocket/);
  });
});
