const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Date.UTC rolls 2026-02-30 over to March 2: each field must be in range for its month. Month 1–12. */
export function utcTimeOf(year: number, month: number, day: number, hour: number, minute: number, second: number): number | undefined {
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const inRange = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
  return inRange ? Date.UTC(year, month - 1, day, hour, minute, second) : undefined;
}

function fieldsInRange(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return utcTimeOf(year, month, day, hour, minute, second) !== undefined && offsetOk;
}

/** Years 1970..9999 in epoch ms. */
const MAX_EPOCH_MS = 253_402_300_799_999;

export const TIMESTAMP_HINT =
  'an RFC 3339 time (2026-11-24T10:00:00Z) or an epoch time read by its number of digits: up to 10 seconds ' +
  '(a fraction allowed: 1733350000.5), 11 to 13 milliseconds, 14 to 16 microseconds, 17 to 19 nanoseconds';

const NOT_A_TIME = `must be ${TIMESTAMP_HINT}`;

const DIGITS = /^\d+$/;
const SECONDS_WITH_FRACTION = /^(\d+)\.(\d+)$/;
const MAX_SECONDS_DIGITS = 10;
const MAX_MILLIS_DIGITS = 13;
const MAX_MICROS_DIGITS = 16;
const MAX_EPOCH_DIGITS = 19;
/** The least whole numbers with more digits than seconds, and than milliseconds, have. */
const SECONDS_END = 10 ** MAX_SECONDS_DIGITS;
const MILLIS_END = 10 ** MAX_MILLIS_DIGITS;

/**
 * Epoch digits by their count, as people and programs write them (`date +%s`, `Date.now()`, Go's
 * `UnixNano`): a count of digits belongs to one unit for any time from 2001 to 2286. Kept to the
 * millisecond, the stored unit; finer digits are cut, as a nanosecond RFC 3339 time is.
 */
function epochDigitsToMs(digits: string): number | string {
  const n = digits.length;
  if (n <= MAX_SECONDS_DIGITS) return Number(digits) * 1000;
  if (n <= MAX_MILLIS_DIGITS) return Number(digits);
  if (n <= MAX_MICROS_DIGITS) return Number(digits.slice(0, -3));
  if (n <= MAX_EPOCH_DIGITS) return Number(digits.slice(0, -6));
  return `has ${n} digits, more than nanoseconds have (${MAX_EPOCH_DIGITS}): it must be ${TIMESTAMP_HINT}`;
}

function epochTextToMs(text: string): number | string | undefined {
  if (DIGITS.test(text)) return epochDigitsToMs(text);
  const fraction = SECONDS_WITH_FRACTION.exec(text);
  if (!fraction) return undefined;
  const [, whole, part] = fraction;
  if (whole.length > MAX_SECONDS_DIGITS) {
    return `has a fraction, which means seconds, and ${whole.length} digits before the point, more than seconds have (${MAX_SECONDS_DIGITS}): give seconds (1733350000.5) or whole milliseconds, microseconds or nanoseconds`;
  }
  return Number(whole) * 1000 + Number(part.padEnd(3, '0').slice(0, 3));
}

/**
 * The one reading of a time, for query parameters and lines alike: RFC 3339 text, or epoch digits
 * (a number, or a string of digits) read by their count. A Date is a time some code has already
 * read by its own protocol (Loki's nanoseconds) and is taken as it is: JSON never makes one.
 * Returns epoch ms, or what is wrong as the end of a sentence whose subject is the parameter.
 */
export function readTimestamp(value: unknown): number | string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MILLIS_END) {
    // Whole seconds or milliseconds, as most senders give them: what reading their digits makes of them, without the text.
    return value < SECONDS_END ? value * 1000 : value;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return ms >= 0 && ms <= MAX_EPOCH_MS ? ms : NOT_A_TIME;
  }
  if (typeof value === 'number') {
    // String() gives the shortest digits that read back as this number: 1733350000.123, not 1733350000.1229999.
    return Number.isFinite(value) && value >= 0 ? (epochTextToMs(String(value)) ?? NOT_A_TIME) : NOT_A_TIME;
  }
  if (typeof value !== 'string') return NOT_A_TIME;
  const epoch = epochTextToMs(value);
  if (epoch !== undefined) return epoch;
  const match = RFC3339.exec(value);
  if (!match || !fieldsInRange(match)) return NOT_A_TIME;
  const ms = Date.parse(value.replace(' ', 'T'));
  return Number.isNaN(ms) ? NOT_A_TIME : ms;
}

/** readTimestamp, for a caller that needs only whether it is a time. */
export function parseTimestamp(value: unknown): number | undefined {
  const ms = readTimestamp(value);
  return typeof ms === 'number' ? ms : undefined;
}

const MINUTE_MS = 60_000;
/** The minute formatTimestamp wrote last, and its text up to the seconds: a page's lines mostly share their minute. */
let minuteStart = NaN;
let minutePrefix = '';

/** `2026-11-24T10:00:00.123Z`, as toISOString writes it, at a fraction of its cost within the minute written last. */
export function formatTimestamp(ms: number): string {
  const inMinute = ms - minuteStart;
  if (inMinute >= 0 && inMinute < MINUTE_MS && Number.isInteger(ms)) {
    const seconds = Math.floor(inMinute / 1000);
    const millis = inMinute % 1000;
    return `${minutePrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  }
  const iso = new Date(ms).toISOString();
  if (Number.isInteger(ms)) {
    minuteStart = ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    minutePrefix = iso.slice(0, -'00.000Z'.length);
  }
  return iso;
}
