const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Date.parse rolls 2026-02-30 over to March 2: each field must be in range for its month. */
function fieldsInRange(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && offsetOk;
}

/** Years 1970..9999 in epoch ms: a wider integer is a unit mistake (seconds, nanoseconds), not a time. */
const MAX_EPOCH_MS = 253_402_300_799_999;

export const TIMESTAMP_HINT = 'an RFC 3339 time (2026-11-24T10:00:00Z) or integer epoch milliseconds';

/** RFC 3339 text or integer epoch milliseconds → epoch ms; anything else → undefined. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= MAX_EPOCH_MS ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (/^\d{1,15}$/.test(value)) return parseTimestamp(Number(value));
  const match = RFC3339.exec(value);
  if (!match || !fieldsInRange(match)) return undefined;
  const ms = Date.parse(value.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}
