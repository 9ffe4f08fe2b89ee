import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lineFields } from '@daylog/log-model';
import { LabelPredicate, PipelineEntry, PipelineResult, Stage, compileLineFormat, compilePipeline, logqlRegex } from '@daylog/loki';

const fixture = (name: string) => readFileSync(join(__dirname, '../../test/fixtures/nginx', name), 'utf8').split('\n').filter(Boolean);

/** nginx's access.log as Daylog stores it: the line, its stream, and its fields as structured metadata. */
const accessEntries: PipelineEntry[] = fixture('access.log').map((line) => {
  const fields = lineFields('nginx-access', line, null) ?? {};
  const status = Number(fields.status);
  return {
    line,
    stream: { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log', level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info' },
    metadata: Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, String(value)])),
  };
});

const appStream = { namespace: 'shop', pod: 'api-7d9', container: 'api', source: 'stdout', level: 'info' };
const app = (line: string, metadata: Record<string, string> = {}): PipelineEntry => ({ line, stream: appStream, metadata });

/** The lines that pass, as their text. */
function passing(stages: Stage[], entries: PipelineEntry[]): string[] {
  const run = compilePipeline(stages);
  return entries.flatMap((entry) => run(entry)?.line ?? []);
}

function only(stages: Stage[], entry: PipelineEntry): PipelineResult {
  const result = compilePipeline(stages)(entry);
  assert.ok(result, `${entry.line} was dropped`);
  return result;
}

const lineFilter = (op: '|=' | '!=' | '|~' | '!~', ...values: string[]): Stage => ({ kind: 'lineFilter', op, values });
const json: Stage = { kind: 'parser', parser: 'json', strict: false, keepEmpty: false };
const logfmt = (strict = false, keepEmpty = false): Stage => ({ kind: 'parser', parser: 'logfmt', strict, keepEmpty });
const where = (predicate: LabelPredicate): Stage => ({ kind: 'labelFilter', predicate });
const is = (name: string, op: '=' | '!=' | '=~' | '!~', value: string): LabelPredicate => ({ kind: 'string', name, op, value });
const compared = (name: string, op: '==' | '!=' | '>' | '>=' | '<' | '<=', value: number, unit: 'number' | 'duration' | 'bytes' = 'number'): LabelPredicate =>
  ({ kind: 'number', name, op, value, unit });
const noError = where(is('__error__', '=', ''));

describe('logqlRegex', () => {
  const matches = (source: string, anchored: boolean, text: string) => {
    const regex = logqlRegex(source, anchored);
    assert.ok(regex instanceof RegExp, `${source}: ${String(regex)}`);
    return regex.test(text);
  };

  it('reads the leading flags (?i), (?s), (?m) and their combinations as RE2 does', () => {
    assert.equal(matches('(?i)error', false, 'ERROR: upstream'), true);
    assert.equal(matches('error', false, 'ERROR: upstream'), false);
    assert.equal(matches('(?i)[a-c]x\\x41', false, 'Bxa'), true);
    assert.equal(matches('(?i)[^a-z]', false, 'Q'), false);
    assert.equal(matches('a.b', false, 'a\nb'), false);
    assert.equal(matches('(?s)a.b', false, 'a\nb'), true);
    assert.equal(matches('(?is)A.B', false, 'a\nb'), true);
    assert.equal(matches('(?i)(?s)A.B', false, 'a\nb'), true);
    assert.equal(matches('^GET', false, 'x\nGET /'), false);
    assert.equal(matches('(?m)^GET', false, 'x\nGET /'), true);
  });

  it('anchors a whole-value match, where a dot also matches newlines (Prometheus: ^(?s:re)$)', () => {
    assert.equal(matches('GET|POST', true, 'POST'), true);
    assert.equal(matches('GET|POST', true, 'GETS'), false);
    assert.equal(matches('GET|POST', false, 'GETS'), true);
    assert.equal(matches('a.*', true, 'a\nb'), true);
    assert.equal(matches('', true, ''), true);
    assert.equal(matches('', true, 'x'), false);
  });

  it('keeps what RE2 means where JavaScript reads the same text otherwise', () => {
    const named = logqlRegex('(?P<method>GET|POST) (?P<path>\\S+)', false);
    assert.ok(named instanceof RegExp);
    assert.deepEqual({ ...named.exec('"POST /pay HTTP/1.1"')?.groups }, { method: 'POST', path: '/pay' });
    assert.equal(matches('[]a]+', true, ']a]'), true, 'a ] first in a class is itself');
    assert.equal(matches('a.b', false, 'a\rb'), true, "RE2's dot takes \\r");
    assert.equal(matches('a\\sb', false, 'a\vb'), false, "RE2's \\s is [\\t\\n\\f\\r ]");
    assert.equal(matches('\\x{41}\\101\\a', false, 'AA\u0007'), true);
    assert.equal(matches('a\tb', false, 'a\tb'), true, 'a tab as LogQL\'s "\\t" gives it');
    assert.equal(matches('😀+', true, '😀😀'), true, 'a character beyond U+FFFF is one character');
    assert.equal(matches('{"level":"error"', false, '{"level":"error","msg":"x"}'), true);
  });

  const refusals: [string, boolean, RegExp][] = [
    ['a\\z', false, /\\z is not supported: use \$/],
    ['\\Aa', false, /\\A is not supported: use \^/],
    ['\\Q.*\\E', false, /\\Q…\\E is not supported/],
    ['[[:alpha:]]+', false, /POSIX classes/],
    ['a(?i)b', false, /must come at the very start/],
    ['(?i:a)b', false, /must come at the very start/],
    ['(?U)a+', false, /flag \(\?U\) is not supported/],
    ['(a)\\1', false, /backreferences/],
    ['(?=a)', false, /lookahead and lookbehind/],
    ['\\pL+', false, /Unicode classes/],
    ['\\y', false, /escape \\y is not part of RE2's syntax/],
    ['(?m)^a$', true, /\(\?m\) cannot be used where the whole value must match/],
    ['x{17}', false, /cannot run in linear time/],
    ['a(', false, /not a valid regular expression/],
    ['[😀]', false, /beyond U\+FFFF/],
    ['a'.repeat(501), false, /at most 500 characters/],
  ];
  for (const [source, anchored, reason] of refusals) {
    it(`refuses ${JSON.stringify(source.slice(0, 20))} with a sentence`, () => {
      const refused = logqlRegex(source, anchored);
      assert.equal(typeof refused, 'string');
      assert.match(refused as string, reason);
    });
  }
});

describe('line filters', () => {
  it('|= and != find text case-sensitively; "or" gives alternatives', () => {
    assert.equal(passing([lineFilter('|=', '"GET /static')], accessEntries).length, 1);
    assert.equal(passing([lineFilter('|=', 'get')], accessEntries).length, 0);
    assert.deepEqual(passing([lineFilter('|=', '" 404 ', '" 502 ')], accessEntries).map((line) => line.split('"')[2].trim().split(' ')[0]), ['404', '502']);
    assert.equal(passing([lineFilter('!=', 'curl', 'Firefox')], accessEntries).length, accessEntries.filter((e) => !/curl|Firefox/.test(e.line)).length);
    assert.ok(passing([lineFilter('!=', 'curl', 'Firefox')], accessEntries).length < accessEntries.length);
  });

  it('|~ and !~ match a regex anywhere in the line, in order with the others', () => {
    assert.equal(passing([lineFilter('|~', '(?i)firefox')], accessEntries).length, 1);
    assert.equal(passing([lineFilter('|~', '" 5\\d\\d ')], accessEntries).length, 2);
    assert.equal(passing([lineFilter('|~', '" 5\\d\\d '), lineFilter('!~', '"GET ', '" 500 ')], accessEntries).length, 1);
    const errors = passing([lineFilter('|=', '[error]'), lineFilter('|~', 'upstream|connect')], fixture('error.log').map((text) => app(text)));
    assert.ok(errors.length > 0 && errors.every((line) => line.includes('[error]')));
  });

  it('throws when handed a regex the parser should have refused', () => {
    assert.throws(() => compilePipeline([lineFilter('|~', 'a\\z')]), /\\z is not supported/);
  });
});

describe('| json', () => {
  const line = '{"level":"error","msg":"payment failed","http":{"status":502,"path":"/pay","took":1.50},"tags":["a",{"b":1}],"ok":false,"trace":null,"1st":"x","user-id":"7","a":{" ":{"b":"c"}}}';

  it('flattens nested keys with _, writes numbers as written, skips arrays and nulls, sanitises names', () => {
    assert.deepEqual({ ...only([json], app(line)).parsed }, {
      level_extracted: 'error', msg: 'payment failed', http_status: '502', http_path: '/pay', http_took: '1.50', ok: 'false', _1st: 'x', user_id: '7', a_b: 'c',
    });
  });

  it('renames a key that is a stream label or structured metadata to <key>_extracted', () => {
    assert.deepEqual({ ...only([json], app('{"pod":"p","status":"s","other":"o"}', { status: '200' })).parsed }, { pod_extracted: 'p', status_extracted: 's', other: 'o' });
  });

  it('keeps a line that is not a JSON object, marked, with what came before the fault', () => {
    for (const text of ['GET / 200', '[1,2]', '', '"text"']) {
      const marks: Record<string, string> = only([json], app(text)).parsed;
      assert.equal(marks.__error__, 'JSONParserErr', text);
      assert.match(marks.__error_details__, /JSON/);
    }
    const partial = only([json], app('{"a":1,"b":')).parsed;
    assert.deepEqual([partial.a, partial.__error__], ['1', 'JSONParserErr']);
    assert.match(partial.__error_details__, /ends early/);
    assert.deepEqual(passing([json, noError], [app('plain'), app('{"msg":"ok"}')]), ['{"msg":"ok"}']);
  });

  it('keeps the first value of a key, within a line and over parsers (Loki: "only the first label value will be kept")', () => {
    assert.equal(only([json], app('{"app":"foo","app":"bar"}')).parsed.app, 'foo');
    assert.deepEqual({ ...only([json, logfmt()], app('{"a":"1"} a=2 b=3')).parsed }, { a: '1', b: '3' });
  });

  it('takes hostile keys as plain names and never lets a line set __error__', () => {
    const parsed = only([json, where(is('constructor', '=', ''))], app('{"__proto__":"x","constructor":"","__error__":"forged","toString":"t"}')).parsed;
    assert.deepEqual({ ...parsed }, { ['__proto__']: 'x', constructor: '', toString: 't' });
    assert.equal(Object.getPrototypeOf(parsed), null);
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    assert.equal(only([json], app(deep)).parsed['a_'.repeat(99_999) + 'a'], '1');
  });
});

describe('| logfmt', () => {
  const line = 'level=info msg="GET /pay \\"quoted\\"" duration=150ms size=1.5MiB empty= flag caller=pay.go:42';

  it('reads pairs, quoted values with escapes, and drops empty values unless --keep-empty', () => {
    const expected = { level_extracted: 'info', msg: 'GET /pay "quoted"', duration: '150ms', size: '1.5MiB', caller: 'pay.go:42' };
    assert.deepEqual({ ...only([logfmt()], app(line)).parsed }, expected);
    assert.deepEqual({ ...only([logfmt(false, true)], app(line)).parsed }, { ...expected, empty: '', flag: '' });
  });

  it('reads what it can of a malformed line, and with --strict marks it LogfmtParserErr keeping what came before', () => {
    const malformed = 'a=1 b=x"y c=2 "d"=3 e="open';
    assert.deepEqual({ ...only([logfmt()], app(malformed)).parsed }, { a: '1', c: '2' });
    const strict = only([logfmt(true)], app(malformed)).parsed;
    assert.deepEqual([strict.a, strict.c, strict.__error__], ['1', undefined, 'LogfmtParserErr']);
    assert.match(strict.__error_details__, /logfmt syntax error at character 8: unexpected "/);
    assert.equal(only([logfmt(true)], app('a=1 b="2"')).parsed.__error__, undefined);
  });

  it('reads nginx error.log lines without stopping on them', () => {
    const [entry] = fixture('error.log').filter((text) => text.includes('[error]')).map((text) => app(text));
    assert.ok(entry);
    assert.equal(only([logfmt()], entry).parsed.__error__, undefined);
    assert.equal(only([logfmt(true)], entry).line, entry.line);
  });
});

describe('label filters', () => {
  it('compare structured metadata as strings and numbers', () => {
    assert.equal(passing([where(compared('status', '>=', 500))], accessEntries).length, 2);
    assert.equal(passing([where(is('method', '=', 'GET')), where(is('path', '=~', '/static/.*'))], accessEntries).length, 1);
    assert.equal(passing([where({ kind: 'or', left: compared('status', '==', 404), right: compared('status', '==', 400) })], accessEntries).length, 2);
    assert.equal(passing([where({ kind: 'and', left: is('level', '=', 'error'), right: compared('status', '!=', 500) })], accessEntries).length, 1);
  });

  it('read a missing label as empty for strings, and drop the line for numbers', () => {
    assert.equal(passing([where(is('remote_user', '=', ''))], accessEntries).length, accessEntries.length);
    assert.equal(passing([where(compared('remote_user', '>', 0))], accessEntries).length, 0);
    assert.deepEqual(passing([json, where(compared('__error__', '!=', 0))], [app('not json')]), [], 'numbers never read __error__');
  });

  it('look a name up in parsed labels, then structured metadata, then the stream', () => {
    const entry = app('{"level":"debug"}', { level: 'warn' });
    assert.ok(compilePipeline([where(is('level', '=', 'warn'))])(entry));
    assert.ok(compilePipeline([json, where(is('level_extracted', '=', 'debug'))])(entry));
    assert.ok(compilePipeline([where(is('pod', '=~', 'api-.*'))])(entry));
  });

  it('compare durations in seconds and sizes in bytes (KB 1000, KiB 1024), as Go and go-humanize read them', () => {
    const lines = ['took=1.5s size=10KB', 'took=150ms size=9.9KiB', 'took=1h30m size=512B', 'took=-2m size=1,024'].map((text) => app(text));
    const took = (op: '>' | '<=', seconds: number) => passing([logfmt(), where(compared('took', op, seconds, 'duration'))], lines).map((text) => text.split(' ')[0]);
    assert.deepEqual(took('>', 1), ['took=1.5s', 'took=1h30m']);
    assert.deepEqual(took('<=', 0.15), ['took=150ms', 'took=-2m']);
    const size = (op: '>=' | '<', bytes: number) => passing([logfmt(), where(compared('size', op, bytes, 'bytes'))], lines).map((text) => text.split(' ')[1]);
    assert.deepEqual(size('>=', 10_000), ['size=10KB', 'size=9.9KiB']);
    assert.deepEqual(size('<', 1025), ['size=512B', 'size=1,024']);
  });

  it('keep a line whose label does not convert, marked LabelFilterErr, which | __error__="" then removes', () => {
    const entries = ['latency=abc', 'latency=2s', 'latency=1.5', 'latency=10'].map((text) => app(text));
    const marked = compilePipeline([logfmt(), where(compared('latency', '>', 1, 'duration'))]);
    assert.deepEqual(entries.map((entry) => marked(entry)?.parsed.__error__ ?? (marked(entry) ? 'passed' : 'dropped')), ['LabelFilterErr', 'passed', 'LabelFilterErr', 'LabelFilterErr']);
    assert.match(marked(entries[0])?.parsed.__error_details__ ?? '', /latency="abc" is not a duration/);
    assert.deepEqual(passing([logfmt(), where(compared('latency', '>', 1)), noError], entries), ['latency=1.5', 'latency=10']);
    assert.equal(only([json, where(compared('pod', '>', 1))], app('not json')).parsed.__error__, 'JSONParserErr', 'the first error stays');
  });
});

describe('drop and keep', () => {
  const [notFound] = accessEntries.filter((entry) => entry.metadata.status === '404');

  it('drop removes labels from stream, metadata and parsed alike, and a matcher drops only a matching value', () => {
    const entry = { ...notFound, line: '{"method":"x","trace":"t"}' };
    const before = structuredClone(entry);
    const result = only([json, { kind: 'drop', labels: [{ name: 'pod' }, { name: 'user_agent' }, { name: 'trace' }, { name: 'level', matcher: { op: '=', value: 'debug' } }] }], entry);
    assert.deepEqual(Object.keys(result.stream), ['namespace', 'container', 'source', 'level']);
    assert.equal(result.metadata.user_agent, undefined);
    assert.deepEqual({ ...result.parsed }, { method_extracted: 'x' });
    assert.deepEqual(entry, before, 'the entry is not changed');
    assert.equal(only([{ kind: 'drop', labels: [{ name: 'level', matcher: { op: '=~', value: 'warn|error' } }] }], notFound).stream.level, undefined);
  });

  it('drop __error__ and __error_details__ clear the marks, as Grafana\'s volume query does', () => {
    const parsed = only([json, { kind: 'drop', labels: [{ name: '__error__' }, { name: '__error_details__' }] }], app('plain')).parsed;
    assert.deepEqual({ ...parsed }, {});
    const kept = only([json, { kind: 'drop', labels: [{ name: '__error__', matcher: { op: '=', value: 'LabelFilterErr' } }] }], app('plain')).parsed;
    assert.equal(kept.__error__, 'JSONParserErr');
  });

  it('keep leaves only the named labels (with a matcher, only a matching value), never the error marks', () => {
    const result = only([json, { kind: 'keep', labels: [{ name: 'status' }, { name: 'namespace' }, { name: 'level', matcher: { op: '=', value: 'error' } }] }], notFound);
    assert.deepEqual([{ ...result.stream }, { ...result.metadata }, { ...result.parsed }], [{ namespace: 'shop' }, { status: '404' }, { __error__: 'JSONParserErr', __error_details__: 'the line is not a JSON object' }]);
  });
});

describe('| line_format', () => {
  const format = (template: string): Stage => ({ kind: 'lineFormat', template });

  it('fills labels in, looked up as label filters look them up, and pipes them through the functions', () => {
    assert.deepEqual(passing([format('{{.method}} {{ .path }} -> {{.status}} ({{.level}})')], accessEntries.slice(0, 2)), ['GET / -> 200 (info)', 'GET /?q=shoes&page=2 -> 200 (info)']);
    const entry = app('{"msg":"  Payment failed ","user":"Ann"}');
    const line = (template: string) => only([json, format(template)], entry).line;
    assert.equal(line('{{ .msg | TrimSpace | ToUpper }}|{{ ToLower .user }}'), 'PAYMENT FAILED|ann');
    assert.equal(line('{{ .missing | default "n/a" }} {{ default "-" .user }} [{{.missing}}]'), 'n/a Ann []');
    assert.equal(line('<{{ __line__ }}>'), `<${entry.line}>`);
    assert.equal(line('a  {{- .user -}}  b'), 'aAnnb');
  });

  it('gives later line filters the new line', () => {
    assert.equal(passing([format('{{.status}}'), lineFilter('|=', '50')], accessEntries).length, 2);
  });

  it('copies a label that looks like a template as text', () => {
    assert.equal(only([json, format('{{.msg}}')], app('{"msg":"{{.secret}} {{ __line__ }}","secret":"s"}')).line, '{{.secret}} {{ __line__ }}');
  });

  const refused = ['{{ .a | printf "%s" }}', '{{ .a.b }}', '{{ __timestamp__ }}', '{{ if .a }}x{{ end }}', '{{ .a', '{{ ToUpper }}', '{{ .a "x" }}', '{{/* c */}}', '{{ . }}', '{{}}'];
  for (const template of refused) {
    it(`refuses ${template}, saying what it runs`, () => {
      const compiled = compileLineFormat(template);
      assert.equal(typeof compiled, 'string');
      assert.match(compiled as string, /^line_format template is not supported: .+; write \{\{\.label\}\}/);
    });
  }
});
