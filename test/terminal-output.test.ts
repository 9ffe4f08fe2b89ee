import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeForTerminal } from '@daylog/log-model';
import { TailClient } from './support/tail-client';
import { ManualClock, TestApp, WireLineBody, ingestLines, startTestApp } from './support/test-app';

/** Messages made of what terminals obey, backslashes, and any other character. */
const anyMessage = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\x1b', '\r', '\n', '\t', '\b', '\x07', '\x00', '\x7f', '\u0085', '\u009b', '\u202e', '\u2066', '\u200f', '\u061c', '\u2028', '\\', ' ', 'x'),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  minLength: 1,
});

/**
 * What a terminal obeys rather than shows: C0 controls, DEL, C1 controls, the bidirectional marks,
 * embeddings, overrides and isolates, the line and paragraph separators. Tab is left out on purpose:
 * it only moves the cursor forward, and text output keeps it.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OBEYED_BY_TERMINALS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Text output is inert: nothing a terminal obeys, and a newline only at the end of each line. */
function assertInert(text: string, lines: number): void {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const rows = text.slice(0, -1).split('\n');
  assert.equal(rows.length, lines, 'one output line per log line');
  for (const row of rows) assert.doesNotMatch(row, OBEYED_BY_TERMINALS, JSON.stringify(row));
}

/** The inverse of text output's escapes, written here from the documented forms: `\n`, `\r`, `\xNN`, `\uNNNN`. */
function unescapeTerminalText(text: string): string {
  return text.replace(/\\(n|r|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, code: string) =>
    code === 'n' ? '\n' : code === 'r' ? '\r' : String.fromCharCode(parseInt(code.slice(1), 16)),
  );
}

/** Lines written to take over a terminal, and how text output shows each. */
const HOSTILE_LINES: [string, string][] = [
  ['\x1b[2J\x1b[Hthe screen was cleared', '\\x1b[2J\\x1b[Hthe screen was cleared'],
  ['\x1b]0;a new window title\x07', '\\x1b]0;a new window title\\x07'],
  ['\x1b[8mhidden\x1b[0m \x1b[31mred\x1b[0m', '\\x1b[8mhidden\\x1b[0m \\x1b[31mred\\x1b[0m'],
  ['all is well\rALL IS LOST', 'all is well\\rALL IS LOST'],
  ['fine\b\b\b\bgone', 'fine\\x08\\x08\\x08\\x08gone'],
  ['\u009b2J cleared by the one-character CSI', '\\u009b2J cleared by the one-character CSI'],
  ['user \u202enimda\u202c logged in', 'user \\u202enimda\\u202c logged in'],
  ['\u2067isolated\u2069 \u200e\u200f\u061c', '\\u2067isolated\\u2069 \\u200e\\u200f\\u061c'],
  ['one\u2028two\u2029three', 'one\\u2028two\\u2029three'],
  ['NUL\x00 DEL\x7f VT\x0b FF\x0c NEL\u0085', 'NUL\\x00 DEL\\x7f VT\\x0b FF\\x0c NEL\\u0085'],
  ['Error: boom\r\n\tat main (C:\\app\\main.js:1)', 'Error: boom\\r\\n\tat main (C:\\app\\main.js:1)'],
];

describe('text escaped for a terminal', () => {
  it('is inert for any text, and unescapes to the text when it has no backslash', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const escaped = escapeForTerminal(message);
        assert.doesNotMatch(escaped, OBEYED_BY_TERMINALS);
        if (!message.includes('\\')) assert.equal(unescapeTerminalText(escaped), message);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hostile lines read back as text', () => {
  let t: TestApp;
  let tailUrl: string;
  /** The hostile lines' own pod: the other tests here write to other pods. */
  const ofHostile = { namespace: 'hostile', pod: 'web-1' };
  const labels = { ...ofHostile, container: 'app' };
  const clock = new ManualClock();
  const tsOf = (i: number) => clock.now() - (HOSTILE_LINES.length - i) * 1000;
  const textLine = (i: number, message: string) => `${new Date(tsOf(i)).toISOString()} INFO hostile/web-1/app ${message}\n`;
  const escapedText = HOSTILE_LINES.map(([, escaped], i) => textLine(i, escaped)).join('');
  const rawText = HOSTILE_LINES.map(([message], i) => textLine(i, message)).join('');
  /** The context of the newest line: every line before it, and it marked `>`. */
  const contextOfNewest = (show: 0 | 1) => HOSTILE_LINES.map((line, i) => `${i === HOSTILE_LINES.length - 1 ? '>' : ' '} ${textLine(i, line[show])}`).join('');
  async function newestCursor(): Promise<string> {
    const { body } = await t.http.get('/api/v1/logs').query({ ...ofHostile, limit: '1', format: 'json' });
    return (body.lines as WireLineBody[])[0].cursor;
  }

  before(async () => {
    t = await startTestApp({ clock });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    tailUrl = `${await t.app.getUrl()}/api/v1/tail`;
    await ingestLines(t.http, HOSTILE_LINES.map(([message], i) => ({ ts: tsOf(i), message })), labels);
  });
  after(() => t.close());

  async function tailText(query: string, newlines: number): Promise<string> {
    const tail = new TailClient(`${tailUrl}?${query}`);
    try {
      await tail.waitFor(newlines);
      return `${tail.lines.join('\n')}\n`;
    } finally {
      tail.request.destroy();
    }
  }

  it('escapes what a terminal would obey in /api/v1/logs, one output line per log line', async () => {
    const response = await t.http.get('/api/v1/logs').query({ ...ofHostile, direction: 'forward' });
    assert.equal(response.text, escapedText);
    assertInert(response.text, HOSTILE_LINES.length);
    const messages = response.text.trimEnd().split('\n').map((row) => row.split(' ').slice(3).join(' '));
    assert.deepEqual(messages.slice(0, -1).map(unescapeTerminalText), HOSTILE_LINES.slice(0, -1).map(([message]) => message), 'unescaping gives each message back');
  });

  it('escapes them in the context of a line', async () => {
    const response = await t.http.get('/api/v1/logs/context').query({ cursor: await newestCursor() });
    assert.equal(response.text, contextOfNewest(1));
    assertInert(response.text, HOSTILE_LINES.length);
  });

  it('escapes them in a tail', async () => {
    const text = await tailText(`${new URLSearchParams(ofHostile).toString()}&limit=${HOSTILE_LINES.length}`, HOSTILE_LINES.length);
    assert.equal(text, escapedText);
  });

  it('gives them as stored with raw=true, in /api/v1/logs, context and tail, and refuses a raw that is not true or false', async () => {
    const logs = await t.http.get('/api/v1/logs').query({ ...ofHostile, direction: 'forward', raw: 'true' });
    assert.equal(logs.text, rawText);
    const cursor = await newestCursor();
    const context = await t.http.get('/api/v1/logs/context').query({ cursor, raw: 'true' });
    assert.equal(context.text, contextOfNewest(0));
    const tail = await tailText(`${new URLSearchParams(ofHostile).toString()}&limit=${HOSTILE_LINES.length}&raw=true`, rawText.split('\n').length - 1);
    assert.equal(tail, rawText);
    const escaped = await t.http.get('/api/v1/logs').query({ ...ofHostile, direction: 'forward', raw: 'false' });
    assert.equal(escaped.text, escapedText);
    for (const [path, query] of [['/api/v1/logs', {}], ['/api/v1/logs/context', { cursor }], ['/api/v1/tail', {}]] as const) {
      const response = await t.http.get(path).query({ ...query, raw: 'yes' });
      assert.equal(response.status, 400, path);
      assert.deepEqual(response.body, { error: 'raw must be one of true, false', param: 'raw' }, path);
    }
  });

  it('writes a new line to a raw tail and an escaped tail of the same lines each in its own way', async () => {
    const escaped = new TailClient(`${tailUrl}?pod=live&limit=0`);
    const raw = new TailClient(`${tailUrl}?pod=live&limit=0&raw=true`);
    try {
      // A tail listens before its headers leave, so a line stored once both are open reaches both.
      await Promise.all([escaped.opened(), raw.opened()]);
      await ingestLines(t.http, [{ ts: clock.now(), message: 'live\x1b[2J' }], { ...labels, pod: 'live' });
      assert.deepEqual(await escaped.waitFor(1), [`${new Date(clock.now()).toISOString()} INFO hostile/live/app live\\x1b[2J`]);
      assert.deepEqual(await raw.waitFor(1), [`${new Date(clock.now()).toISOString()} INFO hostile/live/app live\x1b[2J`]);
    } finally {
      escaped.request.destroy();
      raw.request.destroy();
    }
  });

  it('leaves ndjson and json as they were, raw or not: JSON escapes control characters itself', async () => {
    for (const raw of ['true', 'false']) {
      const { body } = await t.http.get('/api/v1/logs').query({ ...ofHostile, direction: 'forward', format: 'json', raw });
      assert.deepEqual((body.lines as WireLineBody[]).map((line) => line.message), HOSTILE_LINES.map(([message]) => message));
    }
  });

  it('escapes labels too, which may hold C1 and bidirectional characters, in lines, stats and label values', async () => {
    await ingestLines(t.http, [{ message: 'from a strange pod' }], { namespace: 'odd\u009b', pod: 'pod-\u202eevil', container: 'c\u2066' });
    const logs = await t.http.get('/api/v1/logs').query({ namespace: 'odd\u009b' });
    assert.match(logs.text, / INFO odd\\u009b\/pod-\\u202eevil\/c\\u2066 from a strange pod\n$/);
    const stats = await t.http.get('/api/v1/stats').query({ namespace: 'odd\u009b', by: 'pod', since: '1h' });
    const pods = await t.http.get('/api/v1/labels/pod').query({ namespace: 'odd\u009b' });
    for (const response of [logs, stats, pods]) {
      assert.equal(response.status, 200);
      assert.doesNotMatch(response.text.replaceAll('\n', ''), OBEYED_BY_TERMINALS);
    }
    assert.match(stats.text, / pod-\\u202eevil 1\n/);
    assert.match(pods.text, /^pod-\\u202eevil {2}1 {2}\S+\n/m);
  });

  it('keeps any message inert in text and gives it back with raw=true', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyMessage, async (message) => {
        const pod = `prop-${n++}`;
        await ingestLines(t.http, [{ message }], { pod });
        const text = await t.http.get('/api/v1/logs').query({ pod });
        assertInert(text.text, 1);
        const shown = text.text.slice(0, -1).split(' ').slice(3).join(' ');
        if (!message.includes('\\')) assert.equal(unescapeTerminalText(shown), message);
        const raw = await t.http.get('/api/v1/logs').query({ pod, raw: 'true' });
        assert.equal(raw.text.slice(0, -1).split(' ').slice(3).join(' '), message);
      }),
      { numRuns: 100 },
    );
  });
});
