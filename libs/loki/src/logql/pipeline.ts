import type { LabelListStage, LabelPredicate, LineFilterStage, MatchOp, ParserStage, Stage } from './ast';
import { readJsonObject } from './json-fields';
import { bytesOf, durationNanosecondsOf, numberOf } from './label-values';
import { compileLineFormat } from './line-format';
import { readLogfmt } from './logfmt-fields';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, sanitizedName } from './parsed-names';
import { logqlRegex } from './regex';

export interface PipelineEntry {
  line: string;
  /** The indexed labels: namespace, pod, container, source, level. */
  stream: Record<string, string>;
  /** Structured metadata: the line's fields, as text. */
  metadata: Record<string, string>;
}

/**
 * A line after the pipeline. `parsed` holds what `| json` and `| logfmt` found, and `__error__` /
 * `__error_details__` when a stage failed; it has no prototype, as a line's key may be `__proto__`.
 * `stream` and `metadata` are the entry's own records unless `drop` or `keep` changed them (then copies).
 */
export interface PipelineResult {
  line: string;
  stream: Record<string, string>;
  metadata: Record<string, string>;
  parsed: Record<string, string>;
}

/** One line on its way through the stages; stream and metadata are copied only when a stage changes them. */
interface LineState {
  line: string;
  stream: Record<string, string>;
  metadata: Record<string, string>;
  parsed: Record<string, string>;
  error: string;
  errorDetails: string;
}

/** A stage on one line: false drops it. */
type Step = (state: LineState) => boolean;

/**
 * The stages of a log query compiled once, to run on every line: the result, or null when a stage drops
 * the line. The parser refuses what cannot be compiled (logqlRegex, compileLineFormat) before this is
 * called; a refused regex or template that reaches it throws.
 */
export function compilePipeline(stages: readonly Stage[]): (entry: PipelineEntry) => PipelineResult | null {
  const steps = stages.map(compileStage);
  return (entry) => {
    const state: LineState = { ...entry, parsed: Object.create(null) as Record<string, string>, error: '', errorDetails: '' };
    for (const step of steps) if (!step(state)) return null;
    const parsed = state.parsed;
    if (state.error) parsed[ERROR_LABEL] = state.error;
    if (state.errorDetails) parsed[ERROR_DETAILS_LABEL] = state.errorDetails;
    return { line: state.line, stream: state.stream, metadata: state.metadata, parsed };
  };
}

function compileStage(stage: Stage): Step {
  switch (stage.kind) {
    case 'lineFilter':
      return lineFilter(stage);
    case 'parser':
      return parser(stage);
    case 'labelFilter':
      return predicate(stage.predicate);
    case 'drop':
    case 'keep':
      return labelList(stage);
    case 'lineFormat': {
      const template = compileLineFormat(stage.template);
      if (typeof template === 'string') throw new Error(template);
      return (state) => {
        state.line = template((name) => labelValue(state, name) ?? '', state.line);
        return true;
      };
    }
  }
}

function accepted(regex: RegExp | string): RegExp {
  if (typeof regex === 'string') throw new Error(regex);
  return regex;
}

/** `|= "a" or "b"` passes when either is in the line; `!= "a" or "b"` when neither is. */
function lineFilter(stage: LineFilterStage): Step {
  const regexes = stage.op === '|~' || stage.op === '!~' ? stage.values.map((value) => accepted(logqlRegex(value, false))) : [];
  const found =
    regexes.length > 0 ? (line: string) => regexes.some((regex) => regex.test(line)) : (line: string) => stage.values.some((value) => line.includes(value));
  const wanted = stage.op === '|=' || stage.op === '|~';
  return (state) => found(state.line) === wanted;
}

/**
 * A label as a filter reads it: parsed, then structured metadata, then stream (Loki's order of precedence);
 * undefined when the line has no such label (a stream label's empty value counts as none, as in Loki).
 */
function labelValue(state: LineState, name: string): string | undefined {
  if (name === ERROR_LABEL) return state.error || undefined;
  if (name === ERROR_DETAILS_LABEL) return state.errorDetails || undefined;
  if (Object.hasOwn(state.parsed, name)) return state.parsed[name];
  if (Object.hasOwn(state.metadata, name)) return state.metadata[name];
  return Object.hasOwn(state.stream, name) && state.stream[name] !== '' ? state.stream[name] : undefined;
}

function parser(stage: ParserStage): Step {
  return (state) => {
    // Loki keeps the first value a key gets on a line, from this parser or an earlier one; a key that is
    // a stream label or structured metadata already is kept apart as <key>_extracted.
    const keep = (name: string, value: string) => {
      const key = Object.hasOwn(state.stream, name) || Object.hasOwn(state.metadata, name) ? `${name}_extracted` : name;
      if (key === ERROR_LABEL || key === ERROR_DETAILS_LABEL || Object.hasOwn(state.parsed, key)) return;
      state.parsed[key] = value;
    };
    const fault =
      stage.parser === 'json'
        ? readJsonObject(state.line, keep)
        : readLogfmt(state.line, stage.strict, (key, value) => {
            const name = sanitizedName(key);
            if (name.length > 0 && (value !== '' || stage.keepEmpty)) keep(name, value);
          });
    if (fault !== undefined && (stage.parser === 'json' || stage.strict)) {
      state.error = stage.parser === 'json' ? 'JSONParserErr' : 'LogfmtParserErr';
      state.errorDetails = fault;
    }
    return true;
  };
}

/** How a matcher (`=`, `!=`, `=~`, `!~`) tests a whole value. */
function valueMatcher(op: MatchOp, value: string): (text: string) => boolean {
  if (op === '=') return (text) => text === value;
  if (op === '!=') return (text) => text !== value;
  const regex = accepted(logqlRegex(value, true));
  return op === '=~' ? (text) => regex.test(text) : (text) => !regex.test(text);
}

const COMPARISONS = {
  '==': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
} as const;

/** Each unit's reading of a label, and the filter's value in the same measure (durations in whole nanoseconds). */
const UNITS = {
  number: { read: numberOf, measure: (value: number) => value, what: 'a number' },
  duration: { read: durationNanosecondsOf, measure: (value: number) => Math.round(value * 1e9), what: 'a duration such as 150ms or 1h30m' },
  bytes: { read: bytesOf, measure: (value: number) => value, what: 'a size such as 512B or 10KB' },
} as const;

function predicate(p: LabelPredicate): Step {
  switch (p.kind) {
    case 'string': {
      const matches = valueMatcher(p.op, p.value);
      return (state) => matches(labelValue(state, p.name) ?? '');
    }
    case 'number': {
      const unit = UNITS[p.unit];
      const compare = COMPARISONS[p.op];
      const wanted = unit.measure(p.value);
      // Loki's documentation: only a string filter reads __error__; `| __error__ > 0` matches no line.
      const marks = p.name === ERROR_LABEL || p.name === ERROR_DETAILS_LABEL;
      return (state) => {
        // As Loki: a line without the label does not pass; one whose label is not a number passes, marked.
        const text = marks ? undefined : labelValue(state, p.name);
        if (text === undefined) return false;
        const value = unit.read(text);
        if (value === undefined) {
          if (!state.error) {
            state.error = 'LabelFilterErr';
            state.errorDetails = `${p.name}=${JSON.stringify(text)} is not ${unit.what}`;
          }
          return true;
        }
        return compare(value, wanted);
      };
    }
    case 'and': {
      const left = predicate(p.left);
      const right = predicate(p.right);
      return (state) => left(state) && right(state);
    }
    case 'or': {
      const left = predicate(p.left);
      const right = predicate(p.right);
      return (state) => left(state) || right(state);
    }
  }
}

/** `drop` and `keep`, over stream labels, structured metadata and parsed labels alike. */
function labelList(stage: LabelListStage): Step {
  const items = stage.labels.map(({ name, matcher }) => ({ name, matches: matcher ? valueMatcher(matcher.op, matcher.value) : () => true }));
  if (stage.kind === 'drop') {
    return (state) => {
      for (const item of items) {
        if (!item.matches(labelValue(state, item.name) ?? '')) continue;
        if (item.name === ERROR_LABEL) state.error = '';
        else if (item.name === ERROR_DETAILS_LABEL) state.errorDetails = '';
        else removeLabel(state, (name) => name === item.name);
      }
      return true;
    };
  }
  if (items.length === 0) return () => true;
  // Loki's keep never removes __error__ and __error_details__, which are not in these records until the end.
  return (state) => {
    removeLabel(state, (name, value) => !items.some((item) => item.name === name && item.matches(value)));
    return true;
  };
}

function removeLabel(state: LineState, remove: (name: string, value: string) => boolean): void {
  for (const record of ['stream', 'metadata', 'parsed'] as const) {
    const labels = state[record];
    const removed = Object.keys(labels).filter((name) => remove(name, labels[name]));
    if (removed.length === 0) continue;
    // The entry's records are the caller's: changed as copies (a spread keeps a `__proto__` key as a key).
    const copy = record === 'parsed' ? labels : { ...labels };
    for (const name of removed) delete copy[name];
    state[record] = copy;
  }
}
