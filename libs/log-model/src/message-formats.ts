import type { Level } from './levels';
import type { Fields } from './line';

/**
 * Formats a message may declare itself in. A line in a known format is stored as its message
 * alone and its fields are parsed again when it is read: nginx's fields repeat most of the line,
 * and sending and storing them twice cost half the shipper's throughput and doubled the disk.
 */
export const MESSAGE_FORMATS = ['nginx-access'] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];

/** When a message in a known format says it happened, and how severe it is. */
export interface MessageHeader {
  ts: number;
  level: Level;
}

interface FormatReader {
  /** What ingest needs, without the cost of the fields. */
  header(text: string): MessageHeader | undefined;
  fields(text: string): Fields | undefined;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

// nginx "combined", optionally followed by $request_time (a common addition).
const NGINX_ACCESS =
  /^(\S+) \S+ (\S+) \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "(?:(\S+) (\S+)(?: (\S+))?|[^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"(?: (\d+(?:\.\d+)?))?/;

function nginxAccessHeader(m: RegExpExecArray): MessageHeader | undefined {
  const month = MONTHS[m[4]];
  if (month === undefined) return undefined;
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
  fields(text) {
    const m = NGINX_ACCESS.exec(text);
    if (!m || !nginxAccessHeader(m)) return undefined;
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

const READERS: Record<MessageFormat, FormatReader> = {
  'nginx-access': NGINX_ACCESS_READER,
};

export function isMessageFormat(value: unknown): value is MessageFormat {
  return typeof value === 'string' && (MESSAGE_FORMATS as readonly string[]).includes(value);
}

/** undefined when the message is not in the format it claims: it is kept, with the defaults. */
export function messageHeader(format: MessageFormat, message: string): MessageHeader | undefined {
  return READERS[format].header(message);
}

/** A stored line's fields: those derived from its message, overridden by those it was sent with. */
export function lineFields(format: MessageFormat | null, message: string, sent: Fields | null): Fields | null {
  const derived = format === null ? undefined : READERS[format].fields(message);
  if (!derived) return sent;
  return sent ? { ...derived, ...sent } : derived;
}
