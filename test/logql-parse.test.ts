import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parser } from '@grafana/lezer-logql';
import { LogqlError, Query, parseLogql } from '@daylog/loki';

/** What Grafana generates by itself, and what people type (../shared/LOKI-QUERY-API.md §2.1, §2.4): all read. */
const READ: string[] = [
  'vector(1)+vector(1)',
  'sum by (level, detected_level) (count_over_time({namespace="shop"} | drop __error__[1m]))',
  'sum by (level) (count_over_time({namespace="shop"}[5m]))',
  '{namespace="shop",pod="api-1",container="app",source="stdout",level="error"} | json',
  '{namespace="shop",pod="api-1"} | logfmt --strict | status=`502`',
  '{pod="web-1"} |= `timeout`',
  '{pod="web-1"} != `healthz`',
  '{pod="web-1"} | status!=`200`',
  '{pod="web-1"} | status > 499',
  '{pod="web-1"} | __error__=``',
  '{pod="web-1"} |= ``',
  '{pod=~"web-1|web-2|api\\\\.v2"} |~ "(?i)error"',
  '{pod="web-1"} |= "a" or "b" != "c" # a comment',
  '{pod="web-1"} | json | line_format "{{.msg}}"',
  '{pod="web-1"} | logfmt | duration > 1s and size <= 10KB or status >= 500',
  '{pod="web-1"} | json | drop __error__, __error_details__ | keep pod, level',
  'topk(10, sum by (pod) (rate({namespace="shop"}[5m])))',
  'sum(rate({pod="web-1"} |= "error" [5m])) / sum(rate({pod="web-1"}[5m]))',
  'sum(count_over_time({pod="web-1"}[1m] offset 1h)) without (pod)',
  'bottomk(3, avg by (container) (bytes_rate({namespace="shop"}[10m])))',
  'max(bytes_over_time({pod="web-1"}[1h])) * 2 ^ 3 % 7 - 1',
  '{k8s_pod_name="web-1", detected_level="error"}',
];

/** Valid LogQL Daylog does not evaluate: a 400 that names the part, never another error. */
const REFUSED: [string, RegExp][] = [
  ['{pod="web-1"} | pattern "<ip> - <_>"', /col 17: \| pattern is not supported/],
  ['{pod="web-1"} | regexp "(?P<ip>\\\\S+)"', /\| regexp is not supported/],
  ['{pod="web-1"} | unpack', /\| unpack is not supported/],
  ['{pod="web-1"} | label_format level=lvl', /is not supported/],
  ['{pod="web-1"} |> "<_> error <_>"', /the line filter \|> is not supported/],
  ['sum(avg_over_time({pod="web-1"} | json | unwrap took [5m]))', /is not supported/],
  ['count_over_time({pod="web-1"}[1m]) > 10', /the operator > is not supported/],
  ['sum by (pod) (count_over_time({pod="web-1"}[1m])) / on (pod) sum(count_over_time({pod="web-1"}[1m]))', /on \(pod\) is not supported/],
  ['{pod="web-1"} | json name="user.name"', /extraction expressions is not supported/],
  ['{pod=~".*"}', /at least one regexp or equality matcher that does not have an empty-compatible value/],
  ['{pod="web-1"} |~ "a\\\\z"', /col 18: /],
  ['{pod="web-1"} | line_format "{{ .a | printf }}"', /col 29: /],
  ['{pod="web-1"', /col 13: syntax error/],
  ['topk(count_over_time({pod="a"}[1m]))', /topk needs a number of series first/],
];

function lezerErrors(query: string): number {
  let errors = 0;
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) errors++;
    },
  });
  return errors;
}

describe('LogQL as Daylog reads it', () => {
  for (const query of READ) {
    it(`reads ${query}`, () => {
      assert.equal(lezerErrors(query), 0, 'Grafana\'s grammar reads it');
      const parsed: Query = parseLogql(query);
      assert.ok(parsed.kind === 'log' || parsed.kind === 'metric');
    });
  }

  for (const [query, message] of REFUSED) {
    it(`refuses ${query} with a parse error naming the part`, () => {
      assert.throws(() => parseLogql(query), (error: unknown) => error instanceof LogqlError && /^parse error at line 1, col \d+: /.test(error.message) && message.test(error.message));
    });
  }

  it("reads Grafana's volume query into a count by level over Daylog's syntax tree", () => {
    assert.deepEqual(parseLogql('sum by (level, detected_level) (count_over_time({namespace="shop"} | drop __error__[1m]))'), {
      kind: 'metric',
      expr: {
        kind: 'aggregate',
        op: 'sum',
        param: null,
        grouping: { without: false, labels: ['level', 'detected_level'] },
        inner: {
          kind: 'range',
          fn: 'count_over_time',
          selection: { matchers: [{ name: 'namespace', op: '=', value: 'shop' }], stages: [{ kind: 'drop', labels: [{ name: '__error__' }] }] },
          rangeMs: 60_000,
          offsetMs: 0,
        },
      },
    });
  });

  it("reads Go's escapes in double quotes and backticks as they are", () => {
    const query = parseLogql('{pod="a\\"b\\\\c\\u00e9\\x41"} |= `\\n stays`');
    assert.deepEqual(query, {
      kind: 'log',
      selection: { matchers: [{ name: 'pod', op: '=', value: 'a"b\\céA' }], stages: [{ kind: 'lineFilter', op: '|=', values: ['\\n stays'] }] },
    });
  });

  it('never throws anything but a parse error, whatever the text', () => {
    const pieces = ['{', '}', 'pod', '=', '"x"', '|=', '|', 'json', 'sum', '(', ')', '[1m]', 'by', ',', 'count_over_time', '`', '"', '\\', '#', '1', '+', 'offset', 'topk'];
    let state = 11;
    for (let round = 0; round < 3000; round++) {
      let text = '';
      for (let n = 0; n < 1 + (round % 14); n++) {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        text += pieces[state % pieces.length];
      }
      try {
        parseLogql(text);
      } catch (error) {
        assert.ok(error instanceof LogqlError, `${JSON.stringify(text)}: ${String(error)}`);
      }
    }
  });
});
