import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { parseMatchExpression, textMatcher, tokens } from '@daylog/log-model';
import { QueryBudgetExceeded } from '@daylog/storage';
import { TextSearchFunctions } from '@daylog/storage-sqlite';
import { ftsQuery, indexLines, registerWordFunction, wordIndexSchema, wordIndexTable } from '../libs/storage-sqlite/src/word-index';
import { HOUR, MINUTE, ManualClock, TestApp, ingestLines, queryJson, startTestApp, tempDataDir } from './support/test-app';
import { partitionGenerations, untilCompacted } from './support/compaction-state';
import { indexState, untilIndexed } from './support/word-index-state';

const WORDS = ['payment', 'declined', 'timeout', 'upstream', 'cart', 'checkout', 'retry', 'Café', 'order-42', 'GET'];
/**
 * Words of scripts whose letters FTS5's own tokenizer and the word matcher once read apart: Hangul
 * syllables, kana with voicing marks, Thai, Tamil and Devanagari vowel signs, Arabic hamza, Greek
 * accents and final sigma. Each line starts with two of them.
 */
const SCRIPT_WORDS = ['결제실패', 'ログイン失敗', 'ガス', 'การชำระเงินล้มเหลว', 'أخطاء', 'தோல்வி', 'विफल', 'Αποτυχία', 'ΟΔΟΣ'];

/** Deterministic lines over three hours: two partitions the writer indexes, and the newest, which it scans. */
function corpus(now: number): { ts: number; message: string }[] {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: 1800 }, (_, i) => {
    const words = Array.from({ length: 3 + Math.floor(next() * 5) }, () => WORDS[Math.floor(next() * WORDS.length)]);
    const scripts = [SCRIPT_WORDS[i % SCRIPT_WORDS.length], SCRIPT_WORDS[(i * 5 + 1) % SCRIPT_WORDS.length]];
    return { ts: now - 3 * HOUR + i * 6000, message: `${scripts.join(' ')} ${words.join(' ')} #${i}` };
  });
}

/**
 * Word search through each index a closed hour may have: a word index of its lines (DAYLOG_COMPRESSION=off), or
 * one of its compressed blocks, whose lines are then read and matched.
 */
for (const compression of ['off', 'on'] as const) {
describe(`word and phrase search: match= (DAYLOG_COMPRESSION=${compression})`, () => {
  let t: TestApp;
  let lines: { ts: number; message: string }[];
  const labels = { namespace: 'shop', pod: 'web-1', container: 'app' };

  before(async () => {
    t = await startTestApp({ env: { DAYLOG_COMPRESSION: compression } });
    lines = corpus(t.clock.now());
    for (let i = 0; i < lines.length; i += 300) await ingestLines(t.http, lines.slice(i, i + 300), labels);
    if (compression === 'off') {
      await untilIndexed(t.config.dataDir, (state) => state.length === 3 && state.slice(0, -1).every((p) => p.indexed === p.lines) && state.at(-1)!.indexed === null);
    } else {
      const state = await untilCompacted(t.config.dataDir, lines.at(-1)!.ts - 2 * MINUTE);
      assert.deepEqual(state.map((p) => p.generation), [1, 1, 0]);
    }
  });
  after(() => t.close());

  async function search(query: Record<string, string>): Promise<string[]> {
    const { lines: found } = await queryJson(t.http, { ...query, limit: '5000', direction: 'forward' });
    return found.map((line) => line.message);
  }

  const expected = (expression: string) => {
    const parsed = parseMatchExpression(expression);
    assert.ok(typeof parsed !== 'string');
    return lines.map((line) => line.message).filter(textMatcher(parsed));
  };

  it('indexes the partitions that are no longer the newest (their lines, or their compressed blocks), and scans the newest', () => {
    if (compression === 'on') {
      assert.deepEqual(partitionGenerations(t.config.dataDir).map((p) => p.generation), [1, 1, 0]);
      return;
    }
    const state = indexState(t.config.dataDir);
    assert.ok(state.slice(0, -1).every((p) => p.lines > 0 && p.indexed === p.lines));
    assert.equal(state.at(-1)!.indexed, null);
  });

  const expressions = [
    ...['declined', 'PAYMENT declined', '"payment declined"', 'pay*', 'cafe', 'order 42', '"42 cart"', 'declined "retry timeout" check*'],
    ...SCRIPT_WORDS,
    ...['ログ*', 'தோ*', 'αποτυχια', 'οδος', '"결제실패 ログイン失敗"', 'विफल declined'],
  ];
  for (const expression of expressions) {
    it(`finds the same lines through the index as by reading them: match=${expression}`, async () => {
      const want = expected(expression);
      assert.ok(want.length > 0, 'the corpus has such lines');
      assert.deepEqual(await search({ match: expression }), want);
    });
  }

  it('answers a single word as the substring search does when the word never sits inside another', async () => {
    for (const word of ['declined', 'upstream', 'checkout']) assert.deepEqual(await search({ match: word }), await search({ q: word }));
  });

  it('finds a late line written into an indexed partition after its index was brought up to date', async () => {
    const late = { ts: t.clock.now() - 150 * MINUTE, message: 'late arrival zebra' };
    await ingestLines(t.http, [late], labels);
    assert.deepEqual(await search({ match: 'zebra' }), ['late arrival zebra']);
  });

  it('combines with the other filters, stats and pages', async () => {
    const want = expected('declined').filter((message) => /timeout/i.test(message));
    assert.deepEqual(await search({ match: 'declined', q: 'timeout' }), want);
    const stats = await t.http.get('/api/v1/stats').query({ match: 'declined', format: 'json', since: '4h', step: '1h' });
    assert.equal(stats.body.total, expected('declined').length);
    const first = await queryJson(t.http, { match: 'declined', limit: '7' });
    const next = await t.http.get('/api/v1/logs').query({ match: 'declined', limit: '7', cursor: first.nextCursor!, format: 'json' });
    assert.equal(next.status, 200);
    assert.equal(new Set([...first.lines, ...next.body.lines].map((l: { cursor: string }) => l.cursor)).size, 14);
  });

  it('refuses an expression without words or with an open quote, naming match', async () => {
    for (const [match, error] of [
      ['"payment', 'match has a quote that is not closed'],
      ['-- ++', 'match needs at least one word (letters or digits)'],
    ]) {
      const response = await t.http.get('/api/v1/logs').query({ match });
      assert.equal(response.status, 400);
      assert.deepEqual(response.body, { error, param: 'match' });
    }
  });
});
}

describe('regular expressions: regex=', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
    await ingestLines(t.http, corpus(t.clock.now()).slice(0, 600));
  });
  after(() => t.close());

  it('keeps the lines the expression matches, case-sensitive, as JavaScript reads it', async () => {
    const pattern = 'Café (payment|cart) #\\d*7$';
    const want = corpus(t.clock.now()).slice(0, 600).map((l) => l.message).filter((m) => new RegExp(pattern).test(m));
    assert.ok(want.length > 0);
    const { lines } = await queryJson(t.http, { regex: pattern, limit: '5000', direction: 'forward' });
    assert.deepEqual(lines.map((line) => line.message), want);
    assert.deepEqual((await queryJson(t.http, { regex: 'café' })).lines, []);
  });

  it('refuses an expression that does not compile, or that cannot run in linear time, naming what to rewrite', async () => {
    const notLinear = /^regex uses what cannot run in linear time: backreferences \(\\1, \\k<name>\), lookahead and lookbehind \(\(\?=, \(\?!, \(\?<=, \(\?<!\) and counted repetitions of more than 16 .*: rewrite it without them/;
    for (const [regex, error] of [
      ['(unclosed', /^regex is not a valid regular expression: /],
      ['(a)\\1', notLinear],
      ['(?<word>a)\\k<word>', notLinear],
      ['pay(?=ment)', notLinear],
      ['pay(?!ment)', notLinear],
      ['(?<=pay)ment', notLinear],
      ['(?<!pay)ment', notLinear],
      ['[0-9a-f]{32}', notLinear],
      ['(a{5}){4}', notLinear],
      ['x'.repeat(501), /^regex must be one regular expression of at most 500 characters$/],
    ] as const) {
      for (const path of ['/api/v1/logs', '/api/v1/stats', '/api/v1/labels/pod', '/api/v1/tail']) {
        const response = await t.http.get(path).query({ regex });
        assert.equal(response.status, 400, `${path} ${regex}`);
        assert.equal(response.body.param, 'regex');
        assert.match(response.body.error, error);
      }
    }
  });

  it('runs the expressions that froze the service in time linear in a line, on logs, stats and label values', async () => {
    const labels = { namespace: 'freeze', pod: 'freeze-1', container: 'app' };
    const long = 'x'.repeat(2000);
    await ingestLines(t.http, [{ message: long }, { message: `${long}y` }, { message: `${long}\u0000` }], labels);
    for (const [regex, matching] of [
      ['(.|.)*\\x00', [`${long}\u0000`]],
      ['(x|x)*y', [`${long}y`]],
      ['x*x*x*x*x*x*y', [`${long}y`]],
      ['(a+)+$', []],
    ] as const) {
      const { lines } = await queryJson(t.http, { namespace: 'freeze', regex, direction: 'forward' });
      assert.deepEqual(lines.map((line) => line.message), matching, regex);
      const stats = await t.http.get('/api/v1/stats').query({ namespace: 'freeze', regex, format: 'json' });
      assert.equal(stats.status, 200);
      assert.equal(stats.body.total, matching.length, regex);
      const pods = await t.http.get('/api/v1/labels/pod').query({ namespace: 'freeze', regex, format: 'json' });
      assert.equal(pods.status, 200);
      assert.equal(JSON.stringify(pods.body).includes('freeze-1'), matching.length > 0, regex);
    }
  });

  it('stops a statement whose regex or word matching runs past the search deadline', () => {
    const db = new Database(':memory:');
    const functions = new TextSearchFunctions();
    functions.register(db);
    db.exec('CREATE TABLE lines (message TEXT)');
    const insert = db.prepare('INSERT INTO lines VALUES (?)');
    for (let i = 0; i < 2000; i++) insert.run(`line ${i}`);
    functions.limitTime({ maxScannedLines: Infinity, deadlineMs: 1000, timeoutMs: 1000, now: () => 1001 });
    assert.throws(() => db.prepare(`SELECT count(*) FROM lines WHERE daylog_regexp(message, 'line')`).get(), QueryBudgetExceeded);
    assert.throws(() => db.prepare(`SELECT count(*) FROM lines WHERE daylog_match(message, 'line')`).get(), QueryBudgetExceeded);
    functions.limitTime({ maxScannedLines: Infinity, deadlineMs: 1000, timeoutMs: 1000, now: () => 1000 });
    assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM lines WHERE daylog_regexp(message, 'line')`).get(), { n: 2000 });
    functions.limitTime(null);
    assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM lines WHERE daylog_regexp(message, 'line')`).get(), { n: 2000 });
    db.close();
  });

  it('reads the clock after every 64 K characters tested, not only every 256 lines: long lines take long', () => {
    const db = new Database(':memory:');
    const functions = new TextSearchFunctions();
    functions.register(db);
    db.exec('CREATE TABLE lines (message TEXT)');
    const insert = db.prepare('INSERT INTO lines VALUES (?)');
    for (let i = 0; i < 10; i++) insert.run('x'.repeat(40_000));
    let reads = 0;
    const now = () => {
      reads++;
      return 1001;
    };
    functions.limitTime({ maxScannedLines: Infinity, deadlineMs: 1000, timeoutMs: 1000, now });
    assert.throws(() => db.prepare(`SELECT count(*) FROM lines WHERE daylog_regexp(message, 'y')`).get(), QueryBudgetExceeded);
    assert.equal(reads, 1, 'read once, after the second line');
    db.close();
  });
});

describe('without the full-text index (DAYLOG_FULL_TEXT=off)', () => {
  it('builds none and gives the same answers by reading the lines', async () => {
    const t = await startTestApp({ env: { DAYLOG_FULL_TEXT: 'off' } });
    try {
      const lines = corpus(t.clock.now());
      await ingestLines(t.http, lines);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(indexState(t.config.dataDir).every((p) => p.indexed === null));
      const parsed = parseMatchExpression('"payment declined"');
      assert.ok(typeof parsed !== 'string');
      const { lines: found } = await queryJson(t.http, { match: '"payment declined"', limit: '5000', direction: 'forward' });
      assert.deepEqual(found.map((l) => l.message), lines.map((l) => l.message).filter(textMatcher(parsed)));
    } finally {
      await t.close();
    }
  });
});

describe('the word index and the word matcher', () => {
  /** Letters of the scripts whose words once read apart, with digits, spaces and punctuation between them. */
  const scriptText = fc.string({
    unit: fc.oneof(
      ...[
        [0xac00, 0xd7a3], // Hangul syllables
        [0x3041, 0x30ff], // kana, voiced ones included
        [0x4e00, 0x4e3f], // CJK ideographs
        [0x0e01, 0x0e5b], // Thai, with its vowel signs
        [0x0600, 0x06ff], // Arabic, hamza forms and harakat
        [0x0b80, 0x0bff], // Tamil
        [0x0900, 0x097f], // Devanagari
        [0x0370, 0x03ff], // Greek, accented and final sigma
        [0x00c0, 0x024f], // Latin with diacritics
      ].map(([min, max]) => fc.integer({ min, max }).map((code) => String.fromCodePoint(code))),
      fc.constantFrom(' ', ' ', '-', '.', '_', '1', '9', '"'),
    ),
    maxLength: 40,
  });

  it('agree on what a word is, in every script: the index finds every line the matcher keeps', () => {
    const db = new Database(':memory:');
    registerWordFunction(db);
    db.exec('CREATE TABLE lines (id INTEGER PRIMARY KEY, message TEXT NOT NULL)');
    db.exec(wordIndexSchema('lines'));
    const insert = db.prepare('INSERT INTO lines (message) VALUES (?)');
    const index = wordIndexTable('lines');
    const find = db.prepare(`SELECT rowid FROM "${index}" WHERE "${index}" MATCH ?`).pluck();
    fc.assert(
      fc.property(fc.oneof(scriptText, fc.string({ unit: 'grapheme' })), fc.nat(), (message, pick) => {
        const id = Number(insert.run(message).lastInsertRowid);
        indexLines(db, 'lines', id - 1, id);
        const words = tokens(message);
        if (words.length === 0) return;
        const at = pick % words.length;
        const letters = [...words[at]];
        const expressions = [words[at], `${letters.slice(0, Math.ceil(letters.length / 2)).join('')}*`, `"${words.slice(at, at + 2).join(' ')}"`, message];
        for (const expression of expressions) {
          const parsed = parseMatchExpression(expression);
          if (typeof parsed === 'string' || !textMatcher(parsed)(message)) continue;
          assert.ok((find.all(ftsQuery(parsed)) as number[]).includes(id), `${JSON.stringify(expression)} in ${JSON.stringify(message)}`);
        }
      }),
      { numRuns: 3000 },
    );
    db.close();
  });
});

describe('a partition whose word index an earlier Daylog built from the raw text', () => {
  it('has that index dropped at boot and replaced by one of the words as the matcher reads them, every line found meanwhile', async () => {
    const dataDir = tempDataDir();
    const clock = new ManualClock();
    const labels = { namespace: 'shop', pod: 'web-1' };
    const lines = [...SCRIPT_WORDS.map((word, i) => ({ ts: clock.now() - 2 * HOUR + i * 1000, message: `old hour ${word}` })), { ts: clock.now() - MINUTE, message: 'this hour' }];
    try {
      let t = await startTestApp({ dataDir, clock, env: { DAYLOG_COMPRESSION: 'off' } });
      await ingestLines(t.http, lines, labels);
      await untilIndexed(dataDir, (state) => state.length === 2 && state[0].indexed === state[0].lines);
      await t.close();

      // As an earlier Daylog left it: FTS5's own words of the raw text, in its own tables.
      const [oldest] = readdirSync(join(dataDir, 'partitions')).filter((file) => file.endsWith('.db')).sort();
      const table = oldest.slice(0, -3);
      const db = new Database(join(dataDir, 'partitions', oldest));
      db.exec(`DROP TABLE "${wordIndexTable(table)}"; DROP TABLE words_state;
        CREATE VIRTUAL TABLE "${table}_fts" USING fts5(message, content='', detail=none, columnsize=0);
        INSERT INTO "${table}_fts" (rowid, message) SELECT id, message FROM "${table}";
        CREATE TABLE fts_state (indexed_upto INTEGER NOT NULL);
        INSERT INTO fts_state SELECT max(id) FROM "${table}";`);
      db.close();

      t = await startTestApp({ dataDir, clock, env: { DAYLOG_COMPRESSION: 'off' } });
      try {
        for (const word of SCRIPT_WORDS) {
          const { lines: found } = await queryJson(t.http, { match: word });
          assert.deepEqual(found.map((line) => line.message), [`old hour ${word}`], word);
        }
        await untilIndexed(dataDir, (state) => state[0].indexed === state[0].lines);
        const check = new Database(join(dataDir, 'partitions', oldest), { readonly: true });
        const tables = check.prepare(`SELECT name FROM sqlite_master WHERE name LIKE '%fts%'`).pluck().all();
        check.close();
        assert.deepEqual(tables, [], 'the old index is gone');
        for (const word of SCRIPT_WORDS) assert.equal((await queryJson(t.http, { match: word })).lines.length, 1, word);
      } finally {
        await t.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
