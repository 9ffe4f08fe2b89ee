/**
 * The LogQL Daylog answers, as parse.ts reads it from Loki's grammar: what Grafana generates and people type
 * (docs/API.md, "Loki's query API"). Anything else is refused where it is parsed, naming the part.
 */

/** How a stream selector or a string label filter compares: equal, not equal, the whole value matches, does not. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** Holds the text (case-sensitive), does not, a regular expression matches somewhere in it, does not. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~';

/** `|= "a" or "b"`: the line passes when any alternative does (for `!=` and `!~`: when none of them is found). */
export interface LineFilterStage {
  kind: 'lineFilter';
  op: LineFilterOp;
  values: string[];
}

/** `| json` and `| logfmt`: the line's keys become parsed labels. */
export interface ParserStage {
  kind: 'parser';
  parser: 'json' | 'logfmt';
  /** logfmt --strict: a line that is not logfmt is an error, not parsed as far as it goes. */
  strict: boolean;
  /** logfmt --keep-empty: keys without a value are kept, as empty labels. */
  keepEmpty: boolean;
}

export type ComparisonOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

/** How a number in a label filter reads the label it compares: `status >= 500`, `duration > 1s`, `size < 10KB`. */
export type NumberUnit = 'number' | 'duration' | 'bytes';

export type LabelPredicate =
  | { kind: 'string'; name: string; op: MatchOp; value: string }
  /** `value` in the unit's base: seconds for durations, bytes for sizes. */
  | { kind: 'number'; name: string; op: ComparisonOp; value: number; unit: NumberUnit }
  | { kind: 'and' | 'or'; left: LabelPredicate; right: LabelPredicate };

export interface LabelFilterStage {
  kind: 'labelFilter';
  predicate: LabelPredicate;
}

/** `drop a, b="x"` / `keep a, b`: a label with a matcher is dropped (or kept) only when its value matches. */
export interface LabelListStage {
  kind: 'drop' | 'keep';
  labels: { name: string; matcher?: { op: MatchOp; value: string } }[];
}

/** `| line_format "{{.status}} {{.path}}"`: the line becomes the template with the labels filled in. */
export interface LineFormatStage {
  kind: 'lineFormat';
  template: string;
}

export type Stage = LineFilterStage | ParserStage | LabelFilterStage | LabelListStage | LineFormatStage;

/** A log query: the stream selector and the pipeline every line of the streams goes through, in order. */
export interface LogSelection {
  matchers: LabelMatcher[];
  stages: Stage[];
}

export type RangeFunction = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';

export type AggregationOp = 'sum' | 'count' | 'avg' | 'min' | 'max' | 'topk' | 'bottomk';

export interface Grouping {
  without: boolean;
  labels: string[];
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';

export type MetricExpr =
  /** `count_over_time({…} | … [5m])`: each point at t counts the lines in (t − range, t]. */
  | { kind: 'range'; fn: RangeFunction; selection: LogSelection; rangeMs: number; offsetMs: number }
  /** `sum by (level) (…)`, `topk(5, …)`; `param` is topk's and bottomk's k. */
  | { kind: 'aggregate'; op: AggregationOp; param: number | null; grouping: Grouping | null; inner: MetricExpr }
  | { kind: 'scalar'; value: number }
  /** `vector(1)`: one series without labels, the value at every point. */
  | { kind: 'vector'; value: number }
  | { kind: 'binary'; op: ArithmeticOp; left: MetricExpr; right: MetricExpr };

export type Query = { kind: 'log'; selection: LogSelection } | { kind: 'metric'; expr: MetricExpr };
