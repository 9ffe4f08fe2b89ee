import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogLine } from '@daylog/log-model';
import { LineFilter, LineTestThreads, LinesTest, lineMatcher } from '@daylog/storage';

// About 40 times slower a character than `x`: about 1 ms on a line of 100 characters, seconds on one of 60,000,
// even in linear time.
const SLOW = `${'.{16}'.repeat(40)}x`;
const LONG = 'a'.repeat(60_000);

function filterOf(terms: Partial<LineFilter>): LineFilter {
  return { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [], ...terms };
}

function lineOf(message: string, level: LogLine['level'] = 'info'): LogLine {
  return { ts: 1_000, level, namespace: 'shop', pod: 'web-1', container: 'nginx', source: null, message, fields: { big: 'x'.repeat(100) }, format: null };
}

/** Which lines matched, of those tested. */
function matched({ matches, tested }: LinesTest): number[] {
  return [...matches.subarray(0, tested)];
}

describe('LineTestThreads', () => {
  let threads: LineTestThreads;

  before(() => {
    threads = new LineTestThreads();
  });
  after(() => threads.stop());

  it("tests lines by the filter's meaning, every term of it", async () => {
    const filter = filterOf({ regex: '^GET /\\w+$', levels: ['error'], excludes: ['health'], labels: { pod: ['web-*'] } });
    const lines = [lineOf('GET /cart', 'error'), lineOf('GET /cart'), lineOf('GET /health', 'error'), lineOf('POST /cart', 'error'), { ...lineOf('GET /x', 'error'), pod: 'api-1' }];
    const tested = await threads.testLines(filter, lines, 5_000, 'shop');
    assert.deepEqual(matched(tested), [1, 0, 0, 0, 0]);
    assert.deepEqual(matched(tested), lines.map((line) => (lineMatcher(filter)(line) ? 1 : 0)));
  });

  it('stops a thread whose one line takes seconds a little past the deadline, and the pool answers the next tests', async () => {
    const started = performance.now();
    // Both threads at once, for two clients: both are stopped, and both replaced.
    const stopped = await Promise.all(['shop', 'payments'].map((client) => threads.testLines(filterOf({ regex: SLOW }), [lineOf(LONG), lineOf('bx')], 300, client)));
    const tookMs = performance.now() - started;
    assert.deepEqual(stopped.map((test) => test.tested), [0, 0]);
    assert.ok(tookMs >= 500 && tookMs < 3_000, `stopped after ${Math.round(tookMs)} ms: 300 ms and the 250 ms margin, not the line's seconds`);
    const next = await Promise.all(['shop', 'payments'].map((client) => threads.testLines(filterOf({ regex: '^b+x$' }), [lineOf('bbx'), lineOf('ax')], 5_000, client)));
    assert.deepEqual(next.map(matched), [[1, 0], [1, 0]]);
  });

  it('reads the clock between lines: past the deadline it answers with the lines it tested, on its own', async () => {
    const lines = Array.from({ length: 3_000 }, (_, i) => lineOf(`${'a'.repeat(96)}${i}`));
    const test = await threads.testLines(filterOf({ regex: SLOW }), lines, 300, 'shop');
    // A thread stopped at the margin tested none: it was not stopped.
    assert.ok(test.tested > 0 && test.tested < lines.length, `tested ${test.tested} of ${lines.length}`);
  });

  it("leaves a thread to another client while one client's slow tests wait for theirs", async () => {
    const answered: string[] = [];
    const slow = Array.from({ length: 3 }, (_, i) =>
      threads.testLines(filterOf({ regex: SLOW }), [lineOf(LONG)], 1_000, 'shop').then(() => answered.push(`shop ${i}`)),
    );
    const payments = await threads.testLines(filterOf({ regex: 'declined' }), [lineOf('payment 1 declined')], 5_000, 'payments');
    answered.push('payments');
    assert.deepEqual(matched(payments), [1]);
    await Promise.all(slow);
    assert.deepEqual(answered, ['payments', 'shop 0', 'shop 1', 'shop 2']);
  });

  it("takes a client's searches before its tails' tests, a search's time running from the call and a tail's from its start", async () => {
    const answered: string[] = [];
    const test = (name: string, timeMs: number, search: boolean, lines: LogLine[] = [lineOf('bx')]) =>
      threads.testLines(filterOf({ regex: 'x$' }), lines, timeMs, 'shop', search ? {} : undefined).then((result) => {
        answered.push(name);
        return result.tested;
      });
    // The client's one thread is taken for 1 s; the other is left for other clients.
    const busy = threads.testLines(filterOf({ regex: SLOW }), [lineOf(LONG)], 1_000, 'shop').then(() => answered.push('busy'));
    const tested = await Promise.all([test('tail', 200, false), test('search', 5_000, true), test('short search', 200, true)]);
    await busy;
    assert.deepEqual(answered, ['busy', 'search', 'short search', 'tail']);
    assert.deepEqual(tested, [1, 1, 0], 'the short search ran out of time while it waited; the tail had its 200 ms once taken up');
  });

  it('stops a search once it has enough matches', async () => {
    const lines = ['m 1', 'x', 'm 2', 'm 3', 'm 4'].map((message) => lineOf(message));
    const test = await threads.testLines(filterOf({ regex: '^m' }), lines, 5_000, 'shop', { enough: 2 });
    assert.equal(test.tested, 3);
    assert.deepEqual(matched(test), [1, 0, 1]);
  });

  it('tests without a limit when the time is infinite', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => lineOf(`${'a'.repeat(96)}${i}x`));
    const test = await threads.testLines(filterOf({ regex: SLOW }), lines, Infinity, 'shop', {});
    assert.equal(test.tested, lines.length);
  });
});

describe('LineTestThreads, stopped', () => {
  it('refuses tests once stopped, and ends the tests that were waiting', async () => {
    const threads = new LineTestThreads(1);
    const running = threads.testLines(filterOf({ regex: SLOW }), [lineOf(LONG)], 10_000, 'shop');
    const waiting = threads.testLines(filterOf({ regex: 'x' }), [lineOf('x')], 10_000, 'shop');
    const ended = Promise.all([running, waiting].map((test) => assert.rejects(test, /^Error: storage is closed$/)));
    await threads.stop();
    await ended;
    await assert.rejects(threads.testLines(filterOf({ regex: 'x' }), [lineOf('x')], 1_000, 'shop'), /^Error: storage is closed$/);
  });
});
