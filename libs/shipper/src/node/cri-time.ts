const ZERO = 0x30;
const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const PLUS = 0x2b;
const UPPER_T = 0x54;
const UPPER_Z = 0x5a;
/** Years before are left to parseTimestamp: Date.UTC reads years 0–99 as 1900–1999. */
const FIRST_YEAR = 1970;
const MAX_FRACTION_DIGITS = 9;

/** The number `count` ASCII digits at `at` write; -1 if one of them is not a digit. */
function digitsAt(bytes: Buffer, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = bytes[i] - ZERO;
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * A CRI record's time read from its bytes `[0, end)` without making a string or a match: with the
 * record's stream and tag read as bytes too, ~1.7 µs a record less than through parseTimestamp
 * (0.9 µs of its match arrays, substrings and Date.parse). Only the layouts the
 * runtimes write: containerd's `2024-05-01T12:00:10.2Z` (fraction trimmed, or none) and CRI-O's
 * `2024-05-01T14:00:10.123956789+02:00`. Epoch ms, finer digits cut as parseTimestamp cuts them;
 * undefined for anything else, which the caller reads with parseTimestamp (a valid time in another
 * layout, or no time).
 */
export function criTimeMs(bytes: Buffer, end: number): number | undefined {
  if (end < 20 || bytes[4] !== DASH || bytes[7] !== DASH || bytes[10] !== UPPER_T || bytes[13] !== COLON || bytes[16] !== COLON) return undefined;
  const year = digitsAt(bytes, 0, 4);
  const month = digitsAt(bytes, 5, 2);
  const day = digitsAt(bytes, 8, 2);
  const hour = digitsAt(bytes, 11, 2);
  const minute = digitsAt(bytes, 14, 2);
  const second = digitsAt(bytes, 17, 2);
  if (year < FIRST_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let at = 19;
  let ms = 0;
  if (bytes[at] === DOT) {
    const from = ++at;
    while (at < end && at - from < MAX_FRACTION_DIGITS && digitsAt(bytes, at, 1) >= 0) at++;
    const digits = at - from;
    if (digits === 0) return undefined;
    ms = digits >= 3 ? digitsAt(bytes, from, 3) : digitsAt(bytes, from, digits) * (digits === 1 ? 100 : 10);
  }
  let offsetMinutes = 0;
  if (bytes[at] === UPPER_Z) {
    if (at + 1 !== end) return undefined;
  } else if ((bytes[at] === PLUS || bytes[at] === DASH) && at + 6 === end && bytes[at + 3] === COLON) {
    const offsetHours = digitsAt(bytes, at + 1, 2);
    const offsetRest = digitsAt(bytes, at + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetRest < 0 || offsetRest > 59) return undefined;
    offsetMinutes = (bytes[at] === DASH ? -1 : 1) * (offsetHours * 60 + offsetRest);
  } else {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}
