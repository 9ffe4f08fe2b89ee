import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CursorPosition } from './log-store';
import { PRIVATE_FILE_MODE, makeFilesPrivate } from './private-files';

export type CursorDecoding = { position: CursorPosition } | { problem: string };

/** The key cursors are signed with, kept in the data dir so that cursors outlive a restart. */
export const CURSOR_KEY_FILE = 'cursor.key';
const KEY_BYTES = 32;
/** 96 bits of HMAC-SHA256: enough that a forged cursor is a guess. */
const MAC_BYTES = 12;
const NOT_OURS = 'cursor is not one this server gave out; start again without it';

/** A short digest of the filters a cursor was made for: the same query must come back with it. */
export function filterFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

function positionOf(...texts: string[]): CursorPosition | null {
  const [ts, partitionStart, id] = texts.map((text) => (/^\d{1,16}$/.test(text) ? Number(text) : NaN));
  return [ts, partitionStart, id].every((n) => Number.isSafeInteger(n)) ? { ts, partitionStart, id } : null;
}

/**
 * Page cursors (a position bound to the query's filters) and line cursors (a line's position), signed:
 * a cursor that was changed, or made elsewhere, is refused rather than read as a position.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  /** The data dir's key, made on first use. */
  static forDataDir(dataDir: string): CursorCodec {
    const file = join(dataDir, CURSOR_KEY_FILE);
    try {
      writeFileSync(file, randomBytes(KEY_BYTES), { flag: 'wx', mode: PRIVATE_FILE_MODE });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    makeFilesPrivate([file]);
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) throw new Error(`${file} is not a cursor key (${key.length} bytes, not ${KEY_BYTES}): remove it to make a new one (cursors given out so far stop working)`);
    return new CursorCodec(key);
  }

  encodePage(position: CursorPosition, fingerprint: string): string {
    return this.sign(`1.${position.ts}.${position.partitionStart}.${position.id}.${fingerprint}`);
  }

  decodePage(cursor: string, fingerprint: string): CursorDecoding {
    const parts = this.verified(cursor)?.split('.');
    const position = parts?.length === 5 && parts[0] === '1' ? positionOf(parts[1], parts[2], parts[3]) : null;
    if (!position) return { problem: NOT_OURS };
    if (parts![4] !== fingerprint) {
      return { problem: 'cursor belongs to a query with other filters; repeat that query or start again without it' };
    }
    return { position };
  }

  /** A handle for one line, whatever the query that found it: where the line's context is read from. */
  encodeLine(position: CursorPosition): string {
    return this.sign(`l.${position.ts}.${position.partitionStart}.${position.id}`);
  }

  decodeLine(cursor: string): CursorDecoding {
    const parts = this.verified(cursor)?.split('.');
    const position = parts?.length === 4 && parts[0] === 'l' ? positionOf(parts[1], parts[2], parts[3]) : null;
    return position ? { position } : { problem: "cursor is not a line's cursor from this server: take it from a line of a json or ndjson answer" };
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.key).update(text).digest().subarray(0, MAC_BYTES);
  }

  private sign(text: string): string {
    return `${Buffer.from(text).toString('base64url')}.${this.mac(text).toString('base64url')}`;
  }

  /** The cursor's text when its signature holds; undefined otherwise. */
  private verified(cursor: string): string | undefined {
    const [payload, signature, extra] = cursor.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
    const text = Buffer.from(payload, 'base64url').toString();
    const given = Buffer.from(signature, 'base64url');
    return given.length === MAC_BYTES && timingSafeEqual(given, this.mac(text)) ? text : undefined;
  }
}
