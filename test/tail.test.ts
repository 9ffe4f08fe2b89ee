import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { IngestService } from '../apps/aggregator/src/ingest/ingest.service';
import { QueueShares } from '../apps/aggregator/src/ingest/queue-shares';
import { loadConfig } from '@daylog/config';
import { COMMITTED_LINES, CommittedLines } from '@daylog/storage';
import { TailHub } from '../apps/aggregator/src/tail/tail-hub';
import { TailLimits } from '../apps/aggregator/src/tail/tail-limits';
import { TAIL_QUEUE_LINES } from '../apps/aggregator/src/tail/tail.service';
import { TailClient } from './support/tail-client';
import { ManualClock, TestApp, ingestLines, startTestApp } from './support/test-app';

const messagesOf = (lines: string[]): string[] => lines.map((line) => line.split(' ').slice(3).join(' '));

describe('GET /api/v1/tail', () => {
  let t: TestApp;
  let url: string;
  const labels = { namespace: 'shop', pod: 'web-1', container: 'nginx' };

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `${await t.app.getUrl()}/api/v1/tail`;
    await ingestLines(t.http, Array.from({ length: 15 }, (_, i) => ({ ts: t.clock.now() - 15 + i, message: `old ${i}` })), labels);
  });
  after(() => t.close());

  it('starts with the newest lines, oldest first, then streams each matching line as it is stored', async () => {
    const tail = new TailClient(`${url}?pod=web-*&limit=3`);
    const response = await tail.opened();
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.deepEqual(messagesOf(await tail.waitFor(3)), ['old 12', 'old 13', 'old 14']);

    await ingestLines(t.http, [{ message: 'other pod' }], { ...labels, pod: 'api-1' });
    await ingestLines(t.http, [{ message: 'new 1' }, { message: 'new 2', level: 'error' }], labels);
    assert.deepEqual(messagesOf(await tail.waitFor(5)), ['old 12', 'old 13', 'old 14', 'new 1', 'new 2']);
    assert.match(tail.lines[4], /^\S+ ERROR shop\/web-1\/nginx new 2$/);
    tail.request.destroy();
  });

  it('reads an epoch from in seconds as seconds: starts with the lines since then only', async () => {
    const pod = { ...labels, pod: 'since-seconds' };
    await ingestLines(t.http, [{ ts: t.clock.now() - 20 * 60_000, message: 'twenty minutes ago' }, { ts: t.clock.now() - 5 * 60_000, message: 'five minutes ago' }], pod);
    const tail = new TailClient(`${url}?pod=since-seconds&from=${Math.floor(t.clock.now() / 1000) - 600}`);
    assert.equal((await tail.opened()).statusCode, 200);
    await ingestLines(t.http, [{ message: 'live' }], pod);
    assert.deepEqual(messagesOf(await tail.waitFor(2)), ['five minutes ago', 'live']);
    tail.request.destroy();
  });

  it('gives tails with different filters their own lines, and tails with the same filter the same lines', async () => {
    const all = [new TailClient(`${url}?pod=web-1&limit=0`), new TailClient(`${url}?pod=web-1&limit=0`)];
    const errors = new TailClient(`${url}?pod=web-1&level=error&limit=0`);
    await Promise.all([...all, errors].map((tail) => tail.opened()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ingestLines(t.http, [{ message: 'shared 1' }, { message: 'shared 2', level: 'error' }, { message: 'shared 3' }], labels);
    for (const tail of all) assert.deepEqual(messagesOf(await tail.waitFor(3)), ['shared 1', 'shared 2', 'shared 3']);
    assert.deepEqual(messagesOf(await errors.waitFor(1)), ['shared 2']);
    for (const tail of [...all, errors]) tail.request.destroy();
  });

  it('keeps the order of ingest with batches arriving while it reads, each line once', async () => {
    const tail = new TailClient(`${url}?pod=web-1&q=seq&format=ndjson&limit=0`);
    await tail.opened();
    const batches = 40;
    const perBatch = 50;
    for (let b = 0; b < batches; b++) {
      await ingestLines(t.http, Array.from({ length: perBatch }, (_, i) => ({ message: `seq ${b * perBatch + i}` })), labels);
    }
    const lines = (await tail.waitFor(batches * perBatch)).map((line) => JSON.parse(line) as { message: string; cursor: string });
    assert.deepEqual(
      lines.map((line) => line.message),
      Array.from({ length: batches * perBatch }, (_, i) => `seq ${i}`),
    );
    assert.equal(new Set(lines.map((line) => line.cursor)).size, lines.length);
    tail.request.destroy();
  });

  it('never slows ingest for a reader that stops reading: it drops lines past its cap and says how many', async () => {
    const tail = new TailClient(`${url}?pod=slow-reader&limit=0`);
    try {
      const response = await tail.opened();
      response.pause();
      const sent = 60_000;
      // Long enough that the sockets' buffers (tens of MB on loopback) hold few lines beside the tail's queue.
      const padding = 'x'.repeat(1000);
      // On PostgreSQL, tails are handed lines by a poll: each batch is waited for, so that it reaches the tail while the reader is paused.
      const committedLines = t.app.get<symbol, CommittedLines | null>(COMMITTED_LINES);
      for (let b = 0; b < sent / 2000; b++) {
        const lines = Array.from({ length: 2000 }, (_, i) => ({ message: `n ${b * 2000 + i} ${padding}` }));
        await ingestLines(t.http, lines, { ...labels, pod: 'slow-reader' });
        await committedLines?.caughtUp();
      }
      response.resume();
      await ingestLines(t.http, [{ message: 'after the pause' }], { ...labels, pod: 'slow-reader' });
      await tail.waitFor(1, 'the last line');
      const deadline = Date.now() + 10_000;
      while (!tail.lines.at(-1)?.endsWith('after the pause') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

      const notices = tail.lines.filter((line) => line.startsWith('# daylog: '));
      assert.ok(notices.length > 0, 'the reader is told it missed lines');
      const missed = notices.reduce((sum, line) => sum + Number(/^# daylog: (\d+) lines (dropped|skipped untested)/.exec(line)![1]), 0);
      const received = tail.lines.filter((line) => !line.startsWith('#'));
      assert.equal(received.length + missed, sent + 1, 'every line is either shown or counted as missed');
      assert.ok(missed >= sent - TAIL_QUEUE_LINES * 3, `only a bounded number were kept (${received.length} shown)`);
      const numbers = messagesOf(received).slice(0, -1).map((message) => Number(message.split(' ')[1]));
      assert.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]), 'what is shown is in order');
    } finally {
      tail.request.destroy();
    }
  });

  it('runs the regexes that froze the service in time linear in a line', async () => {
    const pod = { ...labels, pod: 'freeze' };
    const tails = ['(.|.)*\\x00', '(x|x)*y', 'x*x*x*x*x*x*y'].map((regex) => new TailClient(`${url}?pod=freeze&limit=0&regex=${encodeURIComponent(regex)}`));
    await Promise.all(tails.map((tail) => tail.opened()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const long = 'x'.repeat(5000);
    await ingestLines(t.http, [{ message: long }, { message: `${long}y` }, { message: `${long}\u0000` }, { message: 'end y\u0000' }], pod);
    const [nul, y, y6] = await Promise.all(tails.map((tail) => tail.waitFor(2)));
    assert.deepEqual(messagesOf(nul), [`${long}\\x00`, 'end y\\x00']);
    assert.deepEqual(messagesOf(y), [`${long}y`, 'end y\\x00']);
    assert.deepEqual(messagesOf(y6), [`${long}y`, 'end y\\x00']);
    for (const tail of tails) tail.request.destroy();
  });

  it('tests stored lines against its filter after ingest has answered, in turns of its own', async () => {
    const server = t.app.getHttpServer();
    const sockets: Socket[] = [];
    const track = (socket: Socket) => sockets.push(socket);
    server.on('connection', track);
    const tail = new TailClient(`${url}?pod=turns&limit=0&match=matches`);
    await tail.opened();
    server.off('connection', track);
    const [tailSocket] = sockets;
    const written = () => tailSocket.bytesWritten + tailSocket.writableLength;
    const before = written();
    const long = 'x '.repeat(30_000);
    const lines = Array.from({ length: 10 }, (_, i) => [{ message: `${i} matches` }, { message: `${i} ${long}` }]).flat();
    const answer = await t.app.get(IngestService).ingest({ format: 'json', value: { labels: { ...labels, pod: 'turns' }, lines } }, {}, undefined, null, t.app.get(QueueShares).forRequest('address:127.0.0.1', new EventEmitter()));
    assert.equal(answer.accepted, 20);
    assert.equal(written(), before, 'nothing was tested nor written while ingest answered');
    if (t.app.get<symbol, CommittedLines | null>(COMMITTED_LINES) === null) {
      await nextTurn();
      assert.ok(written() > before, 'the first stretch is tested in the next turn');
    }
    assert.equal(messagesOf(await tail.waitFor(10)).map((message) => message.split(' ')[0]).join(','), '0,1,2,3,4,5,6,7,8,9');
    tail.request.destroy();
  });

  it("tests a regex tail's lines on a search thread, and skips, saying so, the lines it has no time for", async () => {
    // About 40 times slower a character than `x`: seconds on one long line, even in linear time.
    const slow = `${'.{16}'.repeat(40)}x`;
    const tail = new TailClient(`${url}?pod=slow-regex&limit=0&regex=${encodeURIComponent(slow)}`);
    await tail.opened();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pod = { ...labels, pod: 'slow-regex' };
    await ingestLines(t.http, [{ message: 'a'.repeat(60_000) }, { message: `${'b'.repeat(700)}x` }], pod);
    const health = await t.http.get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(tail.lines.length, 0, 'the service answered while the regex was being tested');
    await ingestLines(t.http, [{ message: `${'c'.repeat(700)}x` }], pod);
    assert.deepEqual(messagesOf(await tail.waitFor(2)), [
      "lines skipped untested: this tail's regex took longer than its time for them",
      `${'c'.repeat(700)}x`,
    ]);
    assert.match(tail.lines[0], /^# daylog: 2 lines skipped untested/);
    tail.request.destroy();
  });

  it('skips batches untested past its cap while its filter is behind, and says how many lines, in their place', async () => {
    const tail = new TailClient(`${url}?pod=behind&limit=0`);
    await tail.opened();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        ts: t.clock.now(), level: 'info' as const, ...labels, pod: 'behind', source: null, message: `b ${from + i}`, fields: null, format: null,
        position: { ts: t.clock.now(), partitionStart: 0, id: from + i },
      }));
    const hub = t.app.get(TailHub);
    // Published in one turn: the tail has tested none of them when the third comes.
    hub.publish(batch(0, TAIL_QUEUE_LINES / 2));
    hub.publish(batch(TAIL_QUEUE_LINES / 2, TAIL_QUEUE_LINES / 2));
    hub.publish(batch(TAIL_QUEUE_LINES, 3));
    await new Promise((resolve) => setImmediate(resolve));
    hub.publish(batch(TAIL_QUEUE_LINES + 3, 1));
    const lines = await tail.waitFor(TAIL_QUEUE_LINES + 2);
    assert.deepEqual(lines.slice(TAIL_QUEUE_LINES - 1).map((line) => line.replace(/^\S+ INFO shop\/behind\/nginx /, '')), [
      `b ${TAIL_QUEUE_LINES - 1}`,
      "# daylog: 3 lines skipped untested: this tail's filter was slower than they arrived",
      `b ${TAIL_QUEUE_LINES + 3}`,
    ]);
    tail.request.destroy();
  });

  it('lets go of a tail when its client goes away', async () => {
    const hub = t.app.get(TailHub);
    const tail = new TailClient(`${url}?limit=0`);
    await tail.opened();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(hub.hasTails());
    tail.request.destroy();
    const deadline = Date.now() + 5000;
    while (hub.hasTails() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(hub.hasTails(), false);
  });

  it('refuses json, which cannot stream, and bad filters, with a 400 before streaming', async () => {
    const json = await t.http.get('/api/v1/tail').query({ format: 'json' });
    assert.equal(json.status, 400);
    assert.equal(json.body.param, 'format');
    const both = await t.http.get('/api/v1/tail').query({ since: '5m', from: '2026-11-24T00:00:00Z' });
    assert.equal(both.status, 400);
    assert.equal(both.body.param, 'since');
  });
});

describe('a tail when the server stops', () => {
  it('is ended, so that stopping does not wait for it', async () => {
    const t = await startTestApp({ clock: new ManualClock(Date.now()) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const tail = new TailClient(`${await t.app.getUrl()}/api/v1/tail`);
    await tail.opened();
    const started = Date.now();
    await t.close();
    await tail.ended;
    assert.ok(Date.now() - started < 5000);
  });
});

describe('limits on live tails (DAYLOG_MAX_TAILS_PER_CLIENT, DAYLOG_MAX_TAILS)', () => {
  const tokens = ['tail-reader-a-0123456789', 'tail-reader-b-0123456789', 'tail-reader-c-0123456789'];
  const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
  const labels = { namespace: 'shop', pod: 'web-1', container: 'nginx' };

  /** Opens a tail and waits for its answer's status. */
  async function open(url: string, options: ConstructorParameters<typeof TailClient>[1] = {}): Promise<TailClient> {
    const tail = new TailClient(url, options);
    await tail.opened();
    return tail;
  }

  async function refusal(tail: TailClient): Promise<{ status: number; retryAfter: string | undefined; body: unknown }> {
    if (tail.response.statusCode === 200) {
      tail.request.destroy();
      assert.fail('the tail was opened, not refused');
    }
    await tail.ended;
    return { status: tail.response.statusCode!, retryAfter: tail.response.headers['retry-after'], body: JSON.parse(tail.lines[0]) };
  }

  async function whenOpenTails(t: TestApp, count: number): Promise<void> {
    const limits = t.app.get(TailLimits);
    const deadline = Date.now() + 10_000;
    while (limits.open() !== count) {
      if (Date.now() > deadline) throw new Error(`${limits.open()} tails open, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('refuses a token past its share and the server past its total with a 429, and the open tails go on', async () => {
    const t = await startTestApp({
      clock: new ManualClock(Date.now()),
      env: { DAYLOG_READ_TOKENS: tokens.join(','), DAYLOG_MAX_TAILS_PER_CLIENT: '2', DAYLOG_MAX_TAILS: '3' },
    });
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `${await t.app.getUrl()}/api/v1/tail?limit=0`;
      const [a, b, c] = tokens;
      const first = [await open(url, bearer(a)), await open(url, bearer(a))];
      assert.deepEqual(first.map((tail) => tail.response.statusCode), [200, 200]);

      assert.deepEqual(await refusal(await open(url, bearer(a))), {
        status: 429,
        retryAfter: '10',
        body: { error: 'this client already has 2 live tails open, the most one client may have (DAYLOG_MAX_TAILS_PER_CLIENT): close one before opening another' },
      });
      const unknown = await open(url, bearer('not-a-token-of-this-server'));
      assert.equal(unknown.response.statusCode, 401, 'a refused token holds no place');

      const other = await open(url, bearer(b));
      assert.equal(other.response.statusCode, 200, 'another token has its own share');
      assert.deepEqual(await refusal(await open(url, bearer(c))), {
        status: 429,
        retryAfter: '10',
        body: { error: 'the server already serves 3 live tails, the most it serves at once (DAYLOG_MAX_TAILS): try again later' },
      });

      await ingestLines(t.http, [{ message: 'still flowing' }], labels);
      for (const tail of [...first, other]) assert.deepEqual(messagesOf(await tail.waitFor(1)), ['still flowing']);

      first[0].request.destroy();
      await whenOpenTails(t, 2);
      const again = await open(url, bearer(a));
      assert.equal(again.response.statusCode, 200, 'a closed tail gives its place back');
      for (const tail of [first[1], other, again]) tail.request.destroy();
      await whenOpenTails(t, 0);
    } finally {
      await t.close();
    }
  });

  it('counts tails by address when reads need no token, whatever bearer value is sent', async () => {
    const t = await startTestApp({ clock: new ManualClock(Date.now()), env: { DAYLOG_MAX_TAILS_PER_CLIENT: '2' } });
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `${await t.app.getUrl()}/api/v1/tail?limit=0`;
      const mine = [await open(url), await open(url, bearer('made-up-token-number-one'))];
      assert.deepEqual(mine.map((tail) => tail.response.statusCode), [200, 200]);
      const third = await open(url, bearer('made-up-token-number-two'));
      assert.equal((await refusal(third)).status, 429, 'an unchecked token is no new client');
      const elsewhere = await open(url, { localAddress: '127.0.0.2' });
      assert.equal(elsewhere.response.statusCode, 200, 'another address has its own share');
      for (const tail of [...mine, elsewhere]) tail.request.destroy();
      await whenOpenTails(t, 0);
    } finally {
      await t.close();
    }
  });

  it('are refused at boot when they are not whole numbers from 1', () => {
    assert.throws(() => loadConfig({ DAYLOG_MAX_TAILS_PER_CLIENT: '0' }), /^ConfigError: DAYLOG_MAX_TAILS_PER_CLIENT="0" is not valid: expected a whole number from 1 to 100000$/);
    assert.throws(() => loadConfig({ DAYLOG_MAX_TAILS: 'many' }), /^ConfigError: DAYLOG_MAX_TAILS="many" is not valid: expected a whole number from 1 to 100000$/);
  });
});
