import { MessageFormat } from '@daylog/log-model';

export interface PartitionBounds {
  startMs: number;
  endMs: number;
  /** Named by its UTC start, e.g. `logs_20261124T100000Z`: the table's name and its file's. */
  name: string;
}

export function partitionName(startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return `logs_${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** The severity from which a line is indexed among the rare ones worth finding fast (warn and above). */
export const WARN_SEVERITY = 3;

export const MINUTE_MS = 60_000;

/** Codes stored in a partition's `format` column: a code, once used, keeps its meaning. */
export const FORMAT_CODES: Readonly<Record<MessageFormat, number>> = { 'nginx-access': 1, 'nginx-error': 2 };
const FORMATS_BY_CODE = new Map(Object.entries(FORMAT_CODES).map(([format, code]) => [code, format as MessageFormat]));

export function formatOfCode(code: number | null): MessageFormat | null {
  return code === null ? null : (FORMATS_BY_CODE.get(code) ?? null);
}

