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
  const position = parts.length === 5 && version === '1' ? positionOf(ts, partitionStart, id) : null;
  if (!position) return { problem: 'cursor is not one this server gave out; start again without it' };
  if (madeFor !== fingerprint) {
    return { problem: 'cursor belongs to a query with other filters; repeat that query or start again without it' };
  }
  return { position };
}

/** A handle for one line, whatever the query that found it: where the line's context is read from. */
export function encodeLineCursor(position: CursorPosition): string {
  return Buffer.from(`l.${position.ts}.${position.partitionStart}.${position.id}`).toString('base64url');
}

export function decodeLineCursor(cursor: string): CursorDecoding {
  const parts = Buffer.from(cursor, 'base64url').toString().split('.');
  const [kind, ts, partitionStart, id] = parts;
  const position = parts.length === 4 && kind === 'l' ? positionOf(ts, partitionStart, id) : null;
  return position ? { position } : { problem: "cursor is not a line's cursor from this server: take it from a line of a json or ndjson answer" };
}

function positionOf(...texts: string[]): CursorPosition | null {
  const [ts, partitionStart, id] = texts.map((text) => (/^\d{1,16}$/.test(text) ? Number(text) : NaN));
  return [ts, partitionStart, id].every((n) => Number.isSafeInteger(n)) ? { ts, partitionStart, id } : null;
}
