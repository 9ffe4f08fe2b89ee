import { ShipperFormat } from '@daylog/config/shipper';
import { Fields, Level, normalizeLevel } from '@daylog/log-model';

/** A line as the shipper sends it; `ts` absent means "when the aggregator receives it". */
export interface ParsedLine {
  ts?: number;
  level: Level;
  message: string;
  fields?: Fields;
}

export type LineParser = (text: string) => ParsedLine;

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

// nginx "combined", optionally followed by $request_time (a common addition).
const NGINX_ACCESS =
  /^(\S+) \S+ (\S+) \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "(?:(\S+) (\S+)(?: (\S+))?|[^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"(?: (\d+(?:\.\d+)?))?/;

// nginx error log: "2026/11/24 10:00:01 [error] 31#31: *7 ..."; nginx writes local time, UTC in containers.
const NGINX_ERROR = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\]/;

const LEADING_LEVEL =
  /^\s*[[(<]?(trace|debug|info|notice|warn|warning|error|err|fatal|crit|critical|alert|emerg|panic)[\])>]?(?=[\s:|-])/i;

export function parsePlain(text: string): ParsedLine {
  const level = LEADING_LEVEL.exec(text);
  return { level: (level && normalizeLevel(level[1])) ?? 'info', message: text };
}

export function parseNginxAccess(text: string): ParsedLine {
  const m = NGINX_ACCESS.exec(text);
  const month = m ? MONTHS[m[4]] : undefined;
  if (!m || month === undefined) return parsePlain(text);
  const offsetMinutes = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const ts = Date.UTC(+m[5], month, +m[3], +m[6], +m[7], +m[8]) - offsetMinutes * 60_000;
  const status = Number(m[15]);
  const fields: Fields = { remote_addr: m[1], status };
  if (m[2] !== '-') fields.remote_user = m[2];
  if (m[12]) fields.method = m[12];
  if (m[13]) fields.path = m[13];
  if (m[14]) fields.protocol = m[14];
  if (m[16] !== '-') fields.bytes = Number(m[16]);
  if (m[17] !== '-') fields.referer = m[17];
  if (m[18] !== '-') fields.user_agent = m[18];
  if (m[19]) fields.request_time = Number(m[19]);
  const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  return { ts, level, message: text, fields };
}

export function parseNginxError(text: string): ParsedLine {
  const m = NGINX_ERROR.exec(text);
  const level = m ? normalizeLevel(m[7]) : undefined;
  if (!m || !level) return parsePlain(text);
  return { ts: Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]), level, message: text };
}

const MESSAGE_KEYS = ['message', 'msg', 'log', 'text'];
const LEVEL_KEYS = ['level', 'severity', 'lvl', 'loglevel'];
const TIME_KEYS = ['ts', 'time', 'timestamp', '@timestamp'];

function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
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
  const levelKey = LEVEL_KEYS.find((key) => typeof record[key] === 'string' && normalizeLevel(record[key]) !== undefined);
  const timeKey = TIME_KEYS.find((key) => timeOf(record[key]) !== undefined);
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
  if (timeKey) line.ts = timeOf(record[timeKey]);
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
