/**
 * How a label filter reads a label's text as a number, a duration or a size, as Loki reads it (Go's
 * strconv.ParseFloat, time.ParseDuration, go-humanize's ParseBytes); each returns undefined when the text
 * is not one, and the filter then marks the line with __error__.
 */

const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const NOT_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;

export function numberOf(text: string): number | undefined {
  if (NOT_FINITE.test(text)) return Number(text.replace(/inf(inity)?/i, 'Infinity').replace(/nan/i, 'NaN'));
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  // Go refuses a number out of float64's range rather than read it as infinite.
  return Number.isFinite(value) ? value : undefined;
}

const NANOSECONDS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^[+-]?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const DURATION_PART = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/g;

/** `150ms`, `1.5s`, `1h30m`, `-2m`, `0` → nanoseconds. */
export function durationNanosecondsOf(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) total += Number(amount) * NANOSECONDS[unit];
  return text.startsWith('-') ? -total : total;
}

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
  p: 1e15, pb: 1e15, pi: 1024 ** 5, pib: 1024 ** 5,
  e: 1e18, eb: 1e18, ei: 1024 ** 6, eib: 1024 ** 6,
};
const SIZE = /^([0-9.,]*)(.*)$/s;

/** `512B`, `10KB` (1000s), `1.5MiB` (1024s), `2 gb`, `1,024` → whole bytes. */
export function bytesOf(text: string): number | undefined {
  const [, amount, unitText] = SIZE.exec(text) ?? ['', '', ''];
  const digits = amount.replaceAll(',', '');
  const unit = unitText.trim().toLowerCase();
  if (!DECIMAL.test(digits) || !Object.hasOwn(BYTES_PER_UNIT, unit)) return undefined;
  const bytes = Math.trunc(Number(digits) * BYTES_PER_UNIT[unit]);
  return bytes < 2 ** 64 ? bytes : undefined;
}
