import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TailClient } from './support/tail-client';
import { HOUR, MINUTE, ManualClock, TestAgent, TestApp, WireLineBody, ingestLines, queryJson, startTestApp } from './support/test-app';

interface Page {
  lines: WireLineBody[];
  nextCursor: string | null;
  stopped: 'lines' | 'time' | null;
}

/** Every page of a json search, following its cursors to the end. */
async function allPages(http: TestAgent, query: Record<string, string>): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const response = await http.get('/api/v1/logs').query({ format: 'json', ...query, ...(cursor && { cursor }) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.headers['x-search-stopped'], response.body.stopped ?? undefined);
    pages.push(response.body as Page);
    cursor = response.body.nextCursor;
    assert.ok(pages.length < 50, 'paging ends');
  } while (cursor);
  return pages;
}

async function stoppedSearches(http: TestAgent): Promise<Record<string, number>> {
  const text = (await http.get('/metrics')).text;
  return Object.fromEntries([...text.matchAll(/^daylog_searches_stopped_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, n]) => [reason, Number(n)]));
}

/**
 * The hour 09:00–10:00 holds 45,000 lines, 750 a minute, a needle every fifth minute; the two hours
 * before it 600 lines each, one needle each: 14 needles in all.
 */
async function ingestHaystack(t: TestApp): Promise<string[]> {
  const now = t.clock.now();
  const lines: { ts: number; message: string }[] = [];
  for (let i = 0; i < 45_000; i++) {
    const ts = now - HOUR + i * 80;
    lines.push({ ts, message: i % 3750 === 0 ? `needle at ${i}` : `hay ${i}` });
  }
  for (const hour of [2, 3]) {
    for (let i = 0; i < 600; i++) lines.push({ ts: now - hour * HOUR + i * 6000, message: i === 300 ? `needle ${hour}h ago` : `straw ${i}` });
  }
  for (let i = 0; i < lines.length; i += 5000) await ingestLines(t.http, lines.slice(i, i + 5000));
  return lines
    .filter((line) => line.message.startsWith('needle'))
    .sort((a, b) => b.ts - a.ts)
    .map((line) => line.message);
}

describe('a cap on the lines one search reads (DAYLOG_QUERY_MAX_SCANNED_LINES)', () => {
  let t: TestApp;
  let needles: string[];

  before(async () => {
    t = await startTestApp({ env: { DAYLOG_QUERY_MAX_SCANNED_LINES: '20000' } });
    needles = await ingestHaystack(t);
  });
  after(() => t.close());

  for (const direction of ['backward', 'forward'] as const) {
    it(`stops a page early where reading stopped, and the next pages go on from there (${direction})`, async () => {
      const before = await stoppedSearches(t.http);
      const pages = await allPages(t.http, { q: 'needle', direction, limit: '100' });
      const found = pages.flatMap((page) => page.lines.map((line) => line.message));
      assert.deepEqual(found, direction === 'backward' ? needles : [...needles].reverse(), 'every needle once, in order');
      const stopped = pages.filter((page) => page.stopped === 'lines');
      // 46,200 lines at 20,000 a page (the first window of a page is always read, so each page moves on).
      assert.ok(stopped.length >= 2, `pages stopped early: ${stopped.length}`);
      assert.deepEqual(stopped.filter((page) => page.nextCursor === null || page.lines.length >= 100), []);
      assert.equal(pages.at(-1)!.stopped, null);
      assert.equal((await stoppedSearches(t.http)).lines - before.lines, stopped.length);
    });
  }

  it('tells a curl reader, at the end of a text page, that more may match and where to go on', async () => {
    const response = await t.http.get('/api/v1/logs').query({ q: 'needle', limit: '100' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-search-stopped'], 'lines');
    const last = response.text.trimEnd().split('\n').at(-1)!;
    assert.match(last, /^# this search read as many lines as one page may \(DAYLOG_QUERY_MAX_SCANNED_LINES\) before the page was full; more lines may match\. .* go on: http:\/\/.*cursor=/);
    const next = new URL(last.slice(last.indexOf('http'))).searchParams.get('cursor');
    assert.equal(next, response.headers['x-next-cursor']);
  });

  it('reads as before what needs no text read: labels and levels alone', async () => {
    const response = await t.http.get('/api/v1/logs').query({ format: 'json', limit: '5000' });
    assert.equal(response.status, 200);
    assert.equal(response.body.lines.length, 5000);
    assert.equal(response.body.stopped, null);
  });

  it('refuses a count that would read more lines than the cap, rather than count short', async () => {
    const response = await t.http.get('/api/v1/stats').query({ q: 'needle', format: 'json' });
    assert.equal(response.status, 400);
    assert.match(response.body.error, /^the search would read more than 20000 lines \(DAYLOG_QUERY_MAX_SCANNED_LINES\): narrow the time range, or add label or level filters$/);
    const narrow = await t.http.get('/api/v1/stats').query({ q: 'needle', from: new Date(t.clock.now() - 10 * MINUTE).toISOString(), format: 'json' });
    assert.equal(narrow.status, 200);
    assert.equal(narrow.body.total, 2);
    const withoutText = await t.http.get('/api/v1/stats').query({ format: 'json' });
    assert.equal(withoutText.body.total, 46_200);
  });
});

/** A manual clock that, while `tickMs` is set, moves on by it each time it is read: a search's time runs out at once. */
class TickingClock extends ManualClock {
  tickMs = 0;
  /** Called once at the next reading, then forgotten. */
  onNextRead: (() => void) | null = null;

  override now(): number {
    const onRead = this.onNextRead;
    this.onNextRead = null;
    onRead?.();
    this.ms += this.tickMs;
    return this.ms;
  }
}

describe('a time-out on one search (DAYLOG_QUERY_TIMEOUT)', () => {
  let t: TestApp;
  const clock = new TickingClock();

  before(async () => {
    t = await startTestApp({ clock });
    const now = clock.now();
    const lines = [3, 2, 1].flatMap((hour) =>
      Array.from({ length: 600 }, (_, i) => ({ ts: now - hour * HOUR + i * 6000, message: i === 300 ? `needle ${hour}h ago` : `straw ${i}` })),
    );
    await ingestLines(t.http, lines);
    clock.tickMs = 20_000;
  });
  after(() => t.close());

  it('answers with what it found when its time runs out, and the next page goes on from there', async () => {
    const pages = await allPages(t.http, { q: 'needle' });
    assert.deepEqual(
      pages.map((page) => [page.lines.map((line) => line.message), page.stopped]),
      [
        [['needle 1h ago'], 'time'],
        [['needle 2h ago'], 'time'],
        [['needle 3h ago'], null],
      ],
    );
  });

  it('answers a count that runs out of time with a 503, not a short count', async () => {
    const response = await t.http.get('/api/v1/stats').query({ regex: 'needle \\d', format: 'json' });
    assert.equal(response.status, 503);
    assert.equal(response.body.error, 'the search ran out of time (DAYLOG_QUERY_TIMEOUT): narrow the time range, or add label or level filters');
  });
});

describe('a time-out inside one busy minute', () => {
  let t: TestApp;
  const clock = new TickingClock();
  const LINES = 100_000;
  /** The first 45,000 lines share one millisecond; the rest follow a millisecond apart, all in one minute. */
  const needleAt = (i: number) => [0, 19_998, 19_999, 20_000, 44_999, 45_000, 45_001, LINES - 1].includes(i) || i % 7919 === 0;
  const needles: string[] = [];

  before(async () => {
    t = await startTestApp({ clock });
    const minute = Math.floor(clock.now() / MINUTE) * MINUTE - 30 * MINUTE;
    const lines = Array.from({ length: LINES }, (_, i) => ({
      ts: i < 45_000 ? minute + 1000 : minute + 2000 + (i - 45_000),
      message: needleAt(i) ? `needle ${i}` : `hay ${i}`,
    }));
    for (let i = 0; i < LINES; i += 5000) await ingestLines(t.http, lines.slice(i, i + 5000));
    needles.push(...lines.filter((line) => line.message.startsWith('needle')).map((line) => line.message));
  });
  after(() => t.close());

  for (const direction of ['forward', 'backward'] as const) {
    it(`stops within a part of the minute, and the cursors find every match once, in order (${direction})`, async () => {
      clock.tickMs = 20_000;
      try {
        const pages = await allPages(t.http, { regex: '^needle \\d+$', direction, limit: '100' });
        const found = pages.flatMap((page) => page.lines.map((line) => line.message));
        assert.deepEqual(found, direction === 'forward' ? needles : [...needles].reverse());
        // Each page reads one part of 20,000 lines (the first window of a page is read whatever the time), then the
        // empty rest of the range; before, the first page read the whole minute.
        const partOf = (message: string) => Math.floor(Number(message.split(' ')[1]) / 20_000);
        const parts = pages.map((page) => [...new Set(page.lines.map((line) => partOf(line.message)))]);
        assert.deepEqual(parts.slice(0, 5), direction === 'forward' ? [[0], [1], [2], [3], [4]] : [[4], [3], [2], [1], [0]]);
        assert.deepEqual(parts.slice(5).flat(), []);
        assert.deepEqual(pages.slice(0, 5).map((page) => page.stopped), ['time', 'time', 'time', 'time', 'time']);
      } finally {
        clock.tickMs = 0;
      }
    });
  }

  it('counts the busy minute part by part, each line once', async () => {
    const stats = await t.http.get('/api/v1/stats').query({ regex: '^needle', format: 'json' });
    assert.equal(stats.status, 200);
    assert.equal(stats.body.total, needles.length);
    const all = await t.http.get('/api/v1/stats').query({ q: 'a', format: 'json' });
    assert.equal(all.body.total, LINES - needles.length);
  });
});

describe('a search whose client goes away', () => {
  let t: TestApp;
  const clock = new TickingClock();

  before(async () => {
    // One-minute partitions: the search reads 60 of them, giving way to other work between each.
    t = await startTestApp({ clock, env: { DAYLOG_PARTITION: '1m' } });
    const now = clock.now();
    await ingestLines(
      t.http,
      Array.from({ length: 600 }, (_, i) => ({ ts: now - HOUR + i * 6000, message: `straw ${i}` })),
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  it('is abandoned, not read to its end', async () => {
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const gone = new Promise<void>((resolve) => {
      const request = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/logs?q=needle' });
      request.on('error', () => resolve());
      // The service reads its clock as it starts the search: the client leaves at that moment.
      clock.onNextRead = () => request.destroy();
      request.end();
    });
    await gone;
    let stopped = await stoppedSearches(t.http);
    for (let tries = 0; stopped.client_gone === 0 && tries < 100; tries++) {
      await sleep(20);
      stopped = await stoppedSearches(t.http);
    }
    assert.equal(stopped.client_gone, 1);
    const later = await allPages(t.http, { q: 'straw 599' });
    assert.deepEqual(later.flatMap((page) => page.lines.map((line) => line.message)), ['straw 599']);
  });
});

describe('a regex slower than the time-out on one line', () => {
  let t: TestApp;
  // About 40 times slower a character than `x`: seconds on one long line, even in linear time.
  const slow = `${'.{16}'.repeat(40)}x`;

  before(async () => {
    t = await startTestApp({ env: { DAYLOG_QUERY_TIMEOUT: '1s' } });
    await ingestLines(t.http, [{ message: `short ${'b'.repeat(700)}x` }, { message: 'a'.repeat(60_000) }]);
  });
  after(() => t.close());

  it('is stopped at the time-out, on a thread of its own, while the service goes on answering', async () => {
    let settled = false;
    const search = t.http
      .get('/api/v1/logs')
      .query({ regex: slow, format: 'json' })
      .then((response) => {
        settled = true;
        return response;
      });
    const health = await t.http.get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(settled, false, 'the service answered while the search was testing the long line');
    const response = await search;
    // Its first window cannot be read in the time-out: no page could go on from there, so it is an error.
    assert.equal(response.status, 503);
    assert.equal(response.body.error, 'the search ran out of time (DAYLOG_QUERY_TIMEOUT): narrow the time range, or add label or level filters');
    const count = await t.http.get('/api/v1/stats').query({ regex: slow, format: 'json' });
    assert.equal(count.status, 503);
  });

  it('counts a search that ran out of time in its first window as stopped by the time-out', async () => {
    const before = await stoppedSearches(t.http);
    const response = await t.http.get('/api/v1/logs').query({ regex: slow, format: 'json' });
    assert.equal(response.status, 503);
    assert.deepEqual(await stoppedSearches(t.http), { ...before, time: before.time + 1 });
  });

  it('leaves the search threads ready for the next searches', async () => {
    const { lines } = await queryJson(t.http, { regex: '^short b+x$' });
    assert.equal(lines.length, 1);
  });
});


describe('the search threads, shared between clients', () => {
  let t: TestApp;
  let tailUrl: string;
  const slow = `${'.{16}'.repeat(40)}x`;
  const SHOP_READER = 'shop-read-token-0123456789';
  const PAYMENTS_READER = 'payments-read-token-0123456789';
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  before(async () => {
    t = await startTestApp({
      clock: new ManualClock(Date.now()),
      env: { DAYLOG_QUERY_TIMEOUT: '2s', DAYLOG_READ_TOKENS: `${SHOP_READER}=shop,${PAYMENTS_READER}=payments` },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    tailUrl = `${await t.app.getUrl()}/api/v1/tail`;
    await ingestLines(t.http, [{ message: 'a'.repeat(60_000) }], { namespace: 'shop', pod: 'web-1' });
    await ingestLines(t.http, [{ message: 'payment 1 declined' }], { namespace: 'payments', pod: 'pay-1' });
  });
  after(() => t.close());

  /**
   * Four searches of the shop reader, each taking its whole time-out on the long line, more than the threads;
   * `answered` lists them as they are answered. They have reached the service when this resolves: it answers
   * a later request of its own after them.
   */
  async function slowShopSearches(answered: string[]): Promise<Promise<number>[]> {
    const searches = Array.from({ length: 4 }, (_, i) =>
      t.http
        .get('/api/v1/logs')
        .set(bearer(SHOP_READER))
        .query({ regex: slow, format: 'json' })
        .then((response) => {
          answered.push(`slow ${i}`);
          return response.status;
        }),
    );
    assert.equal((await t.http.get('/healthz')).status, 200);
    return searches;
  }

  it("answers another client's text search before one client's slow searches, which keep the threads busy", async () => {
    const answered: string[] = [];
    const slowSearches = await slowShopSearches(answered);
    const payments = await t.http.get('/api/v1/logs').set(bearer(PAYMENTS_READER)).query({ q: 'declined', format: 'json' });
    answered.push('payments');
    assert.equal(payments.status, 200, JSON.stringify(payments.body));
    assert.deepEqual((payments.body as Page).lines.map((line) => line.message), ['payment 1 declined']);
    assert.deepEqual(answered, ['payments'], 'the payments search waited for the slow ones');
    assert.deepEqual(await Promise.all(slowSearches), [503, 503, 503, 503]);
  });

  it("tests another client's regex tail while one client's slow searches keep the threads busy", async () => {
    const tail = new TailClient(`${tailUrl}?limit=0&regex=${encodeURIComponent('payment \\d+ live')}`, { headers: bearer(PAYMENTS_READER) });
    assert.equal((await tail.opened()).statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answered: string[] = [];
    const slowSearches = await slowShopSearches(answered);
    await ingestLines(t.http, [{ message: 'payment 2 live' }], { namespace: 'payments', pod: 'pay-1' });
    assert.match((await tail.waitFor(1))[0], /payments\/pay-1\S* payment 2 live$/);
    assert.deepEqual(answered, [], "the tail's line waited for the slow searches");
    assert.deepEqual(await Promise.all(slowSearches), [503, 503, 503, 503]);
    tail.request.destroy();
  });
});
