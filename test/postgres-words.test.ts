import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Client } from 'pg';
import { LogLine, parseMatchExpression } from '@daylog/log-model';
import { LineFilter, LineTestThreads, LogQuery, PartitionedReader, ScanBudget, StorageBackend, StoredLogLine, WindowRead, lineMatcher } from '@daylog/storage';
import {
  PgDatabase,
  PgPartitions,
  PostgresStorageOptions,
  WordIndexBuilder,
  dropPartitionsEndingBy,
  migratePostgres,
  openPostgresStorage,
  partitionTable,
} from '@daylog/storage-postgres';
import { linesStatement } from '../libs/storage-postgres/src/read-statements';
import { buildCase, caseArb, clock, lineArb } from './support/filter-cases';
import { PostgresCluster, connectTo, startPostgres } from './support/postgres-cluster';
import { storeLines } from './support/postgres-lines';
import { HOUR, MINUTE } from './support/test-app';

const AMPLE: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: 60_000, now: () => Date.now() };
const EVERY_LINE: LineFilter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [] };
/** The start of the hour the cases' newest lines are in. */
const HOUR_NOW = clock.now() - (clock.now() % HOUR);

/**
 * Messages whose words the index must read as the word matcher does: case and accents (composed and not), a
 * dotted capital I and a Kelvin sign (folded to ASCII letters), a sharp s (not), digits, underscores (not a letter),
 * words longer than the index keeps (64 characters) and of exactly that length, other scripts, a NUL (stored as
 * U+FFFD), separators only.
 */
const TRICKY = [
  'Café crème', 'CAFÉ', 'cafe\u0301 noir', 'İstanbul airport', 'ISTANBUL', 'under_score and id=42', 'order 4200 paid',
  '\u212a kelvin', 'Straße', 'STRASSE', 'payment declined after timeout', 'declined payment', `${'x'.repeat(70)} tail`,
  `${'A'.repeat(64)}B tail`, `${'a'.repeat(64)} exact`, '日本語 ログ', 'ωmega Ωmega', 'nul\u0000here payment', '--- ... ---',
  'GET /api/v1/cart 200', `pay${'z'.repeat(80)}`,
];
const EXPRESSIONS = [
  'cafe', 'CAFÉ', 'café crème', '"cafe noir"', 'istanbul', 'İstanbul', 'i\u0307stanbul', 'under', 'score', 'under_score',
  'id 42', '42', '4*', '420*', 'pay*', 'payment declined', '"payment declined"', '"declined payment"', 'k', 'kelvin',
  'straße', 'strasse', 'x'.repeat(70), 'x'.repeat(64), `${'x'.repeat(66)}*`, 'xxx*', 'a'.repeat(64), `${'A'.repeat(64)}b`,
  `${'a'.repeat(64)}*`, `pay${'z'.repeat(70)}*`, '日本語', 'ωmega', 'nul', 'here', 'tail', 'get', '200', 'v1', 'api*', 'nothing',
];

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

function matching(text: string): LineFilter {
  const expression = parseMatchExpression(text);
  assert.ok(typeof expression !== 'string', expression as string);
  return { ...EVERY_LINE, match: expression };
}

/** Every line a query finds, page after page. */
async function allPages(reader: PartitionedReader, query: LogQuery): Promise<StoredLogLine[]> {
  const lines: StoredLogLine[] = [];
  let after = query.after;
  do {
    const page = await reader.query({ ...query, after }, AMPLE);
    assert.equal(page.stopped, null);
    lines.push(...page.lines);
    after = page.next;
  } while (after);
  return lines;
}

async function until(condition: () => Promise<boolean>, what: string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Words {
  url: string;
  /** A connection of the test's own, as another replica's. */
  sql: Client;
  partitions: PgPartitions;
  reader: PartitionedReader;
  builder: WordIndexBuilder;
  /** Stores lines as the writer does; returns their ids. */
  store(lines: readonly LogLine[]): Promise<number[]>;
  /** Builds every index there is to build, newest first; the partitions' names, in the order built. */
  buildAll(): Promise<string[]>;
  /** Each word index of `logs`' partitions by partition: whether it is valid, and its definition. */
  indexes(): Promise<Map<string, { valid: boolean; definition: string }>>;
  close(): Promise<void>;
}

describe('PostgreSQL word index (closed partitions, DAYLOG_FULL_TEXT)', () => {
  let cluster: PostgresCluster;
  let threads: LineTestThreads;
  const closing: (() => Promise<void>)[] = [];

  /** A database of its own, of a linguistic locale (the index must not depend on it), migrated, with a reader and a builder. */
  async function openWords(name: string): Promise<Words> {
    const admin = await connectTo(cluster.url());
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
    await admin.end();
    const url = cluster.url(name);
    const sql = await connectTo(url);
    await migratePostgres(sql);
    const db = new PgDatabase({ url, maxConnections: 4, statementTimeoutMs: 60_000, applicationName: 'daylog-words-test' });
    const partitions = new PgPartitions(db, threads);
    const reader = new PartitionedReader(partitions);
    const builder = new WordIndexBuilder(db, url);
    const words: Words = {
      url,
      sql,
      partitions,
      reader,
      builder,
      store: (lines) => storeLines(sql, HOUR, lines),
      async buildAll() {
        const built: string[] = [];
        for (let next = await builder.buildNext(); next; next = await builder.buildNext()) built.push(next.partition.name);
        return built;
      },
      async indexes() {
        const { rows } = await sql.query<{ partition: string; valid: boolean; definition: string }>(
          `SELECT t.relname AS partition, x.indisvalid AS valid, pg_get_indexdef(x.indexrelid) AS definition
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE i.relname LIKE 'logs\\_%\\_words'`,
        );
        return new Map(rows.map((row) => [row.partition, { valid: row.valid, definition: row.definition }]));
      },
      async close() {
        await builder.stop();
        reader.close();
        await db.close();
        await sql.end();
      },
    };
    closing.push(() => words.close());
    return words;
  }

  before(async () => {
    cluster = await startPostgres();
    threads = new LineTestThreads();
  });
  after(async () => {
    for (const close of closing) await close().catch(() => undefined);
    await threads?.stop();
    await cluster?.stop();
  });

  it('finds through the index exactly the lines lineMatcher keeps: case, accents, İ, digits, _, long words and lines, prefixes, phrases, late lines', { timeout: 300_000 }, async () => {
    const words = await openWords('words_meaning');
    const stored = new Map<number, LogLine>();
    const store = async (lines: LogLine[]) => (await words.store(lines)).forEach((id, i) => stored.set(id, lines[i]));
    const seeds = fc.sample(lineArb(['alpha', 'beta', 'gamma', null]), { numRuns: 300, seed: 15 });
    await store(seeds);
    // The tricky messages in an hour that is closed, and in the newest, which is read without an index.
    await store(TRICKY.flatMap((message, i) => [line(HOUR_NOW - 3 * HOUR + i * MINUTE, message), line(HOUR_NOW + i, message)]));
    // A megabyte of distinct words and more, more than a tsvector holds: before the index is built, and after.
    const huge = (mark: string) => Array.from({ length: 40_000 }, (_, i) => `${mark}${String(i).padStart(6, '0')}${'k'.repeat(20)}`).join(' ');
    await store([line(HOUR_NOW - 7 * HOUR, huge('a'))]);
    await words.buildAll();
    await store([line(HOUR_NOW - 8 * HOUR, huge('b'))]);
    const live = await words.partitions.partitions();
    assert.ok(live.length > 20, `partitions over the day (${live.length})`);
    for (const partition of live) {
      const index = await words.partitions.wordIndex(partition);
      assert.equal(index !== null, partition !== live.at(-1), `${partition.name}: indexed unless it is the newest`);
    }
    // Lines written into indexed hours after their index: GIN holds them too.
    await store(TRICKY.map((message, i) => line(HOUR_NOW - 5 * HOUR + i, `late ${message}`)));

    const expect = async (filter: LineFilter, what: string) => {
      const kept = [...stored].filter(([, stored]) => lineMatcher(filter)(stored)).sort(([a, x], [b, y]) => x.ts - y.ts || a - b);
      for (const direction of ['forward', 'backward'] as const) {
        const found = await allPages(words.reader, { ...filter, direction, limit: 7, after: null });
        const expected = direction === 'forward' ? kept : [...kept].reverse();
        assert.deepEqual(found.map((found) => found.position.id), expected.map(([id]) => id), `${direction}: ${what}`);
      }
      const counted = (await words.reader.count({ ...filter, bucketMs: null }, AMPLE)).reduce((sum, count) => sum + count.lines, 0);
      assert.equal(counted, kept.length, `counted: ${what}`);
      return kept.length;
    };
    for (const expression of EXPRESSIONS) await expect(matching(expression), `match=${expression}`);
    for (const expression of ['a000000kkkkkkkkkkkkkkkkkkkk', 'b039999*', 'b000000*']) assert.equal(await expect(matching(expression), expression), 1);
    assert.ok((await expect(matching('cafe'), 'cafe')) >= 6, 'café found composed and decomposed, closed, newest and late');
    assert.ok((await expect(matching(`${'x'.repeat(66)}*`), 'a long prefix')) >= 3);

    await fc.assert(
      fc.asyncProperty(
        caseArb.filter((drawn) => drawn.match !== undefined),
        async (drawn) => {
          const { witness, lines, filter } = buildCase(drawn);
          await store([...lines, witness]);
          await expect(filter, JSON.stringify(filter));
        },
      ),
      { numRuns: 30, includeErrorInReport: true },
    );
  });

  it('reads a closed partition through its index, in a custom plan and in a generic one, and the newest without', { timeout: 180_000 }, async () => {
    const words = await openWords('words_plans');
    const admin = await connectTo(cluster.url());
    try {
      for (const setting of ["session_preload_libraries = 'auto_explain'", 'auto_explain.log_min_duration = 0', 'auto_explain.log_analyze = on']) {
        await admin.query(`ALTER DATABASE words_plans SET ${setting}`);
      }
      // Partitions of some size, as a day of logs has: a generic plan does not know which one it reads, nor how
      // much of it, and for a few thousand lines any plan is as good.
      const hours = 4;
      const count = hours * 30_000;
      const lines = Array.from({ length: count }, (_, i) =>
        line(HOUR_NOW - (hours - 1) * HOUR + Math.floor((i * hours * HOUR) / count), `GET /item/${i} ${i % 1000 === 0 ? 'payment declined' : 'ok'} 200`),
      );
      for (let start = 0; start < count; start += 15_000) await words.store(lines.slice(start, start + 15_000));
      assert.equal((await words.buildAll()).length, hours - 1);
      const log = join(cluster.dir, 'server.log');
      const logged = readFileSync(log, 'utf8').length;
      const query = { ...matching('declined'), fromMs: HOUR_NOW - 24 * HOUR, direction: 'backward' as const, limit: 50, after: null };
      assert.equal((await allPages(words.reader, query)).length, count / 1000);
      const plans = readFileSync(log, 'utf8')
        .slice(logged)
        .split(/LOG: {2}duration: /)
        // A page's lines, of one window or of several at once.
        .filter((plan) => /Query Text: (SELECT \* FROM \(\(SELECT 0 AS "window", w\.\* FROM \()?SELECT id, ts, .* FROM logs\w* WHERE/.test(plan));
      // A page that goes on from a line reads what is left of its millisecond first: by the time index, rightly.
      for (let hour = 1; hour < hours; hour++) {
        const closed = partitionTable('logs', HOUR_NOW - hour * HOUR);
        const reads = plans.filter((plan) => plan.includes(` on ${closed} `));
        assert.ok(reads.some((plan) => plan.includes(`Bitmap Index Scan on ${closed}_words`)), `${closed} read through its index:\n${reads.join('\n')}`);
        assert.ok(reads.every((plan) => !plan.includes('Seq Scan')), reads.join('\n'));
      }
      const newest = partitionTable('logs', HOUR_NOW);
      const ofNewest = plans.filter((plan) => plan.includes(` on ${newest} `));
      assert.ok(ofNewest.length >= 1 && ofNewest.every((plan) => !plan.includes('_words')), 'the newest partition is read without an index');

      // The same statement planned without its values, as a prepared one may be.
      const generic = await connectTo(words.url);
      try {
        await generic.query('SET plan_cache_mode = force_generic_plan');
        const from = HOUR_NOW - HOUR;
        const partition = partitionTable('logs', from);
        const window = { filter: { ...query, fromMs: from, toMs: from + HOUR }, labelSetIds: null, range: null, past: null, backward: true, limit: 500, indexedPartition: partition };
        const before = readFileSync(log, 'utf8').length;
        const { rows } = await generic.query({ name: 'words_generic', ...linesStatement(window) });
        assert.equal(rows.length, count / hours / 1000);
        const plan = readFileSync(log, 'utf8').slice(before);
        assert.match(plan, new RegExp(`Bitmap Index Scan on ${partition}_words`), plan);
      } finally {
        await generic.end();
      }
    } finally {
      await admin.end();
    }
  });

  it('builds on closed partitions only, the newest closed first, and on the last one once a newer partition is written', { timeout: 60_000 }, async () => {
    const words = await openWords('words_closed');
    await words.store([0, 1, 2, 3].map((hours) => line(HOUR_NOW - hours * HOUR, `payment ${hours}`)));
    assert.deepEqual(await words.buildAll(), [1, 2, 3].map((hours) => partitionTable('logs', HOUR_NOW - hours * HOUR)));
    assert.deepEqual([...(await words.indexes()).keys()].sort(), [3, 2, 1].map((hours) => partitionTable('logs', HOUR_NOW - hours * HOUR)));
    for (const [partition, { valid, definition }] of await words.indexes()) {
      assert.ok(valid);
      assert.match(definition, /USING gin \(daylog_words\(message\)\)$/);
      const { rows } = await words.sql.query('SELECT most_common_elems FROM pg_stats WHERE tablename = $1', [`${partition}_words`]);
      assert.equal(rows.length, 1, 'the words analyzed, for the planner');
    }
    await words.store([line(HOUR_NOW + HOUR, 'payment 4')]);
    assert.deepEqual(await words.buildAll(), [partitionTable('logs', HOUR_NOW)]);
    assert.equal((await words.indexes()).has(partitionTable('logs', HOUR_NOW + HOUR)), false, 'the newest has none');
  });

  it('reads a partition that a pruner dropped while it was searched through its index as having no lines left', { timeout: 60_000 }, async () => {
    const words = await openWords('words_dropped');
    await words.store([line(HOUR_NOW - HOUR, 'payment 1'), line(HOUR_NOW, 'payment 0')]);
    await words.buildAll();
    const [oldest] = await words.partitions.partitions();
    const index = await words.partitions.wordIndex(oldest);
    assert.notEqual(index, null);
    const read: WindowRead = { partition: oldest, filter: { ...matching('payment'), fromMs: oldest.startMs, toMs: oldest.endMs }, labelSetIds: null, index, range: null, time: null };
    assert.equal((await words.partitions.pageLines(read, { direction: 'forward', after: null }, 10)).length, 1);
    await dropPartitionsEndingBy(words.sql, oldest.endMs);
    assert.deepEqual(await words.partitions.pageLines(read, { direction: 'forward', after: null }, 10), []);
    assert.deepEqual(await words.partitions.countLines(read, null), []);
  });

  it('reads indexed windows in one statement, window after window, to the page\'s end, within their times, and one whose partition was dropped as empty', { timeout: 60_000 }, async () => {
    const words = await openWords('words_windows');
    await words.store([
      line(HOUR_NOW - 2 * HOUR, 'payment 2a'),
      line(HOUR_NOW - 2 * HOUR + 1, 'payment 2b'),
      line(HOUR_NOW - HOUR, 'payment 1a'),
      line(HOUR_NOW - HOUR + 1, 'payment 1b'),
      line(HOUR_NOW - HOUR + 2, 'refund 1c'),
      line(HOUR_NOW, 'payment 0'),
    ]);
    assert.equal((await words.buildAll()).length, 2);
    const closed = (await words.partitions.partitions()).slice(0, 2).reverse();
    const reads = await Promise.all(
      closed.map(async (partition): Promise<WindowRead> => ({
        partition,
        filter: { ...matching('payment'), fromMs: partition.startMs, toMs: partition.endMs },
        labelSetIds: null,
        index: await words.partitions.wordIndex(partition),
        range: null,
        time: null,
      })),
    );
    assert.ok(reads.every((read) => read.index !== null));
    const backward = { direction: 'backward' as const, after: null };
    const messages = (page: { rows: { message: string }[][]; outOfTime: number | null }) => ({ rows: page.rows.map((rows) => rows.map((row) => row.message)), outOfTime: page.outOfTime });
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(reads, backward, 10)), { rows: [['payment 1b', 'payment 1a'], ['payment 2b', 'payment 2a']], outOfTime: null });
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(reads, backward, 3)), { rows: [['payment 1b', 'payment 1a'], ['payment 2b']], outOfTime: null });
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(reads, backward, 2)), { rows: [['payment 1b', 'payment 1a']], outOfTime: null });
    // A page's first window has the search's whole time; the others only what is left of it, here none.
    const outOfTime = [{ ...reads[0], time: { remainingMs: 60_000 } }, { ...reads[1], time: { remainingMs: 0 } }];
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(outOfTime, backward, 10)), { rows: [['payment 1b', 'payment 1a']], outOfTime: 1 });
    const noTime = reads.map((read) => ({ ...read, time: { remainingMs: 0 } }));
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(noTime, backward, 10)), { rows: [], outOfTime: 0 });
    await dropPartitionsEndingBy(words.sql, closed[1].endMs);
    assert.deepEqual(messages(await words.partitions.pageIndexedWindows(reads, backward, 10)), { rows: [['payment 1b', 'payment 1a'], []], outOfTime: null });
  });

  it('drops an index a build left INVALID and builds it again; reads do not use it meanwhile', { timeout: 60_000 }, async () => {
    const words = await openWords('words_invalid');
    const older = partitionTable('logs', HOUR_NOW - HOUR);
    await words.store([line(HOUR_NOW - HOUR, 'payment declined'), line(HOUR_NOW, 'payment newest')]);
    // A concurrent build waits for the writers of its table: given up while one writes, it leaves its index INVALID.
    const writer = await connectTo(words.url);
    const building = await connectTo(words.url);
    try {
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO ${older} (ts, commit_id, stream_id, level, message) VALUES ($1, 0, 1, 2, 'payment late')`, [HOUR_NOW - HOUR + 1]);
      await building.query("SET statement_timeout = '500ms'");
      await assert.rejects(building.query(`CREATE INDEX CONCURRENTLY ${older}_words ON ${older} (ts)`), /statement timeout/);
      await writer.query('COMMIT');
    } finally {
      await writer.end();
      await building.end();
    }
    assert.deepEqual((await words.indexes()).get(older)?.valid, false);
    const [partition] = await words.partitions.partitions();
    assert.equal(await words.partitions.wordIndex(partition), null, 'an INVALID index is not read');

    assert.deepEqual(await words.buildAll(), [older]);
    const index = (await words.indexes()).get(older);
    assert.ok(index?.valid);
    assert.match(index.definition, /USING gin \(daylog_words\(message\)\)$/);
    assert.notEqual(await words.partitions.wordIndex(partition), null);
    const found = await allPages(words.reader, { ...matching('payment'), direction: 'forward', limit: 10, after: null });
    assert.deepEqual(found.map((found) => found.message), ['payment declined', 'payment late', 'payment newest']);
  });

  it('gives up a build under way when stopped, letting go of its connection and lock; the next builds it', { timeout: 60_000 }, async () => {
    const words = await openWords('words_stopped');
    const older = partitionTable('logs', HOUR_NOW - HOUR);
    await words.store([line(HOUR_NOW - HOUR, 'payment declined'), line(HOUR_NOW, 'payment newest')]);
    const writer = await connectTo(words.url);
    try {
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO ${older} (ts, commit_id, stream_id, level, message) VALUES ($1, 0, 1, 2, 'payment late')`, [HOUR_NOW - HOUR + 1]);
      const db = new PgDatabase({ url: words.url, maxConnections: 2, statementTimeoutMs: 10_000, applicationName: 'daylog-words-test' });
      closing.push(() => db.close());
      const stopping = new WordIndexBuilder(db, words.url);
      stopping.start();
      const builders = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'daylog words'";
      await until(async () => (await words.sql.query(`${builders} AND query LIKE 'CREATE INDEX CONCURRENTLY%'`)).rows[0].n === 1, 'building');
      const started = Date.now();
      await stopping.stop();
      assert.ok(Date.now() - started < 5_000, `stopped in ${Date.now() - started} ms`);
      await until(async () => (await words.sql.query(builders)).rows[0].n === 0, 'gone from the server', 10_000);
      const locks = await words.sql.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
      assert.equal(locks.rows[0].n, 0, 'the lock is free');
      assert.equal((await words.indexes()).get(older)?.valid, false, 'its index is left INVALID');
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
    assert.deepEqual(await words.buildAll(), [older]);
    assert.ok((await words.indexes()).get(older)?.valid);
  });

  describe('through openPostgresStorage', () => {
    const opened: StorageBackend[] = [];
    after(async () => {
      await Promise.all(opened.map((backend) => backend.close()));
    });

    async function open(url: string, options: Partial<PostgresStorageOptions>): Promise<StorageBackend> {
      const backend = await openPostgresStorage({
        url,
        partitionMs: HOUR,
        fullText: true,
        maxLabelSetsPerNamespace: 100,
        cursorKey: null,
        queryTimeoutMs: 10_000,
        connectTimeoutMs: 10_000,
        lineTester: threads,
        ...options,
      });
      opened.push(backend);
      return backend;
    }

    /** `hours` closed partitions of `lines` lines each, and the newest. */
    async function withClosedHours(words: Words, hours: number, lines: number): Promise<void> {
      for (let hour = 1; hour <= hours; hour++) {
        await words.store(Array.from({ length: lines }, (_, i) => line(HOUR_NOW - hour * HOUR + i, `GET /cart/${i} payment ${i % 7 ? 'ok' : 'declined'} 200`)));
      }
      await words.store([line(HOUR_NOW, 'payment newest')]);
    }

    it('two replicas build one index at a time between them, each once, the whole day; the bytes count them; close stops building', { timeout: 180_000 }, async () => {
      const words = await openWords('words_replicas');
      await words.sql.query("ALTER DATABASE words_replicas SET log_statement = 'ddl'");
      await withClosedHours(words, 4, 30_000);
      const log = join(cluster.dir, 'server.log');
      const logged = readFileSync(log, 'utf8').length;
      const [first, second] = await Promise.all([open(words.url, {}), open(words.url, {})]);
      const bytesBefore = (await first.store.stats()).bytes;
      let most = 0;
      await until(async () => {
        const { rows } = await words.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_progress_create_index');
        most = Math.max(most, rows[0].n);
        const indexes = [...(await words.indexes()).values()];
        return indexes.length === 4 && indexes.every((index) => index.valid);
      }, 'indexed', 150_000);
      assert.equal(most, 1, 'never two builds at once');
      const creates = [...readFileSync(log, 'utf8').slice(logged).matchAll(/CREATE INDEX CONCURRENTLY (\w+)/g)].map((match) => match[1]).sort();
      assert.deepEqual(creates, [4, 3, 2, 1].map((hours) => `${partitionTable('logs', HOUR_NOW - hours * HOUR)}_words`), 'each built once');
      assert.ok((await first.store.stats()).bytes > bytesBefore, 'the storage bytes count the word indexes');

      await Promise.all([first.close(), second.close()]);
      const builders = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'daylog words'";
      await until(async () => (await words.sql.query(builders)).rows[0].n === 0, 'no builder left', 10_000);
    });

    it('builds none with DAYLOG_FULL_TEXT off, in the time one with it on builds its own, and answers the same by reading the lines', { timeout: 120_000 }, async () => {
      const on = await openWords('words_on');
      const off = await openWords('words_off');
      await Promise.all([withClosedHours(on, 1, 20_000), withClosedHours(off, 1, 20_000)]);
      const [, withoutIndex] = await Promise.all([open(on.url, { fullText: true }), open(off.url, { fullText: false })]);
      await until(async () => [...(await on.indexes()).values()].some((index) => index.valid), 'indexed with full text on');
      assert.deepEqual([...(await off.indexes()).keys()], []);
      const query: LogQuery = { ...matching('declined'), direction: 'forward', limit: 5000, after: null };
      const found = await withoutIndex.store.query(query, AMPLE);
      assert.equal(found.lines.length, Math.ceil(20_000 / 7));
      await withoutIndex.close();
      assert.deepEqual([...(await off.indexes()).keys()], [], 'none either when it closed');
    });
  });
});
