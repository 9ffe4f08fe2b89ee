import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MatchExpression, parseMatchExpression } from '@daylog/log-model';
import { LINE_TESTER, LineFilter, PartitionBounds, WindowRead, WorkerPool } from '@daylog/storage';
import { SearchThreads, TextSearchFunctions } from '@daylog/storage-sqlite';
import { DecodedBlock } from '../libs/storage-sqlite/src/block-codec';
import { CompactedReads } from '../libs/storage-sqlite/src/block-reads';
import { CatalogueStatements } from '../libs/storage-sqlite/src/catalogue';
import { partitionFile } from '../libs/storage-sqlite/src/partition-schema';
import { ReadConnections } from '../libs/storage-sqlite/src/read-connections';
import { SqlitePartitions } from '../libs/storage-sqlite/src/sqlite-partitions';
import { partitionGenerations, untilCompacted } from './support/compaction-state';
import { countingCalls } from './support/counted-calls';
import { HOUR, MINUTE, ManualClock, TestApp, ingestLines, queryJson, startTestApp } from './support/test-app';

/** Compressed hours, each of web-1's lines in one block (a block holds up to 1,024). */
const HOURS = 6;
const LINES_AN_HOUR = 1000;

function match(expression: string): MatchExpression {
  const parsed = parseMatchExpression(expression);
  assert.ok(typeof parsed !== 'string', parsed as string);
  return parsed;
}

/**
 * web-1 wrote 1,000 lines in each of the six hours before this one, one of them a needle; web-2 writes in this hour,
 * a needle among its lines. The six hours are compressed, this one is not.
 */
describe('reads of compressed hours', () => {
  let t: TestApp;
  const clock = new ManualClock();
  const hourStart = (hoursAgo: number) => Date.UTC(2026, 10, 24, 10) - hoursAgo * HOUR;
  const needles = Array.from({ length: HOURS }, (_, i) => `payment needle of ${i + 1} h ago failed`);

  before(async () => {
    clock.advance(30 * MINUTE);
    t = await startTestApp({ clock });
    for (let hoursAgo = HOURS; hoursAgo >= 1; hoursAgo--) {
      const lines = Array.from({ length: LINES_AN_HOUR }, (_, i) => ({
        ts: hourStart(hoursAgo) + i * 3000,
        message: i === 500 ? needles[hoursAgo - 1] : `GET /api/v1/orders/${hoursAgo}${i} 200 took ${i % 97}ms`,
      }));
      await ingestLines(t.http, lines, { namespace: 'shop', pod: 'web-1', container: 'app' });
    }
    const now = Array.from({ length: 20 }, (_, i) => ({ ts: hourStart(0) + i * MINUTE, message: i === 10 ? 'payment needle of now failed' : `GET /health 200 #${i}` }));
    await ingestLines(t.http, now, { namespace: 'shop', pod: 'web-2', container: 'app' });
    const state = await untilCompacted(t.config.dataDir, hourStart(0));
    assert.deepEqual(state.map((p) => p.generation), [...Array<number>(HOURS).fill(1), 0]);
  });
  after(() => t.close());

  for (const direction of ['backward', 'forward'] as const) {
    it(`make only the lines a page of a label set answers from its blocks (${direction})`, async () => {
      const { calls, result } = await countingCalls(DecodedBlock.prototype, 'row', () => queryJson(t.http, { pod: 'web-1', limit: '10', direction }));
      const hour = direction === 'backward' ? 1 : HOURS;
      const order = (i: number) => (direction === 'backward' ? LINES_AN_HOUR - 1 - i : i);
      assert.deepEqual(
        result.lines.map((line) => Date.parse(line.ts)),
        Array.from({ length: 10 }, (_, i) => hourStart(hour) + order(i) * 3000),
      );
      assert.ok(calls <= 11, `${calls} lines made of a block of ${LINES_AN_HOUR} for a page of 10`);
    });
  }

  it('count the lines of a minute begun inside a block by their keys, making no message', async () => {
    // Lines every 3 s: from 1.5 s into the hour, 10 minutes hold lines 1 to 200; the first and last minute are read from the lines.
    const from = hourStart(3) + 1500;
    const to = from + 10 * MINUTE;
    const { calls, result } = await countingCalls(DecodedBlock.prototype, 'message', () =>
      t.http.get('/api/v1/stats').query({ format: 'json', pod: 'web-1', from: String(from), to: String(to), step: '1m' }),
    );
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.total, 200);
    assert.equal(calls, 0, `${calls} messages rebuilt for a count that tests no text`);
    const searched = await countingCalls(DecodedBlock.prototype, 'message', () =>
      t.http.get('/api/v1/stats').query({ format: 'json', pod: 'web-1', q: 'took 5ms', from: String(from), to: String(to), step: '1m' }),
    );
    assert.equal(searched.result.body.total, [...Array(200).keys()].filter((i) => (i + 1) % 97 === 5).length);
  });

  it('test with the matcher only the lines of a block whose text holds the words', async () => {
    const partition = partitionGenerations(t.config.dataDir)[HOURS - 1];
    const file = partitionFile(t.config.dataDir, partition.name, partition.generation);
    // As on a search thread: the block's late lines are read with the SQL functions of text search.
    const connections = new ReadConnections(new TextSearchFunctions());
    try {
      const filter: LineFilter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [], match: match('needle') };
      const reads = new CompactedReads(connections.get(file), file, null);
      const read = { partition, filter, labelSetIds: null, range: null, words: true };
      const { calls, result } = await countingCalls(DecodedBlock.prototype, 'row', () => reads.page(read, { direction: 'backward', after: null }, 100));
      assert.deepEqual(result.map((row) => row.message), [needles[0]]);
      assert.equal(calls, 1, `${calls} lines made of a block that holds the word once`);
    } finally {
      connections.forgetAll();
    }
  });

  it('search the compressed hours for words in one job of a search thread', async () => {
    const { calls, result } = await countingCalls(WorkerPool.prototype, 'run', () => queryJson(t.http, { match: 'needle', limit: '100' }));
    assert.deepEqual(
      result.lines.map((line) => line.message),
      ['payment needle of now failed', ...needles],
    );
    assert.equal(calls, 2, 'one job for the hour being written, one for the six compressed hours');
  });

  describe('read together (SqlitePartitions.pageIndexedWindows)', () => {
    let catalogue: Database.Database;
    let partitions: SqlitePartitions;
    let compressed: PartitionBounds[];

    before(async () => {
      catalogue = new Database(join(t.config.dataDir, 'catalogue.db'), { readonly: true });
      partitions = new SqlitePartitions(new CatalogueStatements(catalogue), t.config.dataDir, t.app.get<symbol, SearchThreads>(LINE_TESTER));
      compressed = (await partitions.partitions()).slice(0, HOURS).reverse();
    });
    after(() => {
      partitions.close();
      catalogue.close();
    });

    /** The newest page's read of each compressed hour, with `remainingMs` of time each. */
    async function reads(remainingMs: number[]): Promise<WindowRead[]> {
      return Promise.all(
        compressed.map(async (partition, i) => ({
          partition,
          filter: { fromMs: partition.startMs, toMs: partition.endMs, labels: {}, levels: null, contains: [], excludes: [], match: match('needle') },
          labelSetIds: null,
          index: await partitions.wordIndex(partition),
          range: null,
          time: { remainingMs: remainingMs[i] ?? 60_000 },
        })),
      );
    }
    const order = { direction: 'backward', after: null } as const;
    const messages = (rows: { message: string }[][]) => rows.map((window) => window.map((row) => row.message));

    it('give each window its lines, in order, until the page has its lines', async () => {
      assert.deepEqual(messages((await partitions.pageIndexedWindows(await reads([]), order, 100)).rows), needles.map((needle) => [needle]));
      const page = await partitions.pageIndexedWindows(await reads([]), order, 2);
      assert.deepEqual(messages(page.rows), [[needles[0]], [needles[1]]]);
      assert.equal(page.outOfTime, null);
    });

    it('stop before a window whose time is up, with the lines of those before', async () => {
      const page = await partitions.pageIndexedWindows(await reads([60_000, 60_000, -1]), order, 100);
      assert.deepEqual(messages(page.rows), [[needles[0]], [needles[1]]]);
      assert.equal(page.outOfTime, 2);
    });
  });
});
