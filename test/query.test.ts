import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HOUR, MINUTE, TestApp, WireLineBody, ingestLines, queryJson, startTestApp, withoutCursor } from './support/test-app';

describe('GET /api/v1/logs', () => {
  let t: TestApp;
  const at = (offsetMs: number) => t.clock.now() + offsetMs;
  const messages = (lines: WireLineBody[]) => lines.map((line) => line.message);

  before(async () => {
    t = await startTestApp();
    await ingestLines(t.http, [
      { ts: at(-50 * MINUTE), source: 'access.log', message: 'GET /cart 200' },
      { ts: at(-40 * MINUTE), source: 'error.log', level: 'error', message: 'upstream timed out (110)' },
    ], { namespace: 'shop', pod: 'web-7c9f8-abc12', container: 'nginx' });
    await ingestLines(t.http, [
      { ts: at(-30 * MINUTE), source: 'access.log', level: 'warn', message: 'GET /missing 404' },
    ], { namespace: 'shop', pod: 'web-7c9f8-xyz99', container: 'nginx' });
    await ingestLines(t.http, [
      { ts: at(-20 * MINUTE), source: 'stdout', level: 'debug', message: 'Debug: cache MISS for cart' },
      { ts: at(-10 * MINUTE), source: 'stdout', level: 'fatal', message: 'panic: nil map\n\tgoroutine 1' },
    ], { namespace: 'payments', pod: 'api-5d8-qq1', container: 'app' });
    await ingestLines(t.http, [
      { ts: at(-5 * MINUTE), source: 'stdout', message: 'job done, 100% of queue_a' },
    ], { namespace: 'payments', pod: 'worker-1', container: 'app' });
    await ingestLines(t.http, [
      { ts: at(-2 * HOUR), source: 'stdout', message: 'NXDOMAIN from upstream' },
    ], { namespace: 'kube-system', pod: 'coredns-1', container: 'coredns' });
  });
  after(() => t.close());

  it('answers text by default, newest first, one line per log line with its message newlines escaped', async () => {
    const response = await t.http.get('/api/v1/logs').query({ namespace: 'payments' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(
      response.text,
      '2026-11-24T09:55:00.000Z INFO payments/worker-1/app job done, 100% of queue_a\n' +
        '2026-11-24T09:50:00.000Z FATAL payments/api-5d8-qq1/app panic: nil map\\n\tgoroutine 1\n' +
        '2026-11-24T09:40:00.000Z DEBUG payments/api-5d8-qq1/app Debug: cache MISS for cart\n',
    );
  });

  it('answers NDJSON with every field of the line', async () => {
    const response = await t.http.get('/api/v1/logs').query({ pod: 'worker-1', format: 'ndjson' });
    assert.equal(response.headers['content-type'], 'application/x-ndjson; charset=utf-8');
    assert.deepEqual(response.text.split('\n').filter(Boolean).map((line) => withoutCursor(JSON.parse(line) as WireLineBody)), [
      {
        ts: '2026-11-24T09:55:00.000Z',
        level: 'info',
        namespace: 'payments',
        pod: 'worker-1',
        container: 'app',
        source: 'stdout',
        message: 'job done, 100% of queue_a',
      },
    ]);
  });

  for (const [accept, contentType] of [
    ['application/json', 'application/json; charset=utf-8'],
    ['application/x-ndjson', 'application/x-ndjson; charset=utf-8'],
    ['text/plain', 'text/plain; charset=utf-8'],
    ['*/*', 'text/plain; charset=utf-8'],
  ]) {
    it(`picks the format from Accept: ${accept}`, async () => {
      const response = await t.http.get('/api/v1/logs').set('Accept', accept).query({ pod: 'worker-1' });
      assert.equal(response.headers['content-type'], contentType);
    });
  }

  it('lets format win over Accept', async () => {
    const response = await t.http.get('/api/v1/logs').set('Accept', 'application/json').query({ format: 'text' });
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
  });

  const filters: [string, Record<string, string | string[]>, string[]][] = [
    ['namespace', { namespace: 'kube-system' }, ['NXDOMAIN from upstream']],
    ['namespace, comma-separated', { namespace: 'kube-system,shop', level: 'warn,fatal,info', since: '3h' }, ['GET /missing 404', 'GET /cart 200', 'NXDOMAIN from upstream']],
    ['pod, repeated', { pod: ['worker-1', 'coredns-1'] }, ['job done, 100% of queue_a', 'NXDOMAIN from upstream']],
    ['pod with a wildcard for the random suffix', { pod: 'web-7c9f8-*' }, ['GET /missing 404', 'upstream timed out (110)', 'GET /cart 200']],
    ['pod wildcard in the middle', { pod: 'api-*-qq1' }, ['panic: nil map\n\tgoroutine 1', 'Debug: cache MISS for cart']],
    ['container', { container: 'coredns' }, ['NXDOMAIN from upstream']],
    ['source', { source: 'error.log' }, ['upstream timed out (110)']],
    ['source and pod together', { source: 'access.log', pod: 'web-7c9f8-abc12' }, ['GET /cart 200']],
    ['level, with aliases', { level: 'err,crit' }, ['panic: nil map\n\tgoroutine 1', 'upstream timed out (110)']],
    ['min_level', { min_level: 'warn' }, ['panic: nil map\n\tgoroutine 1', 'GET /missing 404', 'upstream timed out (110)']],
    ['level and min_level together', { level: 'debug,error,fatal', min_level: 'error' }, ['panic: nil map\n\tgoroutine 1', 'upstream timed out (110)']],
    ['since', { since: '25m' }, ['job done, 100% of queue_a', 'panic: nil map\n\tgoroutine 1', 'Debug: cache MISS for cart']],
    ['from, inclusive, as RFC 3339', { from: '2026-11-24T09:40:00Z', namespace: 'payments' }, ['job done, 100% of queue_a', 'panic: nil map\n\tgoroutine 1', 'Debug: cache MISS for cart']],
    ['to, exclusive, as epoch ms', { to: String(Date.UTC(2026, 10, 24, 9, 20)), namespace: 'shop' }, ['GET /cart 200']],
    ['from and to with an offset', { from: '2026-11-24T10:25:00+01:00', to: '2026-11-24T10:50:00+01:00' }, ['Debug: cache MISS for cart', 'GET /missing 404']],
    ['q, case-insensitive', { q: 'miss' }, ['Debug: cache MISS for cart', 'GET /missing 404']],
    ['q, repeated: all must match', { q: ['miss', 'CART'] }, ['Debug: cache MISS for cart']],
    ['exclude', { namespace: 'shop', exclude: 'GET' }, ['upstream timed out (110)']],
    ['exclude, repeated', { namespace: 'shop', exclude: ['cart', '404'] }, ['upstream timed out (110)']],
    ['q with % and _ taken literally', { q: '0% of queue_' }, ['job done, 100% of queue_a']],
    ['q with a % that would match anything in SQL', { q: '%' }, ['job done, 100% of queue_a']],
    ['q with a quote and a backslash', { q: "it's \\ here" }, []],
    ['a pod no line has', { pod: 'nobody' }, []],
    ['a pod pattern with SQL wildcards, as data', { pod: 'web-7c9f8-%' }, []],
    ['limit', { namespace: 'shop', limit: '2' }, ['GET /missing 404', 'upstream timed out (110)']],
    ['direction=forward: oldest first', { namespace: 'shop', direction: 'forward' }, ['GET /cart 200', 'upstream timed out (110)', 'GET /missing 404']],
  ];
  for (const [what, query, expected] of filters) {
    it(`filters by ${what}`, async () => {
      const { lines } = await queryJson(t.http, query);
      assert.deepEqual(messages(lines), expected);
    });
  }

  describe('epoch from and to, read by their number of digits', () => {
    const epochSeconds = (offsetMs: number) => String(Math.floor(at(offsetMs) / 1000));
    const inRange: [string, () => Record<string, string>, string[]][] = [
      ['from ten minutes ago in seconds: only the last ten minutes', () => ({ from: epochSeconds(-10 * MINUTE) }), ['job done, 100% of queue_a', 'panic: nil map\n\tgoroutine 1']],
      ['to now in seconds', () => ({ to: epochSeconds(0), namespace: 'payments' }), ['job done, 100% of queue_a', 'panic: nil map\n\tgoroutine 1', 'Debug: cache MISS for cart']],
      ['from and to in seconds, as the README shows them', () => ({ from: epochSeconds(-HOUR), to: epochSeconds(MINUTE), namespace: 'shop' }), ['GET /missing 404', 'upstream timed out (110)', 'GET /cart 200']],
      ['seconds with a fraction', () => ({ from: `${epochSeconds(-11 * MINUTE)}.5`, to: `${epochSeconds(-9 * MINUTE)}.999` }), ['panic: nil map\n\tgoroutine 1']],
      ['microseconds', () => ({ from: `${at(-10 * MINUTE)}000`, to: `${at(-10 * MINUTE) + 1}000` }), ['panic: nil map\n\tgoroutine 1']],
      ['nanoseconds', () => ({ from: `${at(-10 * MINUTE)}000000`, to: `${at(-10 * MINUTE) + 1}000000` }), ['panic: nil map\n\tgoroutine 1']],
    ];
    for (const [what, query, expected] of inRange) {
      it(`takes ${what}`, async () => {
        const { lines } = await queryJson(t.http, query());
        assert.deepEqual(messages(lines), expected);
      });
    }

    it('gives /api/v1/stats the same reading', async () => {
      const stats = await t.http.get('/api/v1/stats').query({ format: 'json', from: epochSeconds(-10 * MINUTE), to: epochSeconds(0), step: '10m' });
      assert.equal(stats.status, 200, stats.text);
      const counted = (stats.body as { buckets: { counts: Record<string, number> }[] }).buckets.map((b) => b.counts);
      assert.deepEqual(counted, [{ info: 1, fatal: 1 }]);
    });
  });

  it('returns everything within the retention when no time is given', async () => {
    const { lines } = await queryJson(t.http, { namespace: 'shop,payments,kube-system' });
    assert.equal(lines.length, 7);
  });

  it('matches a wildcard that covers more label sets than fit in one SQL list', async () => {
    for (let i = 0; i < 250; i += 50) {
      await ingestLines(t.http, Array.from({ length: 50 }, (_, n) => ({ pod: `many-${i + n}`, message: `from many-${i + n}`, ts: at(-HOUR) })), { namespace: 'crowd' });
    }
    const { lines } = await queryJson(t.http, { pod: 'many-*', limit: '5000' });
    assert.equal(new Set(lines.map((line) => line.pod)).size, 250);
    const { lines: some } = await queryJson(t.http, { pod: 'many-1*', limit: '5000' });
    assert.equal(some.length, 111);
  });

  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    it(`refuses a parameter named like an object property: ${name}`, async () => {
      const response = await t.http.get(`/api/v1/logs?${name}=x`);
      assert.equal(response.status, 400);
      assert.equal(response.body.param, name);
      const ingest = await t.http.post(`/api/v1/logs?pod=p&${name}=x`).set('Content-Type', 'text/plain').send('m');
      assert.equal(ingest.status, 400);
      assert.equal(ingest.body.param, name);
    });
  }

  it('answers an unknown route with a 404 in the same error shape', async () => {
    const response = await t.http.get('/api/v1/nope');
    assert.equal(response.status, 404);
    assert.deepEqual(response.body, { error: 'Cannot GET /api/v1/nope' });
  });

  describe('pages', () => {
    it('gives the next page in X-Next-Cursor and a Link with the full URL, and neither on the last page', async () => {
      const first = await t.http.get('/api/v1/logs').query({ namespace: 'shop', limit: '2', format: 'json' });
      const cursor = first.headers['x-next-cursor'];
      assert.ok(cursor);
      assert.equal(first.body.nextCursor, cursor);
      const link = first.headers.link;
      const url = new URL(/^<(.+)>; rel="next"$/.exec(link)![1]);
      assert.equal(url.pathname, '/api/v1/logs');
      assert.deepEqual(Object.fromEntries(url.searchParams), { namespace: 'shop', limit: '2', format: 'json', cursor });

      const second = await t.http.get(`${url.pathname}${url.search}`);
      assert.deepEqual(messages(second.body.lines as WireLineBody[]), ['GET /cart 200']);
      assert.equal(second.body.nextCursor, null);
      assert.equal(second.headers['x-next-cursor'], undefined);
      assert.equal(second.headers.link, undefined);
    });

    it('gives a relative Link when the Host header cannot make a URL', async () => {
      const response = await t.http.get('/api/v1/logs').set('Host', 'not a host').query({ namespace: 'shop', limit: '1' });
      assert.equal(response.status, 200);
      assert.match(response.headers.link, /^<\/api\/v1\/logs\?namespace=shop&limit=1&cursor=[\w.-]+>; rel="next"$/);
    });

    it('gives the cursor headers in text format too', async () => {
      const response = await t.http.get('/api/v1/logs').query({ namespace: 'shop', limit: '1' });
      assert.ok(response.headers['x-next-cursor']);
      assert.match(response.headers.link, /rel="next"/);
    });

    it('refuses a cursor with other filters than the query it came from', async () => {
      const first = await t.http.get('/api/v1/logs').query({ namespace: 'shop', limit: '1' });
      const response = await t.http
        .get('/api/v1/logs')
        .query({ namespace: 'payments', limit: '1', cursor: first.headers['x-next-cursor'] });
      assert.equal(response.status, 400);
      assert.equal(response.body.param, 'cursor');
      assert.match(response.body.error as string, /other filters/);
    });

    it('keeps a cursor valid when the same values are listed in another order', async () => {
      const first = await t.http.get('/api/v1/logs').query({ namespace: 'shop,payments', limit: '1' });
      const { lines } = await queryJson(t.http, { namespace: 'payments,shop', limit: '1', cursor: first.headers['x-next-cursor'] });
      assert.equal(lines.length, 1);
    });

    it('keeps a cursor valid when only limit, format or raw change', async () => {
      const first = await t.http.get('/api/v1/logs').query({ namespace: 'shop', limit: '1', raw: 'true' });
      const { lines } = await queryJson(t.http, { namespace: 'shop', limit: '5', cursor: first.headers['x-next-cursor'] });
      assert.deepEqual(messages(lines), ['upstream timed out (110)', 'GET /cart 200']);
    });
  });

  describe('400s name the parameter', () => {
    const cases: [string, Record<string, string | string[]>, string, RegExp][] = [
      ['an unknown parameter', { pods: 'web' }, 'pods', /unknown parameter "pods"; accepted: namespace, pod, container, source, level, min_level, since, from, to, q, exclude, match, regex, field, exclude_field, limit, direction, cursor, format/],
      ['an empty namespace', { namespace: '' }, 'namespace', /non-empty/],
      ['a pod over 253 characters', { pod: 'p'.repeat(254) }, 'pod', /at most 253/],
      ['an unknown level', { level: 'info,loud' }, 'level', /levels among trace, debug, info, warn, error, fatal/],
      ['an unknown min_level', { min_level: 'loud' }, 'min_level', /one level/],
      ['min_level given twice', { min_level: ['warn', 'error'] }, 'min_level', /given once/],
      ['level and min_level with nothing in common', { level: 'debug', min_level: 'error' }, 'level', /at or above min_level/],
      ['a since that is not a duration', { since: '5 minutes' }, 'since', /duration such as 90s, 15m, 2h or 1d/],
      ['a zero since', { since: '0m' }, 'since', /duration/],
      ['since and from together', { since: '1h', from: '2026-11-24T09:00:00Z' }, 'since', /either since or from/],
      ['a from that is not a time', { from: 'yesterday' }, 'from', /^from must be an RFC 3339 time \(2026-11-24T10:00:00Z\) or an epoch time read by its number of digits: up to 10 seconds/],
      ['a from of more than 19 digits', { from: '17955144000000000000' }, 'from', /^from has 20 digits, more than nanoseconds have \(19\)/],
      ['a to with a fraction after milliseconds', { to: '1795514400000.5' }, 'to', /^to has a fraction, which means seconds, and 13 digits before the point/],
      ['a from given twice', { from: ['1795514400', '1795514460'] }, 'from', /given once/],
      ['a to that is not a time', { to: '2026-13-45' }, 'to', /RFC 3339/],
      ['a to before from', { from: '2026-11-24T09:00:00Z', to: '2026-11-24T08:00:00Z' }, 'to', /later than from/],
      ['a limit of 0', { limit: '0' }, 'limit', /from 1 to 5000/],
      ['a limit over 5000', { limit: '5001' }, 'limit', /from 1 to 5000/],
      ['a limit that is not a number', { limit: 'ten' }, 'limit', /whole number/],
      ['an unknown direction', { direction: 'sideways' }, 'direction', /backward, forward/],
      ['an unknown format', { format: 'xml' }, 'format', /text, ndjson, json/],
      ['a cursor that is not one', { cursor: 'bm90IGEgY3Vyc29y' }, 'cursor', /not one this server gave out/],
      ['a cursor with a forged position', { cursor: Buffer.from('1.-5.0.1.xxxxxxxxxxxx').toString('base64url') }, 'cursor', /not one this server gave out/],
      ['an empty q', { q: '' }, 'q', /non-empty/],
      ['a from on a day the month does not have', { from: '2026-02-30T00:00:00Z' }, 'from', /RFC 3339/],
      ['a to at hour 24', { to: '2026-11-24T24:00:00Z' }, 'to', /RFC 3339/],
      ['more than 50 q', { q: Array.from({ length: 51 }, (_, i) => `word${i}`) }, 'q', /1 to 50 non-empty values/],
      ['a q with a NUL, which SQL would cut the pattern at', { q: 'a\u0000b' }, 'q', /without control characters/],
      ['a pod with a control character', { pod: 'web\u0001' }, 'pod', /without control characters/],
    ];
    for (const [what, query, param, error] of cases) {
      it(`for ${what}`, async () => {
        const response = await t.http.get('/api/v1/logs').query(query);
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.equal(response.body.param, param);
        assert.match(response.body.error as string, error);
      });
    }
  });
});
