import { ACCEPTED_LEVEL_NAMES, Level, leadingLevel, normalizeLevel } from './levels';
import { MESSAGE_FORMATS, MessageFormat, MessageHeader, isMessageFormat, messageHeader } from './message-formats';
import { readTimestamp } from './timestamps';

export const LABEL_NAMES = ['namespace', 'pod', 'container', 'source'] as const;
export type LabelName = (typeof LABEL_NAMES)[number];
export type Labels = Partial<Record<LabelName, string>>;
export const MAX_LABEL_LENGTH = 253;

export type FieldValue = string | number | boolean;
export type Fields = Record<string, FieldValue>;

/** A line as stored and as returned by a query. */
export interface LogLine {
  ts: number;
  level: Level;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
  /** Fields sent with the line; when read back, also those derived from a message in a known format. */
  fields: Fields | null;
  format: MessageFormat | null;
}

/** Why a line was refused, in a word a metric can count by (the `reason` says it in a sentence). */
export const REJECTION_CAUSES = [
  'invalid_json',
  'invalid_line',
  'too_long',
  'invalid_timestamp',
  'too_old',
  'too_new',
  'invalid_level',
  'invalid_label',
  'forbidden_namespace',
  'too_many_label_sets',
] as const;
export type RejectionCause = (typeof REJECTION_CAUSES)[number];

export class LineProblem {
  constructor(
    readonly cause: RejectionCause,
    readonly reason: string,
  ) {}
}

export interface LineRejection {
  index: number;
  reason: string;
}

export interface IngestAnswer {
  accepted: number;
  rejected: LineRejection[];
  duplicate: boolean;
}

/** What a line falls back to when it does not say: the batch's labels over the query string's. */
export interface LineDefaults {
  labels: Labels;
  level?: Level;
  format?: MessageFormat;
}

export interface LineBounds {
  receivedTs: number;
  /** Lines older than this are past the retention. */
  oldestTs: number;
  newestTs: number;
  maxMessageBytes: number;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

export const OLDER_THAN_RETENTION = 'ts is older than the retention';

const LINE_KEYS = new Set(['ts', 'level', 'message', 'fields', 'format', ...LABEL_NAMES]);

/** A label value's problem, or undefined when it is fine. */
export function labelProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${name} must be a string`;
  if (value.length === 0) return `${name} must not be empty`;
  if (value.length > MAX_LABEL_LENGTH) return `${name} is longer than ${MAX_LABEL_LENGTH} characters`;
  if (CONTROL_CHARACTER.test(value)) return `${name} must not contain control characters`;
  return undefined;
}

/** Turns one wire line into a stored line, or says why it cannot be stored. */
export function validateLine(raw: unknown, defaults: LineDefaults, bounds: LineBounds): LogLine | LineProblem {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return new LineProblem('invalid_line', 'a line must be a JSON object with at least a message');
  }
  const line = raw as Record<string, unknown>;
  for (const key in line) {
    if (!LINE_KEYS.has(key)) {
      return new LineProblem('invalid_line', `unknown field "${key}"; put extra attributes in "fields"`);
    }
  }

  const message = line.message;
  if (typeof message !== 'string' || message.length === 0) return new LineProblem('invalid_line', 'message is required and must be a non-empty string');
  if (message.length * 3 > bounds.maxMessageBytes && Buffer.byteLength(message) > bounds.maxMessageBytes) {
    return new LineProblem('too_long', `message is longer than ${bounds.maxMessageBytes} bytes`);
  }

  const format = line.format ?? defaults.format ?? null;
  if (format !== null && !isMessageFormat(format)) return new LineProblem('invalid_line', `format must be one of ${MESSAGE_FORMATS.join(', ')}`);
  // A message in a known format gives the time and level the line leaves out; one that is not in
  // its format after all is read as plain text.
  const parsed: Partial<MessageHeader> | undefined =
    format !== null && (line.ts == null || line.level == null) ? (messageHeader(format, message) ?? { level: leadingLevel(message) }) : undefined;

  // A message's own time is epoch ms already: only a time the line gives is read by its digits.
  const tsMs = line.ts != null ? readTimestamp(line.ts) : (parsed?.ts ?? bounds.receivedTs);
  if (typeof tsMs === 'string') return new LineProblem('invalid_timestamp', `ts ${tsMs}`);
  if (tsMs < bounds.oldestTs) return new LineProblem('too_old', OLDER_THAN_RETENTION);
  if (tsMs > bounds.newestTs) return new LineProblem('too_new', 'ts is more than 5 minutes in the future');

  let level = parsed?.level ?? defaults.level ?? 'info';
  if (line.level !== undefined && line.level !== null) {
    const normalized = typeof line.level === 'string' ? normalizeLevel(line.level) : undefined;
    if (!normalized) return new LineProblem('invalid_level', `level must be one of ${ACCEPTED_LEVEL_NAMES}`);
    level = normalized;
  }

  const labels: Record<LabelName, string | null> = { namespace: null, pod: null, container: null, source: null };
  for (const name of LABEL_NAMES) {
    const value = line[name] ?? defaults.labels[name];
    if (value === undefined || value === null) continue;
    const problem = lastLabelChecks.problemOf(name, value);
    if (problem) return new LineProblem('invalid_label', problem);
    labels[name] = value as string;
  }
  const { namespace, pod, container, source } = labels;
  if (pod === null) return new LineProblem('invalid_label', 'pod is required: give it in the line, the batch labels or the query string');

  const fields = line.fields === undefined || line.fields === null ? null : validateFields(line.fields);
  if (typeof fields === 'string') return new LineProblem('invalid_line', fields);

  return { ts: tsMs, level, namespace, pod, container, source, message, fields, format };
}

/**
 * labelProblem of the value each label was checked with last: a batch's lines mostly share their labels (the
 * batch's own, or the same pod's), which are then checked once rather than once a line.
 */
class LastLabelChecks {
  private readonly values = new Map<LabelName, unknown>();
  private readonly problems = new Map<LabelName, string | undefined>();

  problemOf(name: LabelName, value: unknown): string | undefined {
    if (this.values.has(name) && this.values.get(name) === value) return this.problems.get(name);
    const problem = labelProblem(name, value);
    this.values.set(name, value);
    this.problems.set(name, problem);
    return problem;
  }
}

const lastLabelChecks = new LastLabelChecks();

function validateFields(raw: unknown): Fields | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'fields must be a flat object of strings, numbers and booleans';
  }
  const fields = raw as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    const kind = typeof value;
    if (kind === 'number' && !Number.isFinite(value)) return `fields.${key} must be a finite number`;
    if (kind !== 'string' && kind !== 'number' && kind !== 'boolean') {
      return `fields.${key} must be a string, number or boolean`;
    }
  }
  return fields as Fields;
}
