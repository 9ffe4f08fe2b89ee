import { LABEL_NAMES, LEVELS, Level, LabelName, LogLine } from '@daylog/log-model';
import { LabelPatterns, LineFilter } from '@daylog/storage';
import { LabelMatcher, LogSelection } from '../logql/ast';
import { logqlRegex } from '../logql/regex';
import { LABEL_SOURCES, LEVEL_SOURCES, POD_FALLBACKS } from '../daylog-lines';

/** A stream's labels as Loki shows them: Daylog's four labels that are set, and the level. */
export type StreamLabels = Record<string, string>;

/** The label names a stream can have, in the order Loki's answers list them. */
export const STREAM_LABEL_NAMES = [...LABEL_NAMES, 'level'] as const;
export type StreamLabelName = (typeof STREAM_LABEL_NAMES)[number];

/**
 * The names a query may call Daylog's labels by: the labels the push side reads them from (`k8s_pod_name`,
 * `service_name`, `detected_level`, …), so that a query written for what a shipper sent finds it.
 */
const ALIASES: ReadonlyMap<string, StreamLabelName> = new Map<string, StreamLabelName>([
  ...LABEL_NAMES.flatMap((name) => LABEL_SOURCES[name].map((alias): [string, StreamLabelName] => [alias, name])),
  ...POD_FALLBACKS.map((alias): [string, StreamLabelName] => [alias, 'pod']),
  ...LEVEL_SOURCES.map((alias): [string, StreamLabelName] => [alias, 'level']),
]);

/** The Daylog label a selector's name stands for; undefined for a label no Daylog stream has (its value is ""). */
export function streamLabelOf(name: string): StreamLabelName | undefined {
  return (STREAM_LABEL_NAMES as readonly string[]).includes(name) ? (name as StreamLabelName) : ALIASES.get(name);
}

export function streamLabels(line: Pick<LogLine, LabelName | 'level'>): StreamLabels {
  const labels: StreamLabels = {};
  for (const name of LABEL_NAMES) {
    const value = line[name];
    if (value !== null && value !== '') labels[name] = value;
  }
  labels.level = line.level;
  return labels;
}

/** A line's fields as Loki's structured metadata: strings, under names Prometheus allows. */
export function structuredMetadata(line: Pick<LogLine, 'fields'>): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (!line.fields) return metadata;
  for (const [name, value] of Object.entries(line.fields)) metadata[labelName(name)] = String(value);
  return metadata;
}

/** A name as Prometheus allows label names: [a-zA-Z_][a-zA-Z0-9_]*. */
export function labelName(name: string): string {
  const sane = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(sane) || sane === '' ? `_${sane}` : sane;
}

/** A selector's matcher as a test of one value ("" when the stream has no such label). */
function valueTest(matcher: LabelMatcher): (value: string) => boolean {
  if (matcher.op === '=') return (value) => value === matcher.value;
  if (matcher.op === '!=') return (value) => value !== matcher.value;
  const regex = logqlRegex(matcher.value, true);
  if (typeof regex === 'string') throw new Error(regex);
  return matcher.op === '=~' ? (value) => regex.test(value) : (value) => !regex.test(value);
}

/** What a selection asks of storage (a superset of its lines), and the exact test of a stream's labels. */
export interface StreamSelection {
  /** Lines of the label sets and levels the selector may admit, in the range; the pipeline decides the rest. */
  filter: LineFilter;
  /** The selector's exact answer for a stream, within the asker's namespaces. */
  admits: (labels: StreamLabels) => boolean;
  /** Whether no stream can be admitted, whatever is stored (`{pod="a", pod="b"}`, or no level left). */
  empty: boolean;
}

/**
 * The selector of a selection as storage reads it: `=` on a Daylog label becomes its pattern (a value holding `*`,
 * which storage reads as a wildcard, is tested here instead), the level matchers the levels to read; every matcher
 * is also tested exactly, on each stream, by `admits`. A line filter `|=` narrows the read by its text, compared
 * without case: the pipeline tests the case.
 */
export function streamSelection(selection: LogSelection, fromMs: number, toMs: number, namespaces: string[] | undefined): StreamSelection {
  const tests = selection.matchers.map((matcher) => ({ label: streamLabelOf(matcher.name), test: valueTest(matcher) }));
  const labels: LabelPatterns = {};
  let empty = false;
  for (const [i, matcher] of selection.matchers.entries()) {
    const label = tests[i].label;
    if (label === undefined) {
      if (!tests[i].test('')) empty = true;
      continue;
    }
    if (label === 'level' || matcher.op !== '=' || matcher.value.includes('*')) continue;
    if (matcher.value === '') continue;
    const known = labels[label];
    if (known && !known.includes(matcher.value)) empty = true;
    labels[label] = [matcher.value];
  }
  const levelTests = tests.filter((t) => t.label === 'level').map((t) => t.test);
  const levels: Level[] = LEVELS.filter((level) => levelTests.every((test) => test(level)));
  if (levels.length === 0) empty = true;
  // Only filters that test the stored text: a line_format before a filter gives it other text to test.
  const reformatted = selection.stages.findIndex((stage) => stage.kind === 'lineFormat');
  const onStoredText = reformatted < 0 ? selection.stages : selection.stages.slice(0, reformatted);
  const contains = onStoredText.flatMap((stage) => (stage.kind === 'lineFilter' && stage.op === '|=' && stage.values.length === 1 ? stage.values : []));
  const byName = tests.filter((t) => t.label !== undefined) as { label: StreamLabelName; test: (value: string) => boolean }[];
  return {
    filter: {
      fromMs,
      toMs,
      labels,
      levels: levels.length === LEVELS.length ? null : levels,
      contains,
      excludes: [],
      ...(namespaces && { namespaces }),
    },
    // The asker's namespaces too: lines a live tail is handed have not been read through the filter.
    admits: (stream) => (!namespaces || namespaces.includes(stream.namespace ?? '')) && byName.every(({ label, test }) => test(stream[label] ?? '')),
    empty,
  };
}

/**
 * Whether a selection's lines are counted as storage counts them: its pipeline drops no line and changes no stream
 * label (no line filter, no parser; `drop` of labels no stream has, such as Grafana's `drop __error__`).
 */
export function countedAsStored(selection: LogSelection): boolean {
  return selection.stages.every((stage) => stage.kind === 'drop' && stage.labels.every((label) => streamLabelOf(label.name) === undefined));
}
