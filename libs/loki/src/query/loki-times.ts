import { durationMs } from '../logql/units';

/** Nanoseconds in a millisecond: Loki's times are nanoseconds, Daylog's milliseconds. */
export const NS_PER_MS = 1_000_000n;

const DIGITS = /^-?\d+$/;
const DECIMAL_SECONDS = /^-?\d+\.\d*$|^-?\.\d+$/;
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i;

/**
 * A time as Loki's API takes it, in nanoseconds, exactly: a decimal number of seconds (`1700000000.5`), an integer of
 * at most 10 digits in seconds (`4000000000`, Grafana's health check), a longer one in nanoseconds, or RFC 3339 with
 * up to nine decimals. BigInt throughout: a JavaScript number is off by up to 256 ns at today's nanoseconds, and
 * logcli pages with `end` one nanosecond past the last line it got.
 */
export function lokiTimeNs(text: string): bigint | undefined {
  const value = text.trim();
  if (DIGITS.test(value)) {
    const digits = value.replace('-', '').length;
    return digits <= 10 ? BigInt(value) * 1_000_000_000n : BigInt(value);
  }
  if (DECIMAL_SECONDS.test(value)) {
    const [whole, fraction = ''] = value.replace('-', '').split('.');
    const ns = BigInt(whole || '0') * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
    return value.startsWith('-') ? -ns : ns;
  }
  const rfc = RFC3339.exec(value);
  if (!rfc) return undefined;
  const ms = Date.parse(`${rfc[1]}${rfc[3].toUpperCase() === 'Z' ? 'Z' : rfc[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * NS_PER_MS + BigInt((rfc[2] ?? '').padEnd(9, '0'));
}

/** The first whole millisecond at or after `ns`: a line at ms `t` is at `t`·10⁶ ns, so `ns ≤ line` is `ceilMs(ns) ≤ t`. */
export function ceilMs(ns: bigint): number {
  const ms = ns / NS_PER_MS;
  return Number(ns > ms * NS_PER_MS ? ms + 1n : ms);
}

/** The last whole millisecond at or before `ns`. */
export function floorMs(ns: bigint): number {
  const ms = ns / NS_PER_MS;
  return Number(ns < ms * NS_PER_MS ? ms - 1n : ms);
}

/** A line's time as Loki writes it: nanoseconds, as a string. */
export function nsText(ms: number): string {
  return `${ms}000000`;
}

/**
 * A step or a duration as Loki's API takes it, in milliseconds: a number of seconds (`60`, `0.5`: logcli) or a
 * duration (`15000ms`, `1m`: Grafana). Undefined when it is neither.
 */
export function lokiDurationMs(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  return durationMs(value);
}
