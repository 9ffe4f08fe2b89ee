import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LOG_STORE, LogQuery, LogStore, ScanBudget } from '@daylog/storage';
import { CatalogueStatements } from '../libs/storage-sqlite/src/catalogue';
import { untilCompacted } from './support/compaction-state';
import { countingCalls } from './support/counted-calls';
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

  it('lists the partitions from the catalogue again only once the writer has committed to it', async () => {
    // The closed hours' rewrites are commits of the writer's too.
    await untilCompacted(t.config.dataDir, t.clock.now() - 3 * MINUTE);
    const page = () => store.query(newestPage(), NO_LIMITS);
    await page();
    assert.equal((await countingCalls(CatalogueStatements.prototype, 'partitions', page)).calls, 0, 'a page of an unchanged catalogue lists nothing');
    // A line 7 h old makes a partition; the next page lists them again, and reads it.
    await ingestLines(t.http, [{ ts: t.clock.now() - 7 * HOUR, message: 'older still' }], { namespace: 'shop', pod: 'web-1', container: 'nginx' });
    const { calls, result } = await countingCalls(CatalogueStatements.prototype, 'partitions', () => store.query({ ...newestPage(), limit: 10 }, NO_LIMITS));
    assert.ok(calls >= 1);
    assert.deepEqual(result.lines.map((line) => line.message), ['old line 2', 'old line 1', 'old line 0', 'older still']);
  });
});
