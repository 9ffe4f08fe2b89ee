import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LEVELS } from '@daylog/log-model';
import { LineSpec, buildCase, caseArb, clock, lineArb, SCOPE } from './support/filter-cases';
import { partitionGenerations, untilCompacted } from './support/compaction-state';
import { MINUTE, TestApp, startTestApp, tempDataDir } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const SCOPED_READER = 'scoped-read-token-0123456789';
const TOKENS = { DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_READ_TOKENS: `${READER},${SCOPED_READER}=${SCOPE.join('|')}` };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
/** A partition is compacted once lines this far past its end are written (partition-writer.ts). */
const GRACE_MS = 2 * MINUTE;
/** Pages of one request asked for, at most: enough to cross blocks and hours, few enough for a case of limit 2. */
const PAGES_PER_REQUEST = 12;

interface Asked {
  path: string;
  token: string;
}

interface Answer extends Asked {
  status: number;
  body: string;
}

/**
 * Lines of one label set in one hour, many more than a block holds (1,024), several to a millisecond, some of
 * them not ASCII, and a few long enough (60 KB) that blocks are cut by bytes too; another label set alongside.
 */
function bulkLines(hourAgoMs: number): LineSpec[] {
  const lines: LineSpec[] = [];
  for (let i = 0; i < 2600; i++) {
    lines.push({
      ts: hourAgoMs + Math.floor(i / 3) * 7,
      level: LEVELS[i % 7 === 0 ? 4 : i % 5 === 0 ? 3 : 2],
      namespace: 'alpha',
      pod: 'bulk-0',
      container: i % 10 === 0 ? 'sidecar' : 'app',
      source: 'stdout',
      message: i % 11 === 0 ? `Zürich café ${i} ünïcode 日本 request ${i}` : i % 500 === 3 ? `long ${i} ${'x'.repeat(60_000)}` : `GET /api/v1/orders/${i} status=${200 + (i % 4)} took ${i % 97}ms`,
      fields: i % 13 === 0 ? { request: `r-${i}`, status: 200 + (i % 4) } : null,
      format: null,
    });
  }
  return lines;
}

/** A request's pages, cursor after cursor, each as asked (its path) and answered. */
async function pagesOf(t: TestApp, params: URLSearchParams, token: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < PAGES_PER_REQUEST; page++) {
    const asked = new URLSearchParams(params);
    asked.set('format', 'json');
    if (cursor) asked.set('cursor', cursor);
    const path = `/api/v1/logs?${asked.toString()}`;
    const response = await t.http.get(path).set(bearer(token));
    answers.push({ path, token, status: response.status, body: response.text });
    assert.equal(response.status, 200, response.text);
    cursor = (JSON.parse(response.text) as { nextCursor: string | null }).nextCursor;
    if (!cursor) break;
  }
  return answers;
}

async function answer(t: TestApp, { path, token }: Asked): Promise<Answer> {
  const response = await t.http.get(path).set(bearer(token));
  return { path, token, status: response.status, body: response.text };
}

async function ingest(t: TestApp, lines: LineSpec[]): Promise<void> {
  for (let at = 0; at < lines.length; at += 1000) {
    const body = lines.slice(at, at + 1000).map((line) => JSON.stringify(line)).join('\n');
    const response = await t.http.post('/api/v1/logs').set(bearer(WRITER)).set('Content-Type', 'application/x-ndjson').send(`${body}\n`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.rejected, []);
  }
}

describe('compressed hours', () => {
  it('answer every query, count, label list and context as they did before the rewrite, cursors handed out before included', { timeout: 240_000 }, async () => {
    const dataDir = tempDataDir();
    const cases = fc.sample(caseArb, { numRuns: 40, seed: 2020 }).map(buildCase);
    const others = fc.sample(lineArb(['alpha', 'beta', 'gamma', null]), { numRuns: 400, seed: 20 });
    const bulkHour = clock.now() - 5 * 3_600_000 - 17 * MINUTE;
    const lines = [...cases.flatMap((c) => [...c.lines, c.witness]), ...others, ...bulkLines(bulkHour)].sort((a, b) => a.ts - b.ts);
    const latestTs = Math.max(...lines.map((line) => line.ts));

    const requests: { params: URLSearchParams; token: string }[] = [];
    for (const c of cases) {
      const token = c.scoped ? SCOPED_READER : READER;
      for (const direction of ['backward', 'forward']) {
        const params = new URLSearchParams(c.params);
        params.set('direction', direction);
        params.set('limit', params.get('limit') ?? '7');
        requests.push({ params, token });
      }
    }
    for (const query of ['pod=bulk-0&limit=250', 'pod=bulk-0&limit=250&direction=forward', 'pod=bulk-*&q=%C3%BC&limit=40', 'level=error&limit=100', 'limit=1000', 'match=cafe&limit=30', 'regex=took%20[0-9]%7B2%7Dms&limit=300']) {
      requests.push({ params: new URLSearchParams(query), token: READER });
    }

    const before = await startTestApp({ dataDir, clock, env: { ...TOKENS, DAYLOG_COMPRESSION: 'off' } });
    const recorded: Answer[] = [];
    try {
      await ingest(before, lines);
      for (const { params, token } of requests) recorded.push(...(await pagesOf(before, params, token)));
      for (const c of cases.slice(0, 20)) {
        const token = c.scoped ? SCOPED_READER : READER;
        recorded.push(await answer(before, { path: `/api/v1/stats?format=json&by=pod&${c.params.toString()}`, token }));
        recorded.push(await answer(before, { path: `/api/v1/labels/pod?format=json&${c.params.toString()}`, token }));
      }
      const hits = recorded.flatMap((a) => (a.path.startsWith('/api/v1/logs?') ? (JSON.parse(a.body) as { lines: { cursor: string }[] }).lines : []));
      for (const hit of hits.filter((_, i) => i % 97 === 0)) {
        recorded.push(await answer(before, { path: `/api/v1/logs/context?format=json&before=4&after=4&cursor=${encodeURIComponent(hit.cursor)}`, token: READER }));
      }
      assert.ok(partitionGenerations(dataDir).every((p) => p.generation === 0), 'nothing is compacted with DAYLOG_COMPRESSION=off');
    } finally {
      await before.close();
    }

    const after = await startTestApp({ dataDir, clock, env: TOKENS });
    try {
      const state = await untilCompacted(dataDir, latestTs - GRACE_MS);
      assert.ok(state.filter((p) => p.generation > 0).length >= 20, `most hours are compacted: ${JSON.stringify(state)}`);
      for (const asked of recorded) {
        const now = await answer(after, asked);
        assert.equal(now.status, asked.status, asked.path);
        assert.equal(now.body, asked.body, `${asked.path} answers as before the rewrite`);
      }

      // A late line for a compacted hour is stored beside its blocks, found, and paged in its place.
      const lateTs = bulkHour + 7 * 100 + 3;
      const everyLine = async () => (await pagesOf(after, new URLSearchParams({ limit: '5000', direction: 'forward', pod: 'bulk-0' }), READER)).flatMap((a) => (JSON.parse(a.body) as { lines: { ts: string; message: string }[] }).lines);
      const listedBefore = await everyLine();
      await ingest(after, [{ ts: lateTs, level: 'warn', namespace: 'alpha', pod: 'bulk-0', container: 'app', source: 'stdout', message: 'a late line', fields: null, format: null }]);
      const listedAfter = await everyLine();
      const at = listedAfter.findIndex((line) => line.message === 'a late line');
      assert.ok(at > 0, 'the late line is found');
      assert.deepEqual(listedAfter.filter((_, i) => i !== at).map((line) => line.message), listedBefore.map((line) => line.message));
      assert.ok(Date.parse(listedAfter[at - 1].ts) <= lateTs && Date.parse(listedAfter[at + 1].ts) > lateTs, 'after the lines of its millisecond, before the next');
      const found = await pagesOf(after, new URLSearchParams({ q: 'a late line' }), READER);
      assert.equal((JSON.parse(found[0].body) as { lines: unknown[] }).lines.length, 1);
    } finally {
      await after.close();
    }
  });
});
