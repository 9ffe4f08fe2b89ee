import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOG_STORE, LogQuery, LogStore, ScanBudget } from '@daylog/storage';
import { HOUR, MINUTE, TestApp, ingestLines, startTestApp } from './support/test-app';

const NO_LIMITS: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: Infinity, now: () => 0 };

describe('a page read across partitions', () => {
  let t: TestApp;
  let store: LogStore;
  /** web-1's lines are 5 h old; web-2 has lines in every hour since, so the newest page of web-1 reads six partitions. */
  const newestPage = (): LogQuery => ({
    fromMs: t.clock.now() - 24 * HOUR,
    toMs: t.clock.now() + MINUTE,
    labels: { pod: ['web-1'] },
    levels: null,
    contains: [],
    excludes: [],
    limit: 100,
    direction: 'backward',
    after: null,
  });

  /** Whether other work (a setImmediate queued before it began) ran while the page was read. */
  async function gaveWay(query: LogQuery): Promise<boolean> {
    let turned = false;
    setImmediate(() => (turned = true));
    const { lines } = await store.query(query, NO_LIMITS);
    assert.equal(lines.length, 3);
    return turned;
  }

  before(async () => {
    t = await startTestApp();
    store = t.app.get<symbol, LogStore>(LOG_STORE);
    const old = t.clock.now() - 5 * HOUR + MINUTE;
    await ingestLines(t.http, [0, 1, 2].map((i) => ({ ts: old + i, message: `old line ${i}` })), { namespace: 'shop', pod: 'web-1', container: 'nginx' });
    const hourly = [0, 1, 2, 3, 4].map((hours) => ({ ts: t.clock.now() - hours * HOUR - MINUTE, message: `web-2 ${hours} h ago` }));
    await ingestLines(t.http, hourly, { namespace: 'shop', pod: 'web-2', container: 'nginx' });
  });
  after(() => t.close());

  it('without text filters, in one turn: an index read per partition is shorter than a turn of the event loop', async () => {
    assert.equal(await gaveWay(newestPage()), false);
  });
});
