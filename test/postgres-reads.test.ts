import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Client } from 'pg';
import { LogLine } from '@daylog/log-model';
import { CountQuery, LineCount, LineFilter, LogQuery, PartitionSource, PartitionedReader, QueryBudgetExceeded, ScanBudget, StoredLogLine, lineMatcher } from '@daylog/storage';
import { ChunkLines, PgDatabase, PgPartitions, migratePostgres } from '@daylog/storage-postgres';
import { SearchThreads } from '@daylog/storage-sqlite';
import { buildCase, caseArb, clock, lineArb } from './support/filter-cases';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';
import { storeLines } from './support/postgres-lines';
import { HOUR, MINUTE } from './support/test-app';

/** Time enough for any read here: only the test of the time-out gives less. */
const AMPLE: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: 60_000, now: () => Date.now() };
const EVERY_LINE: LineFilter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [] };

interface Reads {
  /** Stores lines as the writer does, through a connection of another "replica"; returns their ids. */
  store(lines: readonly LogLine[]): Promise<number[]>;
  reader: PartitionedReader;
  /** A connection of its own, as another replica's. */
  other: Client;
  close(): Promise<void>;
}

/** Every line a query finds, page after page. */
async function allPages(reader: PartitionedReader, query: LogQuery, budget = AMPLE): Promise<StoredLogLine[]> {
  const lines: StoredLogLine[] = [];
  let after = query.after;
  do {
    const page = await reader.query({ ...query, after }, budget);
    assert.equal(page.stopped, null);
    lines.push(...page.lines);
    after = page.next;
  } while (after);
  return lines;
}

function pageQuery(filter: LineFilter, direction: LogQuery['direction'], limit: number): LogQuery {
  return { ...filter, direction, limit, after: null };
}

/** The counts the core makes, as JavaScript makes them from the lines lineMatcher keeps, in one order. */
function expectedCounts(lines: readonly LogLine[], query: CountQuery): string[] {
  const counts = new Map<string, LineCount>();
  for (const line of lines) {
    const startMs = query.bucketMs === null ? query.fromMs : line.ts - (line.ts % query.bucketMs);
    const labels = { namespace: line.namespace, pod: line.pod, container: line.container, source: line.source };
    const key = JSON.stringify([startMs, labels, line.level]);
    const count = counts.get(key) ?? { startMs, labels, level: line.level, lines: 0, lastTs: line.ts };
    count.lines++;
    count.lastTs = Math.max(count.lastTs, line.ts);
    counts.set(key, count);
  }
  return countsInOrder([...counts.values()]);
}

const countsInOrder = (counts: readonly LineCount[]): string[] =>
  counts.map(({ startMs, labels, level, lines, lastTs }) => JSON.stringify([startMs, labels.namespace, labels.pod, labels.container, labels.source, level, lines, lastTs])).sort();

const line = (ts: number, message: string, over: Partial<LogLine> = {}): LogLine => ({
  ts,
  level: 'info',
  namespace: 'shop',
  pod: 'web-1',
  container: 'nginx',
  source: 'stdout',
  message,
  fields: null,
  format: null,
  ...over,
});

describe('PostgreSQL reads (PgPartitions under the core reader)', () => {
  let cluster: PostgresCluster;
  let threads: SearchThreads;

  /**
   * A database of its own (a linguistic locale, as many servers have: what the reads compare must not depend on
   * it), migrated, and a reader over it; lines are stored through another connection, as by another replica.
   */
  async function openReads(name: string, chunkLines?: ChunkLines): Promise<Reads> {
    const admin = await connectTo(cluster.url());
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
    await admin.end();
    const other = await connectTo(cluster.url(name));
    await migratePostgres(other);
    const db = new PgDatabase({ url: cluster.url(name), maxConnections: 4, statementTimeoutMs: 60_000, applicationName: 'daylog-reads-test' });
    const reader = new PartitionedReader(new PgPartitions(db, threads, chunkLines));
    return {
      store: (lines) => storeLines(other, HOUR, lines),
      reader,
      other,
      async close() {
        reader.close();
        await db.close();
        await other.end();
      },
    };
  }

  before(async () => {
    cluster = await startPostgres();
    threads = new SearchThreads();
  });
  after(async () => {
    await threads?.stop();
    await cluster?.stop();
  });

  it('finds exactly the lines lineMatcher keeps, in reading order, page after page across partitions, either way; counts agree', { timeout: 300_000 }, async () => {
    // Chunks of a few lines, so that text tested in JavaScript is read chunk after chunk.
    const reads = await openReads('filter_meaning', { first: 2, most: 5 });
    const stored = new Map<number, LogLine>();
    const store = async (lines: readonly LogLine[]) => (await reads.store(lines)).forEach((id, i) => stored.set(id, lines[i]));
    /** A message with NUL, whose stand-in U+FFFD a search may ask for, or with U+FFFD itself. */
    const marked = fc.array(fc.record({ line: fc.nat(), at: fc.nat(), mark: fc.constantFrom('\u0000', '\ufffd', '\u0000\u0000') }), { maxLength: 4 });
    const askedFffd = fc.constantFrom(null, null, null, null, 'contains', 'excludes');
    try {
      const seeds = fc.sample(lineArb(['alpha', 'beta', 'gamma', null]), { numRuns: 300, seed: 15 });
      await store(seeds.map((seed, i) => ({ ...seed, pod: `${i % 2 ? 'web' : 'api'}-${Math.floor(i / 4)}`, container: i % 4 < 2 ? 'nginx' : 'app' })));

      await fc.assert(
        fc.asyncProperty(caseArb, marked, askedFffd, async (drawn, marks, fffd) => {
          const { witness, lines, filter } = buildCase(drawn);
          const made: LogLine[] = [...lines, witness].map((spec) => ({ ...spec }));
          for (const { line: which, at, mark } of marks) {
            const target = made[which % made.length];
            const cut = at % (target.message.length + 1);
            target.message = target.message.slice(0, cut) + mark + target.message.slice(cut);
          }
          if (fffd === 'contains') filter.contains = [...filter.contains, '\ufffd'];
          if (fffd === 'excludes') filter.excludes = [...filter.excludes, '\ufffd'];
          await store(made);

          const matches = lineMatcher(filter);
          const kept = [...stored].filter(([, line]) => matches(line)).sort(([a, x], [b, y]) => x.ts - y.ts || a - b);
          const limit = Number(drawn.limit);
          for (const direction of ['forward', 'backward'] as const) {
            const found = await allPages(reads.reader, pageQuery(filter, direction, limit));
            const expected = direction === 'forward' ? kept : [...kept].reverse();
            assert.deepEqual(
              found.map((line) => line.position.id),
              expected.map(([id]) => id),
              `${direction}, pages of ${limit}: the lines lineMatcher keeps, for ${JSON.stringify(filter)}`,
            );
            assert.deepEqual(found.map((line) => line.message), expected.map(([, line]) => line.message), 'messages as they were sent, NUL and all');
          }
          for (const bucketMs of [null, 5 * MINUTE]) {
            const query: CountQuery = { ...filter, bucketMs };
            assert.deepEqual(
              countsInOrder(await reads.reader.count(query, AMPLE)),
              expectedCounts(kept.map(([, line]) => line), query),
              `counts by ${bucketMs ?? 'the whole range'}, for ${JSON.stringify(filter)}`,
            );
          }
        }),
        { numRuns: 40, includeErrorInReport: true },
      );
    } finally {
      await reads.close();
    }
  });

  it('stops a regex that takes seconds on a long line when the read has no time left, for a page and for a count', { timeout: 60_000 }, async () => {
    const reads = await openReads('slow_regex');
    try {
      await reads.store([line(clock.now() - 2 * MINUTE, `short ${'b'.repeat(700)}x`), line(clock.now() - MINUTE, 'a'.repeat(60_000))]);
      // About 40 times slower a character than `x`: seconds on the long line, even in linear time.
      const slow: LineFilter = { ...EVERY_LINE, regex: `${'.{16}'.repeat(40)}x` };
      const halfASecond = (): ScanBudget => ({ ...AMPLE, deadlineMs: Date.now() + 500, timeoutMs: 500 });
      for (const read of [() => reads.reader.query(pageQuery(slow, 'backward', 10), halfASecond()), () => reads.reader.count({ ...slow, bucketMs: null }, halfASecond())]) {
        const started = Date.now();
        await assert.rejects(read(), (error) => error instanceof QueryBudgetExceeded && error.stop === 'time');
        const took = Date.now() - started;
        assert.ok(took < 2_500, `stopped ${took} ms after it began, the read having 500 ms`);
      }
      const { lines } = await reads.reader.query(pageQuery({ ...EVERY_LINE, regex: '^short b+x$' }, 'backward', 10), AMPLE);
      assert.equal(lines.length, 1, 'the test threads are ready for the next search');
    } finally {
      await reads.close();
    }
  });

  it('has the server stop a text search whose statement outlasts the read, for a page and for a count', { timeout: 60_000 }, async () => {
    const reads = await openReads('slow_statement');
    try {
      // 80 MB of text that does not compress, in one window: ILIKE takes far longer on it than the read's 100 ms.
      const lines = Array.from({ length: 20_000 }, (_, i) => line(clock.now() - HOUR + Math.floor(i / 10), randomBytes(3_000).toString('base64')));
      for (let start = 0; start < lines.length; start += 2_000) await reads.store(lines.slice(start, start + 2_000));
      const absent: LineFilter = { ...EVERY_LINE, fromMs: clock.now() - 2 * HOUR, contains: ['not in any line'] };
      const tenthOfASecond = (): ScanBudget => ({ ...AMPLE, deadlineMs: Date.now() + 100, timeoutMs: 100 });
      const log = join(cluster.dir, 'server.log');
      for (const read of [() => reads.reader.query(pageQuery(absent, 'backward', 10), tenthOfASecond()), () => reads.reader.count({ ...absent, bucketMs: null }, tenthOfASecond())]) {
        const logged = readFileSync(log, 'utf8').length;
        await assert.rejects(read(), (error) => error instanceof QueryBudgetExceeded && error.stop === 'time');
        assert.match(readFileSync(log, 'utf8').slice(logged), /canceling statement due to statement timeout/);
      }
      assert.deepEqual((await reads.reader.query(pageQuery(absent, 'backward', 10), AMPLE)).lines, [], 'with time enough, it reads them all');
    } finally {
      await reads.close();
    }
  });

  it("reads a partition another replica made after this one's last read", async () => {
    const reads = await openReads('new_partition');
    try {
      await reads.store([line(clock.now() - 3 * HOUR, 'older')]);
      assert.deepEqual((await reads.reader.query(pageQuery(EVERY_LINE, 'forward', 10), AMPLE)).lines.map((found) => found.message), ['older']);
      await reads.store([line(clock.now() - MINUTE, 'in a new partition')]);
      assert.deepEqual((await reads.reader.query(pageQuery(EVERY_LINE, 'forward', 10), AMPLE)).lines.map((found) => found.message), ['older', 'in a new partition']);
    } finally {
      await reads.close();
    }
  });

  it('reads the next window of a text search while it takes in one, on a connection of its own, and pages as one window at a time would', { timeout: 60_000 }, async () => {
    const name = 'read_ahead';
    const reads = await openReads(name);
    const db = new PgDatabase({ url: cluster.url(name), maxConnections: 4, statementTimeoutMs: 60_000, applicationName: 'daylog-reads-test' });
    try {
      const source = new PgPartitions(db, threads);
      let reading = 0;
      let most = 0;
      let secondBegun = (): void => undefined;
      const second = new Promise<void>((resolve) => (secondBegun = resolve));
      let firstHeld = false;
      // The engine's own reads, counted as the core's reader asks for them. The first one's rows are held until the
      // next read begins (or long enough to say it never will): however fast the machine reads a window, the overlap
      // shows, and a reader that waited for those rows before beginning the next read never gets there.
      const counted: PartitionSource = Object.assign(Object.create(source) as PgPartitions, {
        async pageLines(...args: Parameters<PgPartitions['pageLines']>) {
          most = Math.max(most, ++reading);
          if (reading === 2) secondBegun();
          try {
            const rows = await source.pageLines(...args);
            if (!firstHeld) {
              firstHeld = true;
              await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
            }
            return rows;
          } finally {
            reading--;
          }
        },
      });
      const reader = new PartitionedReader(counted);
      const lines = Array.from({ length: 6_000 }, (_, i) => line(clock.now() - 6 * HOUR + i * 3_000, i % 500 === 7 ? `needle ${i}` : `GET /item/${i} 200`));
      await reads.store(lines);
      const expected = lines.filter((stored) => stored.message.startsWith('needle')).reverse().map((stored) => stored.message);
      const whole = await reader.query(pageQuery({ ...EVERY_LINE, contains: ['needle'] }, 'backward', 100), AMPLE);
      assert.deepEqual(whole.lines.map((stored) => stored.message), expected);
      assert.equal(most, 2, 'two windows read at once');
      // Page after page: a page that fills up leaves the window it read ahead to end on the server, unread.
      const found = await allPages(reader, pageQuery({ ...EVERY_LINE, contains: ['needle'] }, 'backward', 4));
      assert.deepEqual(found.map((stored) => stored.message), expected);
      reader.close();
    } finally {
      await db.close();
      await reads.close();
    }
  });

  it('finds the lines of a label set whose id was committed after a higher one was read', async () => {
    const reads = await openReads('late_label_set');
    const slow = await connectTo(cluster.url('late_label_set'));
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO streams (namespace, pod, container, source) VALUES ('shop', 'late', 'nginx', 'stdout')`);
      await reads.store([line(clock.now() - 2 * MINUTE, 'of a label set committed first', { pod: 'early' })]);
      const byPod = (pod: string) => pageQuery({ ...EVERY_LINE, labels: { pod: [pod] } }, 'forward', 10);
      assert.equal((await reads.reader.query(byPod('early'), AMPLE)).lines.length, 1, 'the higher id is read');
      await slow.query('COMMIT');
      await reads.store([line(clock.now() - MINUTE, 'of the label set committed last', { pod: 'late' })]);
      assert.deepEqual((await reads.reader.query(byPod('late'), AMPLE)).lines.map((found) => found.message), ['of the label set committed last']);
      assert.deepEqual(
        countsInOrder(await reads.reader.count({ ...EVERY_LINE, labels: { pod: ['late'] }, bucketMs: null }, AMPLE)),
        countsInOrder([{ startMs: 0, labels: { namespace: 'shop', pod: 'late', container: 'nginx', source: 'stdout' }, level: 'info', lines: 1, lastTs: clock.now() - MINUTE }]),
      );
    } finally {
      await slow.end();
      await reads.close();
    }
  });

  it('reads the newest page of one pod, of a quiet pod, and of errors in one statement: an index scan backward of each partition in turn, stopped at the limit', { timeout: 120_000 }, async () => {
    const reads = await openReads('page_plans');
    const admin = await connectTo(cluster.url());
    try {
      // Every statement's plan, as it ran (generic or custom, as the server chose), to the server's log.
      for (const setting of ["session_preload_libraries = 'auto_explain'", 'auto_explain.log_min_duration = 0', 'auto_explain.log_analyze = on']) {
        await admin.query(`ALTER DATABASE page_plans SET ${setting}`);
      }
      const count = 96_000;
      const lines = Array.from({ length: count }, (_, i) =>
        line(clock.now() - 24 * HOUR + Math.floor((i * 24 * HOUR) / count), `GET /item/${i} 200`, { pod: `web-${i % 8}`, level: i % 15 === 0 ? 'error' : 'info' }),
      );
      // A pod that wrote only 20 hours ago: its newest page is in the 21st partition back.
      lines.push(...Array.from({ length: 150 }, (_, i) => line(clock.now() - 20 * HOUR + i, `quiet ${i}`, { pod: 'quiet' })));
      for (let start = 0; start < lines.length; start += 24_000) await reads.store(lines.slice(start, start + 24_000));
      await reads.other.query('ANALYZE');
      const newest = (filter: Partial<LineFilter>) => pageQuery({ ...EVERY_LINE, fromMs: clock.now() - 24 * HOUR, ...filter }, 'backward', 100);
      // Hundreds of either in each hour, so that a page is read from the newest partition alone, and a plan that did
      // not stop at the limit would read all of them.
      const log = join(cluster.dir, 'server.log');
      const logged = readFileSync(log, 'utf8').length;
      // Past the five custom plans after which the server may keep a generic one.
      const rounds = 8;
      for (let i = 0; i < rounds; i++) {
        assert.equal((await reads.reader.query(newest({ labels: { pod: ['web-7'] } }), AMPLE)).lines.length, 100);
        assert.equal((await reads.reader.query(newest({ levels: ['error'] }), AMPLE)).lines.length, 100);
        const quiet = await reads.reader.query(newest({ labels: { pod: ['quiet'] } }), AMPLE);
        assert.deepEqual(quiet.lines.map((found) => found.message), Array.from({ length: 100 }, (_, i) => `quiet ${149 - i}`));
      }
      const plans = readFileSync(log, 'utf8').slice(logged).split(/LOG: {2}duration: /).filter((plan) => /Query Text: SELECT id, ts, stream_id .* FROM logs WHERE/.test(plan));
      assert.equal(plans.length, rounds * 3, 'one statement of lines a page');
      const byPod = plans.filter((plan) => plan.includes('stream_id = $'));
      const byLevel = plans.filter((plan) => plan.includes('level IN (4)'));
      assert.ok(byPod.length === rounds * 2 && byLevel.length === rounds, `the pages' plans are logged (${byPod.length} by pod, ${byLevel.length} by level)`);
      for (const [plan, index] of [...byPod.map((plan) => [plan, 'stream_id_ts_id_idx']), ...byLevel.map((plan) => [plan, 'level_ts_id_idx'])]) {
        assert.match(plan, new RegExp(`Index Scan Backward using logs_\\d+_\\d+_${index} `), plan);
        assert.doesNotMatch(plan, /Sort|Bitmap|Seq Scan/, plan);
        for (const [, rows] of plan.matchAll(/Index Scan Backward .*actual time=\S+ rows=(\d+)/g)) assert.ok(Number(rows) <= 101, `stops at the limit: ${plan}`);
      }
    } finally {
      await admin.end();
      await reads.close();
    }
  });
});
