import { CONTROL_CHARACTER, type FieldValue, type Fields, type LogLine } from './line';
import { lineFields } from './message-formats';

/**
 * The top-level keys of a message that is a JSON object, those whose values are strings, numbers or booleans;
 * undefined for any other message. A message that does not start with `{` costs no parse.
 */
function jsonMessageFields(message: string): Fields | undefined {
  const text = message.trim();
  if (!text.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  // No prototype: a key such as `__proto__` is a field like any other.
  const fields: Fields = Object.create(null) as Fields;
  for (const [key, value] of Object.entries(parsed)) {
    // 1e999 parses as Infinity, which JSON cannot write: not a value a filter could name.
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) fields[key] = value;
  }
  return fields;
}

/**
 * A line's fields as field filters read them: the fields a query answers with (those it was sent with, over those
 * read from a message in a known format), and, under them, a JSON object message's top-level keys. `fields` may be
 * those sent or those answered (which already hold the format's): either gives the same.
 */
export function searchableFields(line: Pick<LogLine, 'format' | 'message' | 'fields'>): Fields | null {
  const answered = lineFields(line.format, line.message, line.fields);
  const fromJson = jsonMessageFields(line.message);
  if (!fromJson) return answered;
  return answered ? { ...fromJson, ...answered } : fromJson;
}

/** A field's value written as text, as field filters compare it: numbers as JSON writes them, booleans `true`/`false`. */
export function fieldText(value: FieldValue): string {
  return String(value);
}

/** Whether `fields` hold the condition's field, its value written as text exactly the condition's. */
export function fieldEquals(fields: Fields | null, { name, value }: FieldCondition): boolean {
  return fields !== null && Object.hasOwn(fields, name) && fieldText(fields[name]) === value;
}

/** What a field filter asks of a line: the field `name`, its value written as text (fieldText) exactly `value`. */
export interface FieldCondition {
  name: string;
  value: string;
}

export const MAX_FIELD_NAME_LENGTH = 100;
/** A field filter's whole text, `name:value`. */
export const MAX_FIELD_CONDITION_LENGTH = 1000;

/**
 * `name:value` as a field filter's condition, split at the first `:` (a name holds none, a value may; it may be
 * empty); undefined when it is not that, or too long, or holds control characters.
 */
export function parseFieldCondition(text: string): FieldCondition | undefined {
  const colon = text.indexOf(':');
  if (colon < 1 || colon > MAX_FIELD_NAME_LENGTH || text.length > MAX_FIELD_CONDITION_LENGTH || CONTROL_CHARACTER.test(text)) return undefined;
  return { name: text.slice(0, colon), value: text.slice(colon + 1) };
}
