/** Durations and sizes as LogQL writes them: in ranges, offsets, steps and label filters. */

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/g;

/** `1h30m`, `15000ms`, `1.5s`, `-2m` → milliseconds (fractions kept); undefined when it is not a duration. */
export function durationMs(text: string): number | undefined {
  const negative = text.startsWith('-');
  const body = negative || text.startsWith('+') ? text.slice(1) : text;
  if (!DURATION.test(body)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of body.matchAll(DURATION_PART)) ms += Number(amount) * DURATION_UNIT_MS[unit];
  return negative ? -ms : ms;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  eb: 1e18,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
  eib: 2 ** 60,
};

const BYTES = /^(\d+(?:\.\d+)?)\s*([kmgtpe]i?b|b)?$/i;

/** `10KB` (1000s), `1.5MiB` (1024s), `512B`, `512` → bytes; undefined when it is not a size. */
export function sizeBytes(text: string): number | undefined {
  const match = BYTES.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()];
}
