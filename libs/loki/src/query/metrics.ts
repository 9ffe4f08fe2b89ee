import { AggregationOp, ArithmeticOp, Grouping, LogSelection, MetricExpr, RangeFunction } from '../logql/ast';
import { SelectedLine } from './selected-lines';
import { streamLabelOf } from './streams';

/** The times a metric query is evaluated at: `count` points, `stepMs` apart from `startMs`. */
export interface Grid {
  startMs: number;
  stepMs: number;
  count: number;
}

/** A series: its labels, and its value at each point of the grid (undefined: no sample there, as Loki leaves it). */
export interface Series {
  labels: Record<string, string>;
  points: (number | undefined)[];
}

export type MetricValue = { kind: 'scalar'; points: number[] } | { kind: 'vector'; series: Series[] };

/** Lines of one stream (its labels, the level among them) in the bucket starting at `startMs`. */
export interface StreamCount {
  labels: Record<string, string>;
  /** labelsKey(labels), made once per stream rather than once per bucket. */
  key: string;
  startMs: number;
  lines: number;
}

/** Where a metric query's lines come from. */
export interface MetricSource {
  /** Every selected line of a selection in [fromMs, toMs), oldest first. */
  lines(selection: LogSelection, fromMs: number, toMs: number, visit: (line: SelectedLine) => void): Promise<void>;
  /**
   * Lines per stream in buckets of `bucketMs` from the epoch (a whole number of minutes) over [fromMs, toMs), when the
   * selection's pipeline changes nothing about which lines count or their stream's labels; null when it may.
   */
  counts(selection: LogSelection, fromMs: number, toMs: number, bucketMs: number): Promise<StreamCount[] | null>;
}

const MINUTE_MS = 60_000;

const utf8 = new TextEncoder();

/**
 * The labels of the series a selected line counts in: its stream's and parsed labels, and the metadata a grouping
 * names; not under a name of a stream label's (`detected_level`, `k8s_pod_name`): that is the stream label's.
 */
function seriesLabels(line: SelectedLine, grouped: ReadonlySet<string>): Record<string, string> {
  const { stream, parsed, metadata } = line.result;
  const labels: Record<string, string> = { ...stream, ...parsed };
  for (const name of grouped) {
    if (metadata[name] !== undefined && labels[name] === undefined && streamLabelOf(name) === undefined) labels[name] = metadata[name];
  }
  return labels;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Evaluates a metric expression on the grid, reading lines through `source`. */
export async function evaluateMetric(expr: MetricExpr, grid: Grid, source: MetricSource, grouped: ReadonlySet<string> = new Set()): Promise<MetricValue> {
  switch (expr.kind) {
    case 'scalar':
      return { kind: 'scalar', points: Array<number>(grid.count).fill(expr.value) };
    case 'vector':
      return { kind: 'vector', series: [{ labels: {}, points: Array<number>(grid.count).fill(expr.value) }] };
    case 'range':
      return { kind: 'vector', series: await rangeSeries(expr, grid, source, grouped) };
    case 'aggregate': {
      const names = expr.grouping && !expr.grouping.without ? expr.grouping.labels : [];
      const inner = await evaluateMetric(expr.inner, grid, source, new Set([...grouped, ...names]));
      if (inner.kind === 'scalar') throw new MetricError(`${expr.op} takes series, not a number`);
      return { kind: 'vector', series: aggregate(expr.op, expr.param, expr.grouping, inner.series, grid.count) };
    }
    case 'binary': {
      const [left, right] = await Promise.all([evaluateMetric(expr.left, grid, source, grouped), evaluateMetric(expr.right, grid, source, grouped)]);
      return binary(expr.op, left, right);
    }
  }
}

/** A metric query Daylog cannot evaluate as asked: a 400 naming why. */
export class MetricError extends Error {}

/** Each point at t holds what the function makes of the lines in (t − offset − range, t − offset]. */
async function rangeSeries(expr: Extract<MetricExpr, { kind: 'range' }>, grid: Grid, source: MetricSource, grouped: ReadonlySet<string>): Promise<Series[]> {
  const { rangeMs, offsetMs, fn } = expr;
  const lastMs = grid.startMs + (grid.count - 1) * grid.stepMs;
  // Changes at the first point a line counts in and after the last: one pass over the lines whatever the range.
  const changes = new Map<string, { labels: Record<string, string>; lines: Float64Array; bytes: Float64Array }>();
  const add = (labels: Record<string, string>, key: string, ts: number, lines: number, bytes: number): void => {
    const at = ts + offsetMs;
    const first = Math.max(0, Math.ceil((at - grid.startMs) / grid.stepMs));
    const last = Math.min(grid.count - 1, Math.floor((at + rangeMs - 1 - grid.startMs) / grid.stepMs));
    if (first > last) return;
    let series = changes.get(key);
    if (!series) {
      series = { labels, lines: new Float64Array(grid.count + 1), bytes: new Float64Array(grid.count + 1) };
      changes.set(key, series);
    }
    series.lines[first] += lines;
    series.lines[last + 1] -= lines;
    series.bytes[first] += bytes;
    series.bytes[last + 1] -= bytes;
  };
  const fromMs = grid.startMs - offsetMs - rangeMs + 1;
  const toMs = lastMs - offsetMs + 1;
  // Windows of whole buckets of whole minutes, counted by stream: the per-minute totals answer, not the lines.
  const bucketMs = gcd(rangeMs, grid.stepMs);
  const byCounts =
    (fn === 'count_over_time' || fn === 'rate') &&
    bucketMs % MINUTE_MS === 0 &&
    offsetMs % bucketMs === 0 &&
    (grid.startMs + 1) % bucketMs === 0 &&
    [...grouped].every((name) => streamLabelOf(name) !== undefined);
  const counts = byCounts ? await source.counts(expr.selection, fromMs, toMs, bucketMs) : null;
  if (counts) {
    for (const count of counts) add(count.labels, count.key, count.startMs, count.lines, 0);
  } else {
    const sized = fn === 'bytes_over_time' || fn === 'bytes_rate';
    await source.lines(expr.selection, fromMs, toMs, (line) => {
      const labels = seriesLabels(line, grouped);
      add(labels, labelsKey(labels), line.stored.ts, 1, sized ? utf8.encode(line.result.line).length : 0);
    });
  }
  const seconds = rangeMs / 1000;
  return [...changes.values()].map(({ labels, lines, bytes }) => {
    const points: (number | undefined)[] = [];
    let count = 0;
    let size = 0;
    for (let k = 0; k < grid.count; k++) {
      count += lines[k];
      size += bytes[k];
      points.push(count === 0 ? undefined : valueOf(fn, count, size, seconds));
    }
    return { labels, points };
  });
}

function valueOf(fn: RangeFunction, count: number, bytes: number, seconds: number): number {
  switch (fn) {
    case 'count_over_time':
      return count;
    case 'rate':
      return count / seconds;
    case 'bytes_over_time':
      return bytes;
    case 'bytes_rate':
      return bytes / seconds;
  }
}

function groupLabels(labels: Record<string, string>, grouping: Grouping | null): Record<string, string> {
  if (!grouping) return {};
  if (grouping.without) return Object.fromEntries(Object.entries(labels).filter(([name]) => !grouping.labels.includes(name)));
  return Object.fromEntries(grouping.labels.filter((name) => labels[name] !== undefined && labels[name] !== '').map((name) => [name, labels[name]]));
}

function aggregate(op: AggregationOp, param: number | null, grouping: Grouping | null, series: Series[], count: number): Series[] {
  const groups = new Map<string, { labels: Record<string, string>; members: Series[] }>();
  for (const one of series) {
    const labels = groupLabels(one.labels, grouping);
    const key = labelsKey(labels);
    const group = groups.get(key) ?? { labels, members: [] };
    group.members.push(one);
    groups.set(key, group);
  }
  if (op === 'topk' || op === 'bottomk') return [...groups.values()].flatMap(({ members }) => ranked(op, param!, members, count));
  return [...groups.values()].map(({ labels, members }) => {
    const points: (number | undefined)[] = [];
    for (let k = 0; k < count; k++) {
      let samples = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const member of members) {
        const value = member.points[k];
        if (value === undefined) continue;
        samples++;
        sum += value;
        if (value < min) min = value;
        if (value > max) max = value;
      }
      points.push(samples === 0 ? undefined : combine(op, { samples, sum, min, max }));
    }
    return { labels, points };
  });
}

function combine(op: Exclude<AggregationOp, 'topk' | 'bottomk'>, { samples, sum, min, max }: { samples: number; sum: number; min: number; max: number }): number {
  switch (op) {
    case 'sum':
      return sum;
    case 'count':
      return samples;
    case 'avg':
      return sum / samples;
    case 'min':
      return min;
    case 'max':
      return max;
  }
}

/** topk and bottomk: at each point, the k series with the largest (smallest) values keep theirs; the others have none there. */
function ranked(op: 'topk' | 'bottomk', k: number, members: Series[], count: number): Series[] {
  const kept = members.map((m) => ({ labels: m.labels, points: Array<number | undefined>(count).fill(undefined) }));
  for (let at = 0; at < count; at++) {
    const order = members
      .map((m, i) => ({ i, value: m.points[at] }))
      .filter((entry): entry is { i: number; value: number } => entry.value !== undefined)
      .sort((a, b) => (op === 'topk' ? b.value - a.value : a.value - b.value));
    for (const { i, value } of order.slice(0, k)) kept[i].points[at] = value;
  }
  return kept.filter((s) => s.points.some((v) => v !== undefined));
}

function apply(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
  }
}

/** Numbers with numbers, series with a number, and series with series of the same labels (Prometheus' one-to-one matching). */
function binary(op: ArithmeticOp, left: MetricValue, right: MetricValue): MetricValue {
  if (left.kind === 'scalar' && right.kind === 'scalar') return { kind: 'scalar', points: left.points.map((a, k) => apply(op, a, right.points[k])) };
  if (left.kind === 'vector' && right.kind === 'scalar') {
    return { kind: 'vector', series: left.series.map((s) => ({ labels: s.labels, points: s.points.map((a, k) => (a === undefined ? a : apply(op, a, right.points[k]))) })) };
  }
  if (left.kind === 'scalar' && right.kind === 'vector') {
    return { kind: 'vector', series: right.series.map((s) => ({ labels: s.labels, points: s.points.map((b, k) => (b === undefined ? b : apply(op, left.points[k], b))) })) };
  }
  const rightByLabels = new Map((right as { series: Series[] }).series.map((s) => [labelsKey(s.labels), s]));
  const series: Series[] = [];
  for (const s of (left as { series: Series[] }).series) {
    const other = rightByLabels.get(labelsKey(s.labels));
    if (!other) continue;
    const points = s.points.map((a, k) => (a === undefined || other.points[k] === undefined ? undefined : apply(op, a, other.points[k])));
    if (points.some((v) => v !== undefined)) series.push({ labels: s.labels, points });
  }
  return { kind: 'vector', series };
}
