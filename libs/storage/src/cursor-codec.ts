import { createHash } from 'node:crypto';
import { CursorPosition } from './log-store';

export type CursorDecoding = { position: CursorPosition } | { problem: string };

/** A short digest of the filters a cursor was made for: the same query must come back with it. */
export function filterFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

export function encodeCursor(position: CursorPosition, fingerprint: string): string {
  const text = `1.${position.ts}.${position.partitionStart}.${position.id}.${fingerprint}`;
  return Buffer.from(text).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string): CursorDecoding {
  const parts = Buffer.from(cursor, 'base64url').toString().split('.');
  const [version, ts, partitionStart, id, madeFor] = parts;
  const numbers = [ts, partitionStart, id].map(Number);
  if (parts.length !== 5 || version !== '1' || !numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    return { problem: 'cursor is not one this server gave out; start again without it' };
  }
  if (madeFor !== fingerprint) {
    return { problem: 'cursor belongs to a query with other filters; repeat that query or start again without it' };
  }
  return { position: { ts: numbers[0], partitionStart: numbers[1], id: numbers[2] } };
}
