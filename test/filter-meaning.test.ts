import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Level, LogLine } from '@daylog/log-model';
import { lineMatcher } from '@daylog/storage';
import { LineSpec, RETENTION_MS, SCOPE, buildCase, caseArb, clock, lineArb } from './support/filter-cases';
import { TailClient } from './support/tail-client';
import { untilCompacted } from './support/compaction-state';
import { MINUTE, TestApp, WireLineBody, startTestApp } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const SCOPED_READER = 'scoped-read-token-0123456789';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A stored line as the JSON answer gives it, back as the line the tail's predicate tests; its `n` names it. */
function storedLine(wire: WireLineBody): LogLine & { n: number } {
  return {
    ts: Date.parse(wire.ts),
    level: wire.level as Level,
    namespace: wire.namespace,
    pod: wire.pod,
    container: wire.container,
    source: wire.source,
    message: wire.message,
    fields: wire.fields ?? null,
    format: wire.format ?? null,
    n: wire.fields!.n as number,
  };
}

/**
 * One app through its HTTP API, lines piling up run after run: each run's filter is asked of the query (every
 * page, forward) and of a live tail opened before its lines are stored, and both must answer what the tail's
 * predicate, lineMatcher, keeps of every stored line.
 */
describe('a filter means the same to a query and to a live tail', () => {
  let t: TestApp;
  let tailUrl: string;
  let sent = 0;

  /** Stores lines, each named by its `n` field. */
  async function ingest(lines: LineSpec[]): Promise<number[]> {
    if (lines.length === 0) return [];
    const numbered = lines.map((line) => ({ ...line, fields: { ...line.fields, n: ++sent } }));
    const body = numbered.map((line) => JSON.stringify(line)).join('\n');
    const response = await t.http.post('/api/v1/logs').set(bearer(WRITER)).set('Content-Type', 'application/x-ndjson').send(`${body}\n`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.rejected, []);
    return numbered.map((line) => line.fields.n);
  }

  /** Every line a query finds, forward, cursor after cursor. */
  async function queryAll(params: URLSearchParams, token: string): Promise<WireLineBody[]> {
    const lines: WireLineBody[] = [];
    let cursor: string | null = null;
    do {
      const page: URLSearchParams = new URLSearchParams(params);
      page.set('direction', 'forward');
      page.set('format', 'json');
      if (cursor) page.set('cursor', cursor);
      const response = await t.http.get(`/api/v1/logs?${page.toString()}`).set(bearer(token));
      assert.equal(response.status, 200, JSON.stringify(response.body));
      lines.push(...(response.body.lines as WireLineBody[]));
      cursor = response.body.nextCursor as string | null;
    } while (cursor);
    return lines;
  }

  before(async () => {
    t = await startTestApp({ clock, env: { DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_READ_TOKENS: `${READER},${SCOPED_READER}=${SCOPE.join('|')}` } });
    assert.equal(t.config.retentionMs, RETENTION_MS);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    tailUrl = `${await t.app.getUrl()}/api/v1/tail`;
    // More label sets than SQLite lists in a statement: a pattern such as web-* reaches them as one JSON parameter.
    const seeds = fc.sample(lineArb(['alpha', 'beta', 'gamma', null]), { numRuns: 600, seed: 15 });
    await ingest(seeds.map((line, i) => ({ ...line, pod: `${i % 2 ? 'web' : 'api'}-${Math.floor(i / 4)}`, container: i % 4 < 2 ? 'nginx' : 'app' })));
    // The older hours are then compressed: their lines read from blocks (words found through the blocks' index) and
    // merged with the late lines each run adds to them; the newest hour is read as written.
    await untilCompacted(t.config.dataDir, Math.max(...seeds.map((line) => line.ts)) - 2 * MINUTE);
  });
  after(() => t.close());

  it('finds exactly the lines the predicate keeps, in order, and the tail shows exactly the new ones among them', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (drawn) => {
        const { scoped, witness, lines, params, filter } = buildCase(drawn);
        const matches = lineMatcher(filter);
        assert.ok(matches(witness), 'the witness passes the filter it was made for');
        const token = scoped ? SCOPED_READER : READER;

        const tailParams = new URLSearchParams(params);
        tailParams.set('format', 'ndjson');
        tailParams.set('limit', '0');
        const tail = new TailClient(`${tailUrl}?${tailParams.toString()}`, { headers: bearer(token) });
        try {
          assert.equal((await tail.opened()).statusCode, 200);
          const fresh = new Set(await ingest(lines));
          const [witnessN] = await ingest([witness]);
          fresh.add(witnessN);
          const shown = (): { n?: number; notice?: string }[] => tail.lines.map((line) => JSON.parse(line) as { fields?: { n: number }; notice?: string }).map((line) => ({ n: line.fields?.n, notice: line.notice }));
          while (!shown().some((line) => line.n === witnessN)) await tail.waitFor(tail.lines.length + 1, 'the witness line');

          const stored = (await queryAll(new URLSearchParams({ limit: '5000' }), READER)).map(storedLine);
          const kept = stored.filter(matches).map((line) => line.n);
          const found = (await queryAll(params, token)).map((line) => storedLine(line).n);
          assert.deepEqual(found, kept, `the query's lines are the predicate's, in order, for ${params.toString()}`);
          const tailed = shown().map((line) => line.n ?? line.notice);
          const expected = found.filter((n) => fresh.has(n));
          assert.deepEqual(
            [...tailed].sort((a, b) => Number(a) - Number(b)),
            [...expected].sort((a, b) => a - b),
            `the tail shows the new lines the query finds, for ${params.toString()}`,
          );
        } finally {
          tail.request.destroy();
        }
      }),
      { numRuns: 40, includeErrorInReport: true },
    );
  });
});
