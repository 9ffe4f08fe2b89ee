import { KeyObject, createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CursorPosition } from './log-store';

export type CursorDecoding = { position: CursorPosition } | { problem: string };

/** The key cursors are sealed with, kept in the data dir so that cursors outlive a restart. */
export const CURSOR_KEY_FILE = 'cursor.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A filter fingerprint's length, in base64url characters (72 bits of SHA-256). */
const FINGERPRINT_CHARS = 12;
const NOT_OURS = 'cursor is not one this server gave out; start again without it';

const PAGE = 1;
const LINE = 2;
type Kind = typeof PAGE | typeof LINE;

/** What a cursor seals: its kind, then the position's three numbers, each in 8 bytes whatever its size. */
const POSITION_BYTES = 1 + 3 * 8;
const SEALED_BYTES: Record<Kind, number> = { [PAGE]: POSITION_BYTES + FINGERPRINT_CHARS, [LINE]: POSITION_BYTES };

/** A short digest of the filters a cursor was made for: the same query must come back with it. */
export function filterFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, FINGERPRINT_CHARS);
}

function packed(kind: Kind, position: CursorPosition, fingerprint = ''): Buffer {
  const bytes = Buffer.alloc(SEALED_BYTES[kind]);
  bytes[0] = kind;
  [position.ts, position.partitionStart, position.id].forEach((n, i) => bytes.writeBigInt64BE(BigInt(n), 1 + 8 * i));
  bytes.write(fingerprint, POSITION_BYTES, 'latin1');
  return bytes;
}

function positionIn(bytes: Buffer): CursorPosition | null {
  const [ts, partitionStart, id] = [0, 1, 2].map((i) => Number(bytes.readBigInt64BE(1 + 8 * i)));
  return [ts, partitionStart, id].every((n) => Number.isSafeInteger(n) && n >= 0) ? { ts, partitionStart, id } : null;
}

/**
 * Page cursors (a position bound to the query's filters) and line cursors (a line's position), sealed
 * with AES-256-GCM: a cursor shows nothing of its position (a row id would tell how many lines, of any
 * namespace, were stored between two of them), and one that was changed, or made elsewhere, is refused
 * rather than read. Each cursor's IV is a keyed digest of what it seals (SIV), so the same position
 * always gives the same cursor, and two positions never share an IV.
 */
export class CursorCodec {
  private readonly sealingKey: KeyObject;
  private readonly ivKey: KeyObject;

  constructor(key: Buffer) {
    const derive = (purpose: string) => createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `daylog cursor ${purpose}`, KEY_BYTES)));
    this.sealingKey = derive('sealing');
    this.ivKey = derive('iv');
  }

  /** The data dir's key, made on first use. */
  static forDataDir(dataDir: string): CursorCodec {
    const file = join(dataDir, CURSOR_KEY_FILE);
    try {
      writeFileSync(file, randomBytes(KEY_BYTES), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) throw new Error(`${file} is not a cursor key (${key.length} bytes, not ${KEY_BYTES}): remove it to make a new one (cursors given out so far stop working)`);
    return new CursorCodec(key);
  }

  encodePage(position: CursorPosition, fingerprint: string): string {
    return this.seal(packed(PAGE, position, fingerprint));
  }

  decodePage(cursor: string, fingerprint: string): CursorDecoding {
    const bytes = this.opened(cursor, PAGE);
    const position = bytes && positionIn(bytes);
    if (!bytes || !position) return { problem: NOT_OURS };
    if (bytes.toString('latin1', POSITION_BYTES) !== fingerprint) {
      return { problem: 'cursor belongs to a query with other filters; repeat that query or start again without it' };
    }
    return { position };
  }

  /** A handle for one line, whatever the query that found it: where the line's context is read from. */
  encodeLine(position: CursorPosition): string {
    return this.seal(packed(LINE, position));
  }

  decodeLine(cursor: string): CursorDecoding {
    const bytes = this.opened(cursor, LINE);
    const position = bytes && positionIn(bytes);
    return position ? { position } : { problem: "cursor is not a line's cursor from this server: take it from a line of a json or ndjson answer" };
  }

  private seal(plain: Buffer): string {
    const iv = createHmac('sha256', this.ivKey).update(plain).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealingKey, iv);
    return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString('base64url');
  }

  /** What a cursor of `kind` seals, when it was sealed here and not changed since; null otherwise. */
  private opened(cursor: string, kind: Kind): Buffer | null {
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length !== IV_BYTES + SEALED_BYTES[kind] + TAG_BYTES || bytes.toString('base64url') !== cursor) return null;
    const decipher = createDecipheriv('aes-256-gcm', this.sealingKey, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      return plain[0] === kind ? plain : null;
    } catch {
      return null;
    }
  }
}
