import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { after, before, describe, it } from 'node:test';
import { HOUR, MINUTE, ManualClock, TestApp, ingestLines, queryJson, startTestApp } from './support/test-app';
import { GrafanaPoint, GrafanaResult, readAsGrafana } from './support/grafana-loki-reader';
import { REPO } from './support/image-command';

/** A query string as Go's url.Values.Encode writes it (Grafana's backend, logcli): keys sorted, spaces as `+`. */
function goQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key]).replace(/%20/g, '+')}`)
    .join('&');
}

const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;

/** A range query's points: one millisecond before each whole step since the epoch that falls in [start, end]. */
function gridPoints(startMs: number, endMs: number, stepMs: number): number[] {
  const points: number[] = [];
  for (let m = Math.ceil((startMs + 1) / stepMs); m * stepMs - 1 <= endMs; m++) points.push(m * stepMs - 1);
  return points;
}

interface Seeded {
  ts: number;
  namespace: string;
  pod: string;
  container: string;
  source: string;
  level: string;
  message: string;
  fields?: Record<string, string | number>;
}

/** Lines of three pods in two namespaces over the last three hours, each at a millisecond of its own, some sharing one. */
function seed(nowMs: number): Seeded[] {
  const lines: Seeded[] = [];
  const statuses = [200, 200, 404, 502, 200, 301];
  for (let i = 0; i < 180; i++) {
    const status = statuses[i % statuses.length];
    lines.push({
      ts: nowMs - 3 * HOUR + i * MINUTE + 17,
      namespace: 'shop',
      pod: 'web-1',
      container: 'nginx',
      source: 'access.log',
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      message: `10.0.0.${i % 7} - - "GET /cart/${i} HTTP/1.1" ${status} ${100 + i}`,
      fields: { status, method: 'GET', path: `/cart/${i}` },
    });
  }
  for (let i = 0; i < 120; i++) {
    lines.push({
      ts: nowMs - 2 * HOUR + i * 30_000 + 3,
      namespace: 'shop',
      pod: 'api-1',
      container: 'app',
      source: 'stdout',
      level: i % 10 === 0 ? 'error' : 'debug',
      message: JSON.stringify({ msg: i % 10 === 0 ? 'Payment failed' : 'cache hit', order: i, level: i % 10 === 0 ? 'ERROR' : 'debug', took: `${i * 7}ms` }),
    });
  }
  for (let i = 1; i <= 30; i++) {
    // On the points of a one-minute grid, and a millisecond after them: a window's edges show off by one.
    for (const at of [nowMs - i * MINUTE - 1, nowMs - i * MINUTE]) {
      lines.push({ ts: at, namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log', level: 'info', message: `edge ${at % 2} ${i}` });
    }
  }
  for (let i = 0; i < 60; i++) {
    // Two lines of one millisecond each minute: logcli must page past both at once.
    for (const copy of ['a', 'b']) {
      lines.push({ ts: nowMs - HOUR + i * MINUTE, namespace: 'ops', pod: 'db-1', container: 'postgres', source: 'stderr', level: 'info', message: `checkpoint ${i} ${copy}` });
    }
  }
  return lines;
}

describe("Loki's query API, as Grafana and logcli call it", () => {
  let t: TestApp;
  let lines: Seeded[];
  const clock = new ManualClock();

  const get = async (path: string, query: Record<string, string>, headers: Record<string, string> = {}) => {
    const response = await t.http.get(`${path}?${goQuery(query)}`).set(headers);
    return response;
  };
  const read = async (path: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<GrafanaResult> => {
    const response = await get(path, query, headers);
    assert.equal(response.status, 200, response.text);
    return readAsGrafana(response.text);
  };

  before(async () => {
    t = await startTestApp({ clock });
    lines = seed(clock.now());
    const byStream = new Map<string, Seeded[]>();
    for (const line of lines) {
      const key = `${line.namespace}/${line.pod}/${line.container}/${line.source}`;
      byStream.set(key, [...(byStream.get(key) ?? []), line]);
    }
    for (const group of byStream.values()) {
      const [{ namespace, pod, container, source }] = group;
      await ingestLines(
        t.http,
        group.map(({ ts, level, message, fields }) => ({ ts: new Date(ts).toISOString(), level, message, source, ...(fields && { fields }) })),
        { namespace, pod, container },
      );
    }
  });
  after(() => t.close());

  it("answers Grafana's Save & test: vector(1)+vector(1) at time=4000000000 (2096) is one sample of 2", async () => {
    const response = await t.http.get('/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000');
    assert.equal(response.status, 200, response.text);
    const answer = readAsGrafana(response.text);
    assert.deepEqual(answer, { resultType: 'vector', points: [{ labels: {}, ms: 4_000_000_000_000, value: 2 }], warnings: [] });
  });

  for (const categorize of [true, false]) {
    it(`answers Grafana's log query ${categorize ? 'with' : 'without'} categorize-labels: the newest lines across streams, fields as structured metadata`, async () => {
      const now = clock.now();
      const query = { direction: 'backward', end: ns(now), limit: '1000', query: '{namespace="shop"} |= "/cart/1"', start: ns(now - 6 * HOUR), step: '15000ms' };
      const answer = await read('/loki/api/v1/query_range', query, categorize ? { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } : {});
      assert.equal(answer.resultType, 'streams');
      if (answer.resultType !== 'streams') return;
      assert.equal(answer.categorized, categorize);
      const expected = lines.filter((l) => l.namespace === 'shop' && l.message.includes('/cart/1')).sort((a, b) => b.ts - a.ts);
      // Grouped in streams (the level is one of their labels), each newest first: Grafana orders the rows by time.
      const rows = [...answer.rows].sort((a, b) => (a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : 0));
      assert.deepEqual(
        rows.map((row) => row.line),
        expected.map((l) => l.message),
      );
      for (const stream of new Set(answer.rows.map((row) => JSON.stringify(row.labels)))) {
        const times: bigint[] = answer.rows.filter((row) => JSON.stringify(row.labels) === stream).map((row) => row.ts);
        assert.deepEqual(times, [...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)), 'each stream newest first');
      }
      const first = rows[0];
      const line = expected[0];
      assert.equal(first.ts, BigInt(line.ts) * 1_000_000n);
      const stream = { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log', level: line.level };
      const metadata = { status: String(line.fields!.status), method: 'GET', path: String(line.fields!.path) };
      if (categorize) {
        assert.deepEqual(first.labels, stream);
        assert.deepEqual(first.structuredMetadata, metadata);
      } else {
        assert.deepEqual(first.labels, { ...stream, ...metadata });
      }
    });
  }

  it('takes `limit` across every stream: the newest N backward, the oldest N forward', async () => {
    const shop = lines.filter((l) => l.namespace === 'shop');
    for (const direction of ['backward', 'forward'] as const) {
      const answer = await read('/loki/api/v1/query_range', { direction, limit: '7', query: '{namespace="shop"}', start: ns(clock.now() - 4 * HOUR), end: ns(clock.now()) });
      assert.equal(answer.resultType, 'streams');
      if (answer.resultType !== 'streams') return;
      const expected = [...shop].sort((a, b) => (direction === 'backward' ? b.ts - a.ts : a.ts - b.ts)).slice(0, 7);
      assert.deepEqual(new Set(answer.rows.map((r) => r.line)), new Set(expected.map((l) => l.message)));
    }
  });

  it('reads start as inclusive and end as exclusive to the nanosecond, in every time format', async () => {
    const line = lines.find((l) => l.pod === 'api-1')!;
    const asked = async (start: string, end: string) => {
      const answer = await read('/loki/api/v1/query_range', { query: '{pod="api-1"}', start, end, limit: '5000' });
      return answer.resultType === 'streams' ? answer.rows.filter((r) => r.line === line.message).length : -1;
    };
    const at = BigInt(line.ts) * 1_000_000n;
    assert.equal(await asked(`${at}`, `${at + 1n}`), 1);
    assert.equal(await asked(`${at - 5n}`, `${at}`), 0);
    assert.equal(await asked(`${at + 1n}`, `${at + 1_000_000n}`), 0);
    const rfc = (ms: number, extraNs: string) => new Date(ms).toISOString().replace(/\.\d+Z$/, `.${String(ms % 1000).padStart(3, '0')}${extraNs}Z`);
    assert.equal(await asked(rfc(line.ts, '000000'), rfc(line.ts, '000001')), 1);
    assert.equal(await asked(rfc(line.ts, '000001'), rfc(line.ts + 1, '000000')), 0);
    assert.equal(await asked(((line.ts - 1) / 1000).toFixed(3), ((line.ts + 1) / 1000).toFixed(3)), 1);
  });

  it("pages as logcli does (BACKWARD, end = last + 1ns, the boundary's lines dropped once): every line once", async () => {
    const end = clock.now();
    const expected = lines.filter((l) => l.namespace === 'ops').sort((a, b) => b.ts - a.ts);
    const seen: string[] = [];
    let endNs = BigInt(end) * 1_000_000n;
    let lastBatch: { ts: bigint; line: string }[] = [];
    for (let batch = 0; batch < 100; batch++) {
      const query = { direction: 'BACKWARD', end: `${endNs}`, limit: '25', query: '{namespace="ops"}', start: ns(end - 2 * HOUR) };
      const answer = await read('/loki/api/v1/query_range', query);
      assert.equal(answer.resultType, 'streams');
      if (answer.resultType !== 'streams') return;
      const rows = answer.rows.map((r) => ({ ts: r.ts, line: r.line })).sort((a, b) => (a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : 0));
      const fresh = rows.filter((r) => !lastBatch.some((l) => l.ts === r.ts && l.line === r.line));
      if (fresh.length === 0) break;
      seen.push(...fresh.map((r) => r.line));
      lastBatch = rows.filter((r) => r.ts === rows[rows.length - 1].ts);
      endNs = rows[rows.length - 1].ts + 1n;
    }
    assert.deepEqual([...seen].sort(), expected.map((l) => l.message).sort());
    assert.equal(new Set(seen).size, seen.length);
  });

  // Once between the lines' times, once on them: a line at t counts at t, not at t + 1m.
  for (const startAfter3h of [-30_000 + 123, 17]) it(`answers Grafana's logs-volume query: each point at t counts the lines of (t − 1m, t], by level (start ${startAfter3h} ms after 3 h ago)`, async () => {
    const start = clock.now() - 3 * HOUR + startAfter3h;
    const end = clock.now();
    const stepMs = 60_000;
    const query = { direction: 'backward', end: ns(end), limit: '1000', query: 'sum by (level, detected_level) (count_over_time({namespace="shop"} | drop __error__[1m]))', start: ns(start), step: `${stepMs}ms` };
    const answer = await read('/loki/api/v1/query_range', query, { 'X-Query-Tags': 'Source=logvolhist', 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    assert.equal(answer.resultType, 'matrix');
    const expected: GrafanaPoint[] = [];
    for (const t0 of gridPoints(start, end, stepMs)) {
      const counts = new Map<string, number>();
      for (const l of lines) if (l.namespace === 'shop' && l.ts > t0 - stepMs && l.ts <= t0) counts.set(l.level, (counts.get(l.level) ?? 0) + 1);
      for (const [level, count] of counts) expected.push({ labels: { level }, ms: t0, value: count });
    }
    const order = (p: GrafanaPoint) => `${p.labels.level} ${String(p.ms).padStart(15)}`;
    assert.deepEqual((answer as { points: GrafanaPoint[] }).points.map(order).sort(), expected.map(order).sort());
    assert.deepEqual(
      [...(answer as { points: GrafanaPoint[] }).points].sort((a, b) => order(a).localeCompare(order(b))),
      [...expected].sort((a, b) => order(a).localeCompare(order(b))),
    );
  });

  it('answers rate, bytes_over_time, topk and arithmetic on series', async () => {
    const end = clock.now();
    const answer = await read('/loki/api/v1/query', { query: 'topk(1, sum by (pod) (count_over_time({namespace=~"shop|ops"}[3h]))) * 2', time: ns(end) });
    assert.equal(answer.resultType, 'vector');
    const web = lines.filter((l) => l.pod === 'web-1' && l.ts > end - 3 * HOUR && l.ts <= end).length;
    assert.deepEqual((answer as { points: GrafanaPoint[] }).points, [{ labels: { pod: 'web-1' }, ms: end, value: 2 * web }]);
    const bytes = await read('/loki/api/v1/query', { query: 'sum(bytes_over_time({pod="db-1"}[1h]))', time: ns(end) });
    const dbBytes = lines.filter((l) => l.pod === 'db-1' && l.ts > end - HOUR).reduce((sum, l) => sum + Buffer.byteLength(l.message), 0);
    assert.deepEqual((bytes as { points: GrafanaPoint[] }).points, [{ labels: {}, ms: end, value: dbBytes }]);
    const rate = await read('/loki/api/v1/query', { query: 'rate({pod="db-1"}[10m])', time: ns(end) });
    assert.deepEqual(
      (rate as { points: GrafanaPoint[] }).points.map((p) => p.value),
      [lines.filter((l) => l.pod === 'db-1' && l.ts > end - 10 * MINUTE).length / 600],
    );
  });

  it('filters on structured metadata without a parser, and on parsed JSON with a clashing key renamed _extracted', async () => {
    const range = { start: ns(clock.now() - 4 * HOUR), end: ns(clock.now()), limit: '5000' };
    const bad = await read('/loki/api/v1/query_range', { ...range, query: '{pod="web-1"} | status=`502`' });
    assert.equal(bad.resultType === 'streams' && bad.rows.length, lines.filter((l) => l.fields?.status === 502).length);
    const failed = await read('/loki/api/v1/query_range', { ...range, query: '{pod="api-1"} | json | level_extracted="ERROR" | msg=~"Payment.*"' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    assert.equal(failed.resultType, 'streams');
    if (failed.resultType !== 'streams') return;
    assert.equal(failed.rows.length, 12);
    assert.deepEqual(failed.rows[0].labels.level, 'error');
    assert.equal(failed.rows[0].parsed.level_extracted, 'ERROR');
    assert.equal(failed.rows[0].parsed.msg, 'Payment failed');
  });

  it('lists labels, label values (for a selector too), series (match[] and logcli\'s match) and index stats', async () => {
    const range = { start: ns(clock.now() - 4 * HOUR), end: ns(clock.now()) };
    const body = async (path: string, query: Record<string, string>) => {
      const response = await get(path, { ...range, ...query });
      assert.equal(response.status, 200, response.text);
      return JSON.parse(response.text) as { status: string; data: unknown };
    };
    assert.deepEqual(await body('/loki/api/v1/labels', {}), { status: 'success', data: ['namespace', 'pod', 'container', 'source', 'level'] });
    assert.deepEqual((await body('/loki/api/v1/label/pod/values', {})).data, ['api-1', 'db-1', 'web-1']);
    assert.deepEqual((await body('/loki/api/v1/label/pod/values', { query: '{namespace="shop"}' })).data, ['api-1', 'web-1']);
    assert.deepEqual((await body('/loki/api/v1/label/k8s_pod_name/values', { query: '{namespace="ops"}' })).data, ['db-1']);
    assert.deepEqual((await body('/loki/api/v1/label/level/values', { query: '{pod="api-1"}' })).data, ['debug', 'error']);
    const series = { namespace: 'ops', pod: 'db-1', container: 'postgres', source: 'stderr', level: 'info' };
    assert.deepEqual((await body('/loki/api/v1/series', { 'match[]': '{namespace="ops"}' })).data, [series]);
    assert.deepEqual((await body('/loki/api/v1/series', { match: '{pod="db-1"}' })).data, [series]);
    const stats = (await body('/loki/api/v1/index/stats', { query: '{namespace="ops"}' })) as unknown as Record<string, number>;
    assert.equal(stats.streams, 1);
    assert.equal(stats.entries, 120);
    assert.ok(stats.bytes > 0);
  });

  it('refuses a bad query or parameter with a 400 in plain text naming the part, and an unknown path with a 404', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ query: '{pod="web-1"' }, /^parse error at line 1, col 13: syntax error/],
      [{ query: '{pod="web-1"} | pattern "<_>"' }, /^parse error at line 1, col 17: \| pattern is not supported/],
      [{ query: '{pod=~".*"}' }, /at least one regexp or equality matcher that does not have an empty-compatible value/],
      [{ query: '{pod="web-1"}', start: 'yesterday' }, /^invalid start: "yesterday" is not a time/],
      [{ query: '{pod="web-1"}', direction: 'sideways' }, /^invalid direction: "sideways": give forward or backward/],
      [{ query: '{pod="web-1"}', limit: '0' }, /^invalid limit/],
      [{ query: '{pod="web-1"}', limit: '5001' }, /max entries limit per query exceeded/],
      [{ query: 'count_over_time({pod="web-1"}[1m])', step: '-5' }, /^invalid step/],
      [{ query: 'count_over_time({pod="web-1"}[1m])', step: '1ms', start: ns(clock.now() - HOUR) }, /exceeded maximum resolution of 11000 points/],
      [{}, /^query is missing/],
    ];
    for (const [query, message] of cases) {
      const response = await get('/loki/api/v1/query_range', query);
      assert.equal(response.status, 400, `${JSON.stringify(query)}: ${response.text}`);
      assert.match(response.headers['content-type'], /^text\/plain/);
      assert.match(response.text, message);
    }
    const missing = await get('/loki/api/v1/detected_fields', { query: '{pod="web-1"}' });
    assert.equal(missing.status, 404);
    assert.match(missing.text, /^GET \/loki\/api\/v1\/detected_fields is not served/);
  });

  it("answers Grafana's context queries: the row's stream before it (backward, 2 h) and after it (forward), with its parser", async () => {
    const row = lines.find((l) => l.pod === 'api-1' && l.message.includes('Payment failed') && l.ts > clock.now() - 90 * MINUTE)!;
    const selector = '{namespace="shop",pod="api-1",container="app",source="stdout",level="error"} | json';
    const before = await read('/loki/api/v1/query_range', { direction: 'backward', end: ns(row.ts), limit: '10', query: selector, start: ns(row.ts - 2 * HOUR), step: '1000ms' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    const after = await read('/loki/api/v1/query_range', { direction: 'forward', end: ns(row.ts + 2 * HOUR), limit: '10', query: selector, start: ns(row.ts), step: '1000ms' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    const errors = lines.filter((l) => l.pod === 'api-1' && l.level === 'error');
    assert.deepEqual(
      before.resultType === 'streams' && before.rows.map((r) => r.line),
      errors.filter((l) => l.ts < row.ts).sort((a, b) => b.ts - a.ts).slice(0, 10).map((l) => l.message),
    );
    assert.deepEqual(
      after.resultType === 'streams' && after.rows.map((r) => r.line),
      errors.filter((l) => l.ts >= row.ts).sort((a, b) => a.ts - b.ts).slice(0, 10).map((l) => l.message),
    );
  });

  it("takes logcli's float-second step and Loki's POST with a form body", async () => {
    const end = clock.now();
    const query = { query: 'sum(count_over_time({namespace="ops"}[30m]))', start: ns(end - HOUR), end: ns(end), step: '1800.0' };
    const answer = await read('/loki/api/v1/query_range', query);
    const windows = gridPoints(end - HOUR, end, HOUR / 2).map((at) => [at, lines.filter((l) => l.namespace === 'ops' && l.ts > at - HOUR / 2 && l.ts <= at).length]);
    assert.deepEqual(
      (answer as { points: GrafanaPoint[] }).points.map((p) => [p.ms, p.value]),
      windows.filter(([, count]) => count > 0),
    );
    assert.deepEqual(windows, [[end - HOUR / 2 - 1, 60], [end - 1, 60]]);
    const posted = await t.http.post('/loki/api/v1/query_range').type('form').send(goQuery(query));
    assert.equal(posted.status, 200, posted.text);
    assert.deepEqual(readAsGrafana(posted.text), answer);
    const series = await t.http.post('/loki/api/v1/series').type('form').send(goQuery({ 'match[]': '{pod="db-1"}', start: ns(end - HOUR), end: ns(end) }));
    assert.equal(JSON.parse(series.text).data.length, 1);
    const form = await t.http.post('/api/v1/logs').type('form').send('message=hello');
    assert.equal(form.status, 415, 'a form is no body ingest takes');
  });

  it("returns exactly what /api/v1/logs returns for the same selection, for random filters", async () => {
    const pods = ['web-1', 'api-1', 'db-1', 'nope'];
    const levels = ['debug', 'info', 'warn', 'error'];
    const words = ['cart', 'cache', 'checkpoint', '1', 'GET', '50'];
    let seedValue = 7;
    const random = (n: number) => {
      seedValue = (seedValue * 1_103_515_245 + 12_345) % 2 ** 31;
      return seedValue % n;
    };
    for (let round = 0; round < 30; round++) {
      const pod = pods[random(pods.length)];
      const chosenLevels = levels.filter(() => random(2) === 0);
      const word = random(2) === 0 ? words[random(words.length)] : undefined;
      const direction = random(2) === 0 ? 'forward' : 'backward';
      const limit = 1 + random(150);
      const fromMs = clock.now() - random(4 * 60) * MINUTE - random(1000);
      const toMs = fromMs + random(3 * 60) * MINUTE + random(1000) + 1;
      const selector = `{pod="${pod}"${chosenLevels.length ? `, level=~"${chosenLevels.join('|')}"` : ''}}${word ? ` |= "${word}"` : ''}`;
      const loki = await read('/loki/api/v1/query_range', { query: selector, direction, limit: String(limit), start: ns(fromMs), end: ns(toMs) });
      const daylog = await queryJson(t.http, {
        pod,
        ...(chosenLevels.length && { level: chosenLevels.join(',') }),
        ...(word && { q: word }),
        direction,
        limit: String(limit),
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
      });
      const asText = (r: { ts: bigint | string; line: string }) => `${typeof r.ts === 'bigint' ? r.ts / 1_000_000n : Date.parse(r.ts)} ${r.line}`;
      assert.equal(loki.resultType, 'streams');
      if (loki.resultType !== 'streams') return;
      assert.deepEqual(
        loki.rows.map(asText).sort(),
        daylog.lines.map((l) => asText({ ts: l.ts, line: l.message })).sort(),
        `round ${round}: ${selector} ${direction} ${limit}`,
      );
    }
  });
});

describe("Loki's query API with tokens, through the provisioned Grafana data source", () => {
  const READER = 'grafana-reader-0123456789';
  const SHOP_READER = 'grafana-shop-reader-0123456789';
  const WRITER = 'grafana-writer-0123456789';
  let t: TestApp;
  let url: string;
  const clock = new ManualClock();

  before(async () => {
    t = await startTestApp({ clock, env: { DAYLOG_READ_TOKENS: `${READER},${SHOP_READER}=shop`, DAYLOG_INGEST_TOKENS: WRITER } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = await t.app.getUrl();
    for (const namespace of ['shop', 'ops']) {
      await t.http.post('/api/v1/logs').set('Authorization', `Bearer ${WRITER}`).send({ labels: { namespace, pod: `${namespace}-1` }, lines: [{ ts: new Date(clock.now() - MINUTE).toISOString(), message: `${namespace} line` }] }).expect(200);
    }
  });
  after(() => t.close());

  /** The data source as Grafana provisions it from deploy/grafana, its ${…} read from Grafana's environment. */
  function dataSource(environment: Record<string, string>) {
    const text = readFileSync(join(REPO, 'deploy/grafana/datasources/daylog.yaml'), 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => environment[name] ?? '');
    const [source] = (parse(text) as { datasources: { type: string; url: string; jsonData: Record<string, unknown>; secureJsonData: Record<string, string> }[] }).datasources;
    return source;
  }

  it("passes Grafana's Save & test with the token header it adds, and is refused without it", async () => {
    const source = dataSource({ DAYLOG_URL: url, DAYLOG_READ_TOKEN: READER });
    assert.equal(source.type, 'loki');
    assert.equal(source.jsonData.manageAlerts, false);
    const health = `${source.url}/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000`;
    const headers = { [source.jsonData.httpHeaderName1 as string]: source.secureJsonData.httpHeaderValue1 };
    const answer = await fetch(health, { headers });
    assert.equal(answer.status, 200);
    assert.equal((readAsGrafana(await answer.text()) as { points: GrafanaPoint[] }).points[0].value, 2);
    const refused = await fetch(health);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /needs a read token/);
  });

  it('shows a namespace-scoped token only its namespaces: lines, labels, series and counts', async () => {
    const headers = { Authorization: `Bearer ${SHOP_READER}` };
    const range = { start: ns(clock.now() - HOUR), end: ns(clock.now()) };
    const get = async (path: string, query: Record<string, string>) => {
      const response = await fetch(`${url}${path}?${goQuery({ ...range, ...query })}`, { headers });
      assert.equal(response.status, 200);
      return response.text();
    };
    const lines = readAsGrafana(await get('/loki/api/v1/query_range', { query: '{pod=~".+"}' }));
    assert.deepEqual(lines.resultType === 'streams' && lines.rows.map((r) => r.line), ['shop line']);
    assert.deepEqual(JSON.parse(await get('/loki/api/v1/label/namespace/values', {})).data, ['shop']);
    const series = JSON.parse(await get('/loki/api/v1/series', { 'match[]': '{}' })) as { data: { namespace: string }[] };
    assert.deepEqual(series.data.map((s) => s.namespace), ['shop']);
    const counts = readAsGrafana(await get('/loki/api/v1/query', { query: 'sum(count_over_time({pod=~".+"}[1h]))', time: range.end }));
    assert.deepEqual((counts as { points: GrafanaPoint[] }).points.map((p) => p.value), [1]);
  });
});
