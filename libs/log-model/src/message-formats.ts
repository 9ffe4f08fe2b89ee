import { Level, normalizeLevel } from './levels';
import type { Fields } from './line';
import { utcTimeOf } from './timestamps';

/**
 * Formats a message may declare itself in. A line in a known format is stored as its message
 * alone and its fields are parsed again when it is read: nginx's fields repeat most of the line,
 * and sending and storing them twice cost half the shipper's throughput and doubled the disk.
 */
export const MESSAGE_FORMATS = ['nginx-access', 'nginx-error'] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];

/** When a message in a known format says it happened, and how severe it is. */
export interface MessageHeader {
  ts: number;
  level: Level;
}

interface FormatReader {
  /** What ingest needs, without the cost of the fields. */
  header(text: string): MessageHeader | undefined;
  /** Whether `header` finds one, without the cost of making it. */
  matches(text: string): boolean;
  fields(text: string): Fields | undefined;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

// nginx "combined", optionally followed by $request_time (a common addition). The month is one of
// MONTHS in the pattern itself, so that a match alone says the line is one.
const NGINX_ACCESS = new RegExp(
  String.raw`^(\S+) \S+ (\S+) \[(\d{2})\/(${Object.keys(MONTHS).join('|')})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "(?:(\S+) (\S+)(?: (\S+))?|[^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"(?: (\d+(?:\.\d+)?))?`,
);

function nginxAccessHeader(m: RegExpExecArray): MessageHeader {
  const month = MONTHS[m[4]];
  const offsetMinutes = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const ts = Date.UTC(+m[5], month, +m[3], +m[6], +m[7], +m[8]) - offsetMinutes * 60_000;
  const status = Number(m[15]);
  return { ts, level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info' };
}

/** nginx's combined access format: time, a level from the status (5xx error, 4xx warn, else info), and the request's fields. */
const NGINX_ACCESS_READER: FormatReader = {
  header(text) {
    const m = NGINX_ACCESS.exec(text);
    return m ? nginxAccessHeader(m) : undefined;
  },
  matches(text) {
    return NGINX_ACCESS.test(text);
  },
  fields(text) {
    const m = NGINX_ACCESS.exec(text);
    if (!m) return undefined;
    const fields: Fields = { remote_addr: m[1], status: Number(m[15]) };
    if (m[2] !== '-') fields.remote_user = m[2];
    if (m[12]) fields.method = m[12];
    if (m[13]) fields.path = m[13];
    if (m[14]) fields.protocol = m[14];
    if (m[16] !== '-') fields.bytes = Number(m[16]);
    if (m[17] !== '-') fields.referer = m[17];
    if (m[18] !== '-') fields.user_agent = m[18];
    if (m[19]) fields.request_time = Number(m[19]);
    return fields;
  },
};

// "2026/11/24 10:00:01 [error] 31#31: *7 message": time, severity, pid#tid, and the connection when there is one.
const NGINX_ERROR = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[([a-z]+)\] (\d{1,10})#(\d{1,10}): (?:\*(\d{1,20}) )?/;
/** What nginx appends to a message about a request, in this order; the quoted ones are written in quotes. */
const NGINX_ERROR_CONTEXT = ['client', 'server', 'request', 'subrequest', 'upstream', 'host', 'referrer'];
const QUOTED_CONTEXT = new Set(['request', 'subrequest', 'upstream', 'host', 'referrer']);
const CONTEXT_KEY = new RegExp(`, (${NGINX_ERROR_CONTEXT.join('|')}): `, 'g');

/** nginx writes its local time without a zone: read as UTC, which is what a container's local time is unless TZ says otherwise. */
function nginxErrorHeader(m: RegExpExecArray): MessageHeader | undefined {
  const ts = utcTimeOf(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]);
  const level = normalizeLevel(m[7]);
  return ts === undefined || level === undefined ? undefined : { ts, level };
}

function contextValue(key: string, text: string): string {
  if (!QUOTED_CONTEXT.has(key)) return text.split(', ', 1)[0];
  const close = text.lastIndexOf('"');
  return text.startsWith('"') && close > 0 ? text.slice(1, close) : text;
}

/**
 * `, client: …, server: …, request: "…"` at the end of a message. nginx writes the values without
 * escaping, so a request line holding `, host: ` can mislead these fields (never the message): the
 * keys are taken in nginx's order from the first `, client: `, in one pass, whatever the line holds.
 */
function nginxErrorContext(text: string, from: number, fields: Fields): void {
  CONTEXT_KEY.lastIndex = from;
  const found: { key: string; order: number; start: number; end: number }[] = [];
  for (let m = CONTEXT_KEY.exec(text); m !== null; m = CONTEXT_KEY.exec(text)) {
    const order = NGINX_ERROR_CONTEXT.indexOf(m[1]);
    if (order > (found.at(-1)?.order ?? -1) && (found.length > 0 || order === 0)) {
      found.push({ key: m[1], order, start: m.index, end: CONTEXT_KEY.lastIndex });
    }
  }
  found.forEach(({ key, end }, i) => {
    const value = contextValue(key, text.slice(end, found[i + 1]?.start ?? text.length));
    if (value !== '') fields[key] = value;
  });
}

/** nginx's error log: time, a level from the severity in brackets, and the process, connection and request's fields. */
const NGINX_ERROR_READER: FormatReader = {
  header(text) {
    const m = NGINX_ERROR.exec(text);
    return m ? nginxErrorHeader(m) : undefined;
  },
  matches(text) {
    return NGINX_ERROR_READER.header(text) !== undefined;
  },
  fields(text) {
    const m = NGINX_ERROR.exec(text);
    if (!m || !nginxErrorHeader(m)) return undefined;
    const fields: Fields = { pid: Number(m[8]), tid: Number(m[9]) };
    if (m[10] !== undefined) fields.connection = Number(m[10]);
    nginxErrorContext(text, m[0].length, fields);
    return fields;
  },
};

const READERS: Record<MessageFormat, FormatReader> = {
  'nginx-access': NGINX_ACCESS_READER,
  'nginx-error': NGINX_ERROR_READER,
};

export function isMessageFormat(value: unknown): value is MessageFormat {
  return typeof value === 'string' && (MESSAGE_FORMATS as readonly string[]).includes(value);
}

/** undefined when the message is not in the format it claims: it is kept, with the defaults. */
export function messageHeader(format: MessageFormat, message: string): MessageHeader | undefined {
  return READERS[format].header(message);
}

/** Whether the message is in the format (messageHeader reads it), without the cost of its header. */
export function inMessageFormat(format: MessageFormat, message: string): boolean {
  return READERS[format].matches(message);
}

/** A stored line's fields: those derived from its message, overridden by those it was sent with. */
export function lineFields(format: MessageFormat | null, message: string, sent: Fields | null): Fields | null {
  const derived = format === null ? undefined : READERS[format].fields(message);
  if (!derived) return sent;
  return sent ? { ...derived, ...sent } : derived;
}
