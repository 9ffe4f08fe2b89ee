import { Grid, MetricValue, Series, labelsKey } from './metrics';
import { SelectedLine } from './selected-lines';
import { nsText } from './loki-times';

/**
 * Loki's answers, as Grafana's parser reads them (docs/API.md): keys in Loki's order, for Grafana reads
 * `encodingFlags` only when it comes before `result`; times of lines as nanosecond strings, of points as seconds.
 */

type Stats = Record<string, never>;

/**
 * Whether a request asks for labels apart from streams (`X-Loki-Response-Encoding-Flags: categorize-labels`): Grafana
 * sends it, always in current versions; logcli and browsers never do.
 */
export function asksCategorizedLabels(header: string | string[] | undefined): boolean {
  return [header ?? []].flat().some((value) => value.split(',').some((flag) => flag.trim() === 'categorize-labels'));
}

interface Answer<T> {
  status: 'success';
  data: T;
  warnings?: string[];
}

function success<T>(data: T, warnings: string[]): Answer<T> {
  return warnings.length > 0 ? { status: 'success', data, warnings } : { status: 'success', data };
}

/** A point's value as Prometheus writes it: a string, `NaN` and `±Inf` spelt as Go parses them. */
export function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const seconds = (ms: number): number => ms / 1000;

interface StreamsData {
  resultType: 'streams';
  encodingFlags?: string[];
  result: { stream: Record<string, string>; values: unknown[][] }[];
  stats: Stats;
}

/**
 * Lines grouped in their streams, each stream's in the order given. With `categorize-labels` a stream is its
 * indexed labels and each value says its structured metadata and parsed labels apart; without, they are
 * folded into the stream's labels, as Loki does.
 */
export function streamsAnswer(lines: SelectedLine[], categorize: boolean, warnings: string[]): Answer<StreamsData> {
  const result = inStreams(lines, categorize);
  const data: StreamsData = categorize
    ? { resultType: 'streams', encodingFlags: ['categorize-labels'], result, stats: {} }
    : { resultType: 'streams', result, stats: {} };
  return success(data, warnings);
}

/** A line a live tail could not send in time (its reader was too slow), as Loki names it. */
export interface DroppedEntry {
  labels: Record<string, string>;
  timestamp: string;
}

/** One message of a live tail: the lines since the last, in their streams, and those dropped meanwhile. */
export function tailFrame(lines: SelectedLine[], categorize: boolean, dropped: DroppedEntry[]): string {
  const frame: { encodingFlags?: string[]; streams: StreamsData['result']; dropped_entries?: DroppedEntry[] } = categorize
    ? { encodingFlags: ['categorize-labels'], streams: inStreams(lines, categorize) }
    : { streams: inStreams(lines, categorize) };
  if (dropped.length > 0) frame.dropped_entries = dropped;
  return JSON.stringify(frame);
}

function inStreams(lines: SelectedLine[], categorize: boolean): StreamsData['result'] {
  const streams = new Map<string, { stream: Record<string, string>; values: unknown[][] }>();
  for (const { stored, result } of lines) {
    const stream = categorize ? result.stream : { ...result.stream, ...result.metadata, ...result.parsed };
    const key = labelsKey(stream);
    let entry = streams.get(key);
    if (!entry) {
      entry = { stream, values: [] };
      streams.set(key, entry);
    }
    const ts = nsText(stored.ts);
    if (!categorize) {
      entry.values.push([ts, result.line]);
      continue;
    }
    const labels: { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> } = {};
    if (Object.keys(result.metadata).length > 0) labels.structuredMetadata = result.metadata;
    if (Object.keys(result.parsed).length > 0) labels.parsed = result.parsed;
    entry.values.push([ts, result.line, labels]);
  }
  return [...streams.values()];
}

const bySeriesLabels = (a: Series, b: Series): number => {
  const [x, y] = [labelsKey(a.labels), labelsKey(b.labels)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** A range query's points: each series with the points it has a sample at; a number alone is Loki's one series without labels. */
export function matrixAnswer(value: MetricValue, grid: Grid) {
  const series = value.kind === 'scalar' ? [{ labels: {}, points: value.points }] : [...value.series].sort(bySeriesLabels);
  const result = series
    .map((s) => ({
      metric: s.labels,
      values: s.points.flatMap((v, k) => (v === undefined ? [] : [[seconds(grid.startMs + k * grid.stepMs), valueText(v)]])),
    }))
    .filter((s) => s.values.length > 0);
  return success({ resultType: 'matrix' as const, result, stats: {} }, []);
}

/** An instant query's answer at `atMs`: a vector of samples, or a scalar. */
export function instantAnswer(value: MetricValue, atMs: number) {
  if (value.kind === 'scalar') return success({ resultType: 'scalar' as const, result: [seconds(atMs), valueText(value.points[0])], stats: {} }, []);
  const result = [...value.series]
    .sort(bySeriesLabels)
    .filter((s) => s.points[0] !== undefined)
    .map((s) => ({ metric: s.labels, value: [seconds(atMs), valueText(s.points[0]!)] }));
  return success({ resultType: 'vector' as const, result, stats: {} }, []);
}

/** `labels`, `label/…/values` and `series`: the data alone. */
export function listAnswer<T>(data: T[]): Answer<T[]> {
  return success(data, []);
}
