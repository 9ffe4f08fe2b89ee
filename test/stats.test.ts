import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HOUR, MINUTE, TestApp, ingestLines, startTestApp } from './support/test-app';

interface SentLine {
  ts: number;
  level: string;
  message: string;
  pod: string;
}

/** 10:00 on the test clock; lines every 7 s over the last 90 minutes, from three pods, with a level mix. */
function makeLines(now: number): SentLine[] {
  const lines: SentLine[] = [];
  for (let i = 0; i < 770; i++) {
    const pod = ['web-1', 'web-2', 'api-1'][i % 3];
    const level = i % 23 === 0 ? 'error' : i % 7 === 0 ? 'warn' : 'info';
    lines.push({ ts: now - 90 * MINUTE + i * 7000, level, message: `${level === 'error' ? 'payment declined' : 'GET /'} #${i}`, pod });
  }
  return lines;
}

/** What the counts must be, from the lines as sent. */
function expectedBuckets(lines: SentLine[], fromMs: number, toMs: number, stepMs: number, key: (line: SentLine) => string) {
  const first = fromMs - (fromMs % stepMs);
  const buckets = new Map<number, Record<string, number>>();
  for (let start = first; start < toMs; start += stepMs) buckets.set(start, {});
  for (const line of lines.filter((l) => l.ts >= fromMs && l.ts < toMs)) {
    const counts = buckets.get(line.ts - (line.ts % stepMs))!;
    counts[key(line)] = (counts[key(line)] ?? 0) + 1;
  }
  return [...buckets.entries()].map(([start, counts]) => ({ start: new Date(start).toISOString(), counts }));
}

describe('counts over time: GET /api/v1/stats', () => {
  let t: TestApp;
  let lines: SentLine[];

  before(async () => {
    t = await startTestApp();
    lines = makeLines(t.clock.now());
    for (const pod of ['web-1', 'web-2', 'api-1']) {
      await ingestLines(
        t.http,
        lines.filter((l) => l.pod === pod).map(({ ts, level, message }) => ({ ts, level, message })),
        { namespace: 'shop', pod, container: 'app' },
      );
    }
  });
  after(() => t.close());

  const sorted = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).sort());

  async function statsJson(query: Record<string, string>) {
    const response = await t.http.get('/api/v1/stats').query({ format: 'json', ...query });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body as { from: string; to: string; step: string; by: string; total: number; buckets: { start: string; total: number; counts: Record<string, number> }[] };
  }

  it('counts lines by level per bucket, every bucket of the range present, exact at edges inside a minute', async () => {
    const from = t.clock.now() - 80 * MINUTE + 30_500;
    const to = t.clock.now() - 10 * MINUTE - 12_000;
    const body = await statsJson({ from: String(from), to: String(to), step: '5m' });
    const expected = expectedBuckets(lines, from, to, 5 * MINUTE, (line) => line.level);
    assert.deepEqual(
      body.buckets.map((b) => ({ start: b.start, counts: sorted(b.counts) })),
      expected.map((b) => ({ start: b.start, counts: sorted(b.counts) })),
    );
    assert.equal(body.total, lines.filter((l) => l.ts >= from && l.ts < to).length);
    for (const bucket of body.buckets) assert.equal(bucket.total, Object.values(bucket.counts).reduce((a, b) => a + b, 0));
    assert.deepEqual([body.step, body.by], ['5m', 'level']);
  });

  it('lists levels worst last in JSON order of severity, and pods busiest first', async () => {
    const byLevel = await statsJson({ since: '2h', step: '1h' });
    const withErrors = byLevel.buckets.find((b) => b.counts.error)!;
    assert.deepEqual(Object.keys(withErrors.counts), ['info', 'warn', 'error']);
    const byPod = await statsJson({ since: '2h', step: '1h', by: 'pod', level: 'error' });
    const expected = expectedBuckets(lines.filter((l) => l.level === 'error'), t.clock.now() - 2 * HOUR, t.clock.now() + 1, HOUR, (line) => line.pod);
    assert.deepEqual(byPod.buckets.map((b) => sorted(b.counts)), expected.map((b) => sorted(b.counts)));
    for (const bucket of byPod.buckets) {
      const counts = Object.values(bucket.counts);
      assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
    }
  });

  it('takes the filters of /api/v1/logs, text search included, with the same answers as counting the lines', async () => {
    const body = await statsJson({ since: '2h', step: '10m', pod: 'web-*', q: 'DECLINED' });
    const matching = lines.filter((l) => l.pod.startsWith('web-') && l.message.includes('declined'));
    assert.ok(matching.length > 5);
    assert.equal(body.total, matching.length);
    const expected = expectedBuckets(matching, t.clock.now() - 2 * HOUR, t.clock.now() + 1, 10 * MINUTE, (line) => line.level);
    assert.deepEqual(body.buckets.map((b) => sorted(b.counts)), expected.map((b) => sorted(b.counts)));
  });

  it('picks a step giving at most 60 buckets when none is given', async () => {
    assert.equal((await statsJson({ since: '1h' })).step, '1m');
    assert.equal((await statsJson({ since: '3h' })).step, '5m');
    assert.equal((await statsJson({})).step, '30m');
  });

  it('draws a bar chart in text, one line a bucket, the busiest bucket the longest bar', async () => {
    const response = await t.http.get('/api/v1/stats').query({ since: '90m', step: '15m' });
    assert.match(response.headers['content-type'], /^text\/plain/);
    const [header, ...rows] = response.text.trimEnd().split('\n');
    assert.match(header, /^# lines per 15m by level, 2026-11-24T08:30:00\.000Z to .*: 770$/);
    assert.equal(rows.length, 7);
    const totals = rows.map((row) => Number(/█*[▏▎▍▌▋▊▉]? +(\d+)/u.exec(row)![1]));
    const bars = rows.map((row) => (/^\S+ (█*)/u.exec(row)![1].length));
    assert.equal(bars[totals.indexOf(Math.max(...totals))], 40);
    assert.match(rows[0], /^2026-11-24T08:30Z █+ +\d+ {2}error \d+ {2}warn \d+ {2}info \d+$/u);
  });

  it('refuses a step that is not whole minutes from 1m to 1h, naming it', async () => {
    for (const step of ['90s', '2h', 'often']) {
      const response = await t.http.get('/api/v1/stats').query({ step });
      assert.equal(response.status, 400, step);
      assert.equal(response.body.param, 'step');
    }
    const by = await t.http.get('/api/v1/stats').query({ by: 'container' });
    assert.equal(by.status, 400);
    assert.equal(by.body.param, 'by');
  });
});

const valuesOf = (body: unknown): string[] => (body as { values: { value: string }[] }).values.map((v) => v.value);

describe('label values seen: GET /api/v1/labels/{label}', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
    const now = t.clock.now();
    await ingestLines(t.http, [{ ts: now - 3 * HOUR, message: 'a' }, { ts: now - 2 * MINUTE, message: 'b' }], { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log' });
    await ingestLines(t.http, [{ ts: now - 90 * MINUTE, message: 'c' }], { namespace: 'shop', pod: 'web-2', container: 'nginx', source: 'error.log' });
    await ingestLines(t.http, [{ ts: now - 10 * MINUTE, message: 'd' }], { namespace: 'payments', pod: 'pay-1' });
  });
  after(() => t.close());

  it('lists each value with its line count and when it was last seen, sorted', async () => {
    const response = await t.http.get('/api/v1/labels/pod').query({ format: 'json' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.values, [
      { value: 'pay-1', lines: 1, lastSeen: '2026-11-24T09:50:00.000Z' },
      { value: 'web-1', lines: 2, lastSeen: '2026-11-24T09:58:00.000Z' },
      { value: 'web-2', lines: 1, lastSeen: '2026-11-24T08:30:00.000Z' },
    ]);
    const containers = await t.http.get('/api/v1/labels/container').query({ format: 'json' });
    assert.deepEqual(valuesOf(containers.body), ['nginx'], 'a label a line lacks is not a value');
  });

  it('filters by the other labels and the time range', async () => {
    const shop = await t.http.get('/api/v1/labels/source').query({ format: 'json', namespace: 'shop', since: '2h' });
    assert.deepEqual(shop.body.values, [
      { value: 'access.log', lines: 1, lastSeen: '2026-11-24T09:58:00.000Z' },
      { value: 'error.log', lines: 1, lastSeen: '2026-11-24T08:30:00.000Z' },
    ]);
    const namespaces = await t.http.get('/api/v1/labels/namespace').query({ format: 'json', pod: 'web-*' });
    assert.deepEqual(valuesOf(namespaces.body), ['shop']);
  });

  it('answers in text by default: a header line saying what, how many and over which range, then aligned columns', async () => {
    const response = await t.http.get('/api/v1/labels/pod');
    assert.equal(
      response.text,
      [
        '# pod: 3 values, 2026-11-23T10:00:00.000Z to 2026-11-24T10:00:00.001Z (value, lines, last seen)',
        'pay-1  1  2026-11-24T09:50:00.000Z',
        'web-1  2  2026-11-24T09:58:00.000Z',
        'web-2  1  2026-11-24T08:30:00.000Z',
        '',
      ].join('\n'),
    );
    const one = await t.http.get('/api/v1/labels/namespace').query({ pod: 'pay-*', since: '1h' });
    assert.equal(one.text, '# namespace: 1 value, 2026-11-24T09:00:00.000Z to 2026-11-24T10:00:00.001Z (value, lines, last seen)\npayments  1  2026-11-24T09:50:00.000Z\n');
    const none = await t.http.get('/api/v1/labels/container').query({ namespace: 'payments' });
    assert.equal(none.text, '# container: 0 values, 2026-11-23T10:00:00.000Z to 2026-11-24T10:00:00.001Z (value, lines, last seen)\n');
  });

  it('says 404 for a label that does not exist', async () => {
    const response = await t.http.get('/api/v1/labels/node');
    assert.equal(response.status, 404);
    assert.match(response.body.error, /use namespace, pod, container, source/);
  });
});
