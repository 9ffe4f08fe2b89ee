/** Times as the page shows and reads them: in the browser's time zone, or in UTC when the reader asks for it. */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-12-05 10:04:05.123`, with a `Z` in UTC. */
export function showTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const [y, mo, day, h, mi, s, milli] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${y}-${pad(mo)}-${pad(day)} ${pad(h)}:${pad(mi)}:${pad(s)}.${pad(milli, 3)}${utc ? 'Z' : ''}`;
}

/** A `datetime-local` input's value for a time. */
export function inputValue(ms: number, utc: boolean): string {
  return showTime(ms, utc).slice(0, 19).replace(' ', 'T');
}

/** The time a `datetime-local` input's value names, read in the shown zone; null when it names none. */
export function readInput(value: string, utc: boolean): number | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value)) return null;
  const ms = Date.parse(utc ? `${value}Z` : value);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * A `from`/`to` of the URL as a time: RFC 3339, or epoch digits read by their count as the API reads them (up to
 * 10 seconds, 11–13 milliseconds, 14–16 microseconds, 17–19 nanoseconds); null when the API would refuse it.
 */
export function readUrlTime(value: string): number | null {
  if (/^\d{1,19}$/.test(value)) {
    const digits = value.length;
    const n = Number(value);
    return digits <= 10 ? n * 1000 : digits <= 13 ? n : digits <= 16 ? Math.floor(n / 1e3) : Math.floor(n / 1e6);
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m` → 900000: the durations of `since` and of the counts' `step`. */
export function durationMs(text: string): number | null {
  const found = /^(\d+)([smhd])$/.exec(text);
  return found ? Number(found[1]) * UNITS[found[2]] : null;
}
