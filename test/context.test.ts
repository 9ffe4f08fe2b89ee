import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CursorCodec, CursorPosition } from '@daylog/storage';
import { RetentionService } from '../apps/aggregator/src/retention/retention.service';
import { HOUR, MINUTE, ManualClock, TestApp, WireLineBody, ingestLines, queryJson, startTestApp } from './support/test-app';

describe('a line and its context', () => {
  let t: TestApp;
  let start: number;
  /** web-1/nginx lines one every 10 s from 09:58 to 10:02, across the 10:00 partition boundary, from two files. */
  const nginxMessages: string[] = [];

  before(async () => {
    t = await startTestApp();
    start = t.clock.now() - 2 * MINUTE;
    const access: object[] = [];
    const errors: object[] = [];
    for (let i = 0; i < 24; i++) {
      const message = `nginx line ${String(i).padStart(2, '0')}`;
      nginxMessages.push(message);
      (i % 3 === 2 ? errors : access).push({ ts: start + i * 10_000, message });
    }
    await ingestLines(t.http, access, { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log' });
    await ingestLines(t.http, errors, { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'error.log' });
    const between = Array.from({ length: 24 }, (_, i) => ({ ts: start + i * 10_000 + 5000, message: `other ${i}` }));
    await ingestLines(t.http, between, { namespace: 'shop', pod: 'web-1', container: 'app' });
    await ingestLines(t.http, between, { namespace: 'shop', pod: 'web-2', container: 'nginx' });
    await ingestLines(t.http, between, { namespace: 'payments', pod: 'web-1', container: 'nginx' });
  });
  after(() => t.close());

  async function lineNamed(message: string): Promise<WireLineBody> {
    const { lines } = await queryJson(t.http, { q: message, pod: 'web-1', container: 'nginx', namespace: 'shop' });
    assert.equal(lines.length, 1, message);
    return lines[0];
  }

  it('gives every line in json and ndjson answers its own cursor, and keeps text as it was', async () => {
    const { lines } = await queryJson(t.http, { pod: 'web-1', limit: '100' });
    assert.equal(new Set(lines.map((line) => line.cursor)).size, lines.length);
    const ndjson = await t.http.get('/api/v1/logs').query({ pod: 'web-1', limit: '100', format: 'ndjson' });
    const ndjsonCursors = ndjson.text.trimEnd().split('\n').map((text) => (JSON.parse(text) as WireLineBody).cursor);
    assert.deepEqual(ndjsonCursors, lines.map((line) => line.cursor));
    const text = await t.http.get('/api/v1/logs').query({ pod: 'web-1', limit: '1', format: 'text' });
    assert.doesNotMatch(text.text, /cursor/);
  });

  it('reads the lines around one from the same pod and container, every file, oldest first, across partitions', async () => {
    const hit = await lineNamed('nginx line 12');
    assert.equal(hit.ts, '2026-11-24T10:00:00.000Z');
    const response = await t.http.get('/api/v1/logs/context').query({ cursor: hit.cursor, before: '3', after: '2', format: 'json' });
    assert.equal(response.status, 200);
    const body = response.body as { before: WireLineBody[]; line: WireLineBody; after: WireLineBody[] };
    assert.deepEqual(body.line, hit);
    assert.deepEqual(body.before.map((line) => line.message), ['nginx line 09', 'nginx line 10', 'nginx line 11']);
    assert.deepEqual(body.after.map((line) => line.message), ['nginx line 13', 'nginx line 14']);
    assert.deepEqual(body.before.map((line) => line.source), ['access.log', 'access.log', 'error.log']);
    for (const line of [...body.before, ...body.after]) assert.deepEqual([line.namespace, line.pod, line.container], ['shop', 'web-1', 'nginx']);
  });

  it('takes 20 lines each side by default, fewer at the ends of what is kept, and none when asked', async () => {
    const first = await lineNamed('nginx line 00');
    const atStart = await t.http.get('/api/v1/logs/context').query({ cursor: first.cursor, format: 'json' });
    assert.deepEqual(atStart.body.before, []);
    assert.deepEqual(
      (atStart.body.after as WireLineBody[]).map((line) => line.message),
      nginxMessages.slice(1, 21),
    );
    const alone = await t.http.get('/api/v1/logs/context').query({ cursor: first.cursor, before: '0', after: '0', format: 'json' });
    assert.deepEqual([alone.body.before, alone.body.after], [[], []]);
  });

  it('answers in ndjson oldest first, and in text with the line marked as grep -C would', async () => {
    const hit = await lineNamed('nginx line 05');
    const ndjson = await t.http.get('/api/v1/logs/context').query({ cursor: hit.cursor, before: '1', after: '1', format: 'ndjson' });
    assert.deepEqual(
      ndjson.text.trimEnd().split('\n').map((text) => (JSON.parse(text) as WireLineBody).message),
      ['nginx line 04', 'nginx line 05', 'nginx line 06'],
    );
    const text = await t.http.get('/api/v1/logs/context').query({ cursor: hit.cursor, before: '1', after: '1' });
    assert.match(text.headers['content-type'], /^text\/plain/);
    assert.deepEqual(text.text.trimEnd().split('\n'), [
      '  2026-11-24T09:58:40.000Z INFO shop/web-1/nginx nginx line 04',
      '> 2026-11-24T09:58:50.000Z INFO shop/web-1/nginx nginx line 05',
      '  2026-11-24T09:59:00.000Z INFO shop/web-1/nginx nginx line 06',
    ]);
  });

  it('refuses what is not a line cursor with a 400 naming the parameter', async () => {
    const page = await t.http.get('/api/v1/logs').query({ pod: 'web-1', limit: '1', format: 'json' });
    for (const cursor of [page.body.nextCursor as string, 'not-a-cursor', Buffer.from('l.1.2.x').toString('base64url')]) {
      const response = await t.http.get('/api/v1/logs/context').query({ cursor });
      assert.equal(response.status, 400, cursor);
      assert.equal(response.body.param, 'cursor');
      assert.match(response.body.error, /line's cursor/);
    }
    const missing = await t.http.get('/api/v1/logs/context');
    assert.equal(missing.status, 400);
    const tooMany = await t.http.get('/api/v1/logs/context').query({ cursor: page.body.lines[0].cursor, before: '1001' });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error, /before must be a whole number from 0 to 1000/);
  });

  it('refuses a cursor whose position was changed, for pages and for lines: cursors are sealed', async () => {
    const page = await t.http.get('/api/v1/logs').query({ pod: 'web-1', limit: '2', format: 'json' });
    // The row id is enciphered, so flipping a bit of it (byte 20 lies in its block) is all a hand can do.
    const forge = (cursor: string) => {
      const bytes = Buffer.from(cursor, 'base64url');
      bytes[12 + 8] ^= 1;
      return bytes.toString('base64url');
    };
    const nextPage = await t.http.get('/api/v1/logs').query({ pod: 'web-1', limit: '2', cursor: forge(page.body.nextCursor as string) });
    assert.equal(nextPage.status, 400);
    assert.deepEqual(nextPage.body, { error: 'cursor is not one this server gave out; start again without it', param: 'cursor' });
    const lineCursor = (page.body.lines as WireLineBody[])[0].cursor;
    assert.equal((await t.http.get('/api/v1/logs/context').query({ cursor: lineCursor })).status, 200);
    assert.equal((await t.http.get('/api/v1/logs/context').query({ cursor: forge(lineCursor) })).status, 400);
  });

  it('says 404 for a line past the retention, before and after the pruner drops it', async () => {
    const hit = await lineNamed('nginx line 00');
    t.clock.advance(24 * HOUR);
    const hidden = await t.http.get('/api/v1/logs/context').query({ cursor: hit.cursor });
    assert.equal(hidden.status, 404);
    assert.match(hidden.body.error, /^that line is not kept, or not for this token to read/);
    await t.app.get(RetentionService).prune();
    assert.equal((await t.http.get('/api/v1/logs/context').query({ cursor: hit.cursor })).status, 404);
  });
});

describe('cursors seen by a token limited to one namespace', () => {
  const SHOP_READER = 'shop-read-token-0123456789';
  const shop = { namespace: 'shop', pod: 'web-1' };
  const payments = { namespace: 'payments', pod: 'pay-1' };

  /** Ways a number could be written into a cursor: in decimal, or as a 4- or 8-byte integer either way round. */
  function spellings(n: number): Buffer[] {
    const four = Buffer.alloc(4);
    four.writeUInt32BE(n);
    const eight = Buffer.alloc(8);
    eight.writeBigUInt64BE(BigInt(n));
    return [Buffer.from(String(n)), four, Buffer.from(four).reverse(), eight, Buffer.from(eight).reverse()];
  }

  it("say nothing of how many lines other namespaces stored between two of them", async () => {
    const t = await startTestApp({ clock: new ManualClock(Date.now()), env: { DAYLOG_READ_TOKENS: `${SHOP_READER}=shop` } });
    try {
      const now = t.clock.now();
      const paymentsLines = (count: number, ts: number) => Array.from({ length: count }, (_, i) => ({ ts, message: `payment ${i}` }));
      await ingestLines(t.http, paymentsLines(2000, now - 4000), payments);
      await ingestLines(t.http, [{ ts: now - 3000, message: 'shop first' }], shop);
      await ingestLines(t.http, paymentsLines(3000, now - 2000), payments);
      await ingestLines(t.http, [{ ts: now - 1000, message: 'shop second' }], shop);

      const read = (query: Record<string, string>) => t.http.get('/api/v1/logs').set('Authorization', `Bearer ${SHOP_READER}`).query({ format: 'json', ...query });
      const both = (await read({ limit: '10' })).body as { lines: WireLineBody[] };
      assert.deepEqual(both.lines.map((line) => line.message), ['shop second', 'shop first']);
      const firstPage = (await read({ limit: '1' })).body as { nextCursor: string };
      const secondPage = (await read({ limit: '1', cursor: firstPage.nextCursor })).body as { lines: WireLineBody[] };
      assert.deepEqual(secondPage.lines.map((line) => line.message), ['shop first']);
      const forward = (await read({ limit: '1', direction: 'forward' })).body as { nextCursor: string };

      // The server knows the row ids (3,000 payments lines lie between the two); the cursors must not tell them.
      const codec = t.app.get(CursorCodec);
      const ids = both.lines.map((line) => (codec.decodeLine(line.cursor) as { position: CursorPosition }).position.id);
      assert.ok(ids[0] - ids[1] > 3000, `ids ${ids.join(', ')} have the payments lines between them`);
      const cursors = [...both.lines.map((line) => line.cursor), firstPage.nextCursor, forward.nextCursor];
      for (const cursor of cursors) {
        const bytes = Buffer.from(cursor, 'base64url');
        for (const id of ids) {
          assert.ok(!cursor.includes(String(id)), `${cursor} shows ${id}`);
          for (const spelling of spellings(id)) assert.equal(bytes.indexOf(spelling), -1, `${cursor} holds ${id}`);
        }
      }
      assert.equal(new Set(both.lines.map((line) => line.cursor.length)).size, 1, 'line cursors are all one length');
    } finally {
      await t.close();
    }
  });
});
