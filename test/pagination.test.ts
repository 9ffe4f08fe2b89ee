import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HOUR, MINUTE, TestApp, TestAgent, WireLineBody, ingestLines, startTestApp } from './support/test-app';

/** Follows the Link header page by page, calling between() before each next page. */
async function collectPages(
  http: TestAgent,
  firstUrl: string,
  between: () => Promise<void>,
): Promise<{ lines: WireLineBody[]; pages: number }> {
  const lines: WireLineBody[] = [];
  let url: string | null = firstUrl;
  let pages = 0;
  while (url) {
    const response = await http.get(url);
    assert.equal(response.status, 200, response.text);
    const page = response.type === 'application/x-ndjson'
      ? response.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as WireLineBody)
      : (response.body.lines as WireLineBody[]);
    lines.push(...page);
    pages++;
    const link = response.headers.link as string | undefined;
    const next = link ? new URL(/^<(.+)>; rel="next"$/.exec(link)![1]) : null;
    url = next ? next.pathname + next.search : null;
    await between();
    assert.ok(pages < 100, 'pagination does not end');
  }
  return { lines, pages };
}

describe('pagination across partitions while lines arrive', () => {
  let t: TestApp;
  const original: string[] = [];

  before(async () => {
    t = await startTestApp();
    t.clock.advance(30 * MINUTE);
    // 250 lines over three hourly partitions (08:10 to 10:28), two lines to each millisecond so
    // that ties straddle page boundaries.
    const start = t.clock.now() - 2 * HOUR - 20 * MINUTE;
    const lines = Array.from({ length: 250 }, (_, i) => {
      const message = `line ${String(i).padStart(3, '0')}`;
      original.push(message);
      return { ts: start + Math.floor(i / 2) * 67_000, message };
    });
    for (let i = 0; i < lines.length; i += 50) await ingestLines(t.http, lines.slice(i, i + 50), { pod: 'pager' });
  });
  after(() => t.close());

  let arriving = 0;
  const newLineArrives = async () => {
    t.clock.advance(1000);
    await ingestLines(t.http, [{ message: `late ${arriving++}` }], { pod: 'pager' });
  };

  it('spreads the fixture over three partitions', async () => {
    const partitions = new Set<string>();
    const response = await t.http.get('/api/v1/logs').query({ pod: 'pager', limit: '5000', format: 'json' });
    for (const line of response.body.lines as WireLineBody[]) partitions.add(line.ts.slice(0, 13));
    assert.deepEqual([...partitions].sort(), ['2026-11-24T08', '2026-11-24T09', '2026-11-24T10']);
  });

  it('pages backward, newest first, with no gap and no duplicate', async () => {
    const { lines, pages } = await collectPages(t.http, '/api/v1/logs?pod=pager&limit=40&format=json', newLineArrives);
    assert.equal(pages, 7);
    assert.deepEqual(lines.map((l) => l.message), [...original].reverse());
  });

  it('pages forward, oldest first, and reaches the lines that arrived meanwhile', async () => {
    const before = arriving;
    const from = '2026-11-24T08:00:00Z';
    const { lines } = await collectPages(t.http, `/api/v1/logs?pod=pager&limit=33&format=ndjson&direction=forward&from=${from}`, async () => {
      if (arriving < before + 3) await newLineArrives();
    });
    const got = lines.map((l) => l.message);
    assert.deepEqual(got.slice(0, 250), original);
    const late = got.slice(250);
    assert.equal(new Set(late).size, late.length, 'a late line came twice');
    assert.deepEqual(late, Array.from({ length: late.length }, (_, i) => `late ${i}`));
    assert.equal(late.length, arriving);
  });
});
