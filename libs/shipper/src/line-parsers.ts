import { ShipperFormat } from '@daylog/config/shipper';
import { Fields, Level, MessageFormat, leadingLevel, normalizeLevel, parseTimestamp } from '@daylog/log-model';

/**
 * A line as the shipper sends it. What it leaves out the aggregator fills in: from the message when
 * `format` names a format it reads (time, level and fields), else the time of receipt and `info`.
 */
export interface ParsedLine {
  /** The time as the line wrote it (RFC 3339 or epoch digits): the aggregator reads it by the same rule. */
  ts?: number | string;
  level?: Level;
  message: string;
  fields?: Fields;
  format?: MessageFormat;
}

export type LineParser = (text: string) => ParsedLine;

export function parsePlain(text: string): ParsedLine {
  return { level: leadingLevel(text) ?? 'info', message: text };
}

/**
 * The aggregator reads nginx's access and error formats itself (time, level, fields), and a line
 * that is not in its format as plain text: the line goes as it is, named.
 */
export function parseNginxAccess(text: string): ParsedLine {
  return { message: text, format: 'nginx-access' };
}

export function parseNginxError(text: string): ParsedLine {
  return { message: text, format: 'nginx-error' };
}

const MESSAGE_KEYS = ['message', 'msg', 'log', 'text'];
/** The names a line gives its level under, in JSON or logfmt, most common first. */
export const LEVEL_KEYS = ['level', 'severity', 'lvl', 'loglevel'];
const TIME_KEYS = ['ts', 'time', 'timestamp', '@timestamp'];

/** The key of a JSON line's level: the first of LEVEL_KEYS whose value names a level. */
export function jsonLevelKey(record: Record<string, unknown>): string | undefined {
  return LEVEL_KEYS.find((key) => typeof record[key] === 'string' && normalizeLevel(record[key]) !== undefined);
}

/** A JSON object per line, with level, message and time under their common names; other scalars become fields. */
export function parseJsonLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parsePlain(text);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return parsePlain(text);
  const record = value as Record<string, unknown>;
  const messageKey = MESSAGE_KEYS.find((key) => typeof record[key] === 'string');
  const levelKey = jsonLevelKey(record);
  const timeKey = TIME_KEYS.find((key) => parseTimestamp(record[key]) !== undefined);
  const fields: Fields = {};
  for (const [key, field] of Object.entries(record)) {
    if (key === messageKey || key === levelKey || key === timeKey) continue;
    if (typeof field === 'string' || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field))) {
      fields[key] = field;
    }
  }
  const line: ParsedLine = {
    level: levelKey ? normalizeLevel(record[levelKey] as string)! : 'info',
    message: messageKey ? (record[messageKey] as string) : text,
  };
  if (timeKey) line.ts = record[timeKey] as number | string;
  if (Object.keys(fields).length > 0) line.fields = fields;
  return line;
}

const PARSERS: Record<Exclude<ShipperFormat, 'auto'>, LineParser> = {
  'nginx-access': parseNginxAccess,
  'nginx-error': parseNginxError,
  json: parseJsonLine,
  plain: parsePlain,
};

/** `auto` picks by file name (access / error), then by the first line (JSON or not). */
export function parserFor(format: ShipperFormat, fileName: string, firstLine: string | undefined): LineParser {
  if (format !== 'auto') return PARSERS[format];
  if (/access/i.test(fileName)) return parseNginxAccess;
  if (/error/i.test(fileName)) return parseNginxError;
  return firstLine?.trimStart().startsWith('{') ? parseJsonLine : parsePlain;
}
