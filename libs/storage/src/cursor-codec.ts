import { Cipher, Decipher, createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { AesCmac } from './aes-cmac';
import { CursorPosition } from './log-store';

export type CursorDecoding = { position: CursorPosition } | { problem: string };

/** The key cursors are sealed with, kept in the data dir so that cursors outlive a restart. */
/** Bytes of the secret cursors are sealed with. */
export const CURSOR_KEY_BYTES = 32;
/** 96 bits of HMAC-SHA256 or AES-CMAC: enough that a forged cursor is a guess. */
const MAC_BYTES = 12;
/** A filter fingerprint's length, in base64url characters (72 bits of SHA-256). */
const FINGERPRINT_CHARS = 12;
const NOT_OURS = 'cursor is not one this server gave out; start again without it';

const PAGE = 1;
/** A line's cursor signed with HMAC-SHA256 on its own, as given out before LINE: still opened, no longer made. */
const HMAC_LINE = 2;
/** A line's cursor signed with AES-CMAC, a page's lines all at once. */
const LINE = 3;
type Kind = typeof PAGE | typeof HMAC_LINE | typeof LINE;

/** What a cursor holds: its kind, the time in clear, one AES block of the row id and partition, and a page's fingerprint. */
const TS_AT = 1;
const BLOCK_AT = TS_AT + 8;
const BLOCK_BYTES = 16;
const FINGERPRINT_AT = BLOCK_AT + BLOCK_BYTES;
const HELD_BYTES: Record<Kind, number> = { [PAGE]: FINGERPRINT_AT + FINGERPRINT_CHARS, [HMAC_LINE]: FINGERPRINT_AT, [LINE]: FINGERPRINT_AT };
const LINE_CURSOR_BYTES = HELD_BYTES[LINE] + MAC_BYTES;

/** A short digest of the filters a cursor was made for: the same query must come back with it. */
export function filterFingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, FINGERPRINT_CHARS);
}

/** A safe non-negative integer in 8 bytes, as two 32-bit halves (BigInt costs more, a page may hold 5,000 cursors). */
function writeWhole(bytes: Buffer, n: number, at: number): void {
  bytes.writeUInt32BE(Math.floor(n / 2 ** 32), at);
  bytes.writeUInt32BE(n >>> 0, at + 4);
}

/** `length` bytes from `source` at `from` into `target` at `to`: for a few bytes, quicker than Buffer.copy's call into C++. */
function copyBytes(source: Buffer, from: number, target: Buffer, to: number, length: number): void {
  for (let i = 0; i < length; i++) target[to + i] = source[from + i];
}

function readWhole(bytes: Buffer, at: number): number | null {
  const n = bytes.readUInt32BE(at) * 2 ** 32 + bytes.readUInt32BE(at + 4);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Page cursors (a position bound to the query's filters) and line cursors (a line's position). The
 * row id, which would tell how many lines of every namespace were stored between two cursors, is
 * enciphered with its partition as one AES-256 block (the same position always gives the same cursor,
 * and nothing of it shows); the whole is signed, so a cursor that was changed, or made elsewhere, is
 * refused rather than read: a page cursor with HMAC-SHA256, the line cursors of a page with AES-CMAC all
 * at once (an HMAC each cost more than reading the page). Keys are derived from the data dir's key, one
 * for each use.
 */
export class CursorCodec {
  private readonly macKey: Buffer;
  private readonly lineMac: AesCmac;
  // ECB over whole blocks: a keyed permutation of each (id, partition), each block independent, so one
  // cipher serves every cursor without being set up again, and a page's blocks go through it in one call.
  private readonly encipher: Cipher;
  private readonly decipher: Decipher;

  constructor(key: Buffer) {
    const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `daylog cursor ${purpose}`, CURSOR_KEY_BYTES));
    this.macKey = derive('signing');
    this.lineMac = new AesCmac(derive('line signing'));
    const blockKey = derive('position');
    this.encipher = createCipheriv('aes-256-ecb', blockKey, null).setAutoPadding(false);
    this.decipher = createDecipheriv('aes-256-ecb', blockKey, null).setAutoPadding(false);
  }

  encodePage(position: CursorPosition, fingerprint: string): string {
    const held = this.held(PAGE, [position]);
    held.write(fingerprint, FINGERPRINT_AT, 'latin1');
    return Buffer.concat([held, this.hmac(held)]).toString('base64url');
  }

  decodePage(cursor: string, fingerprint: string): CursorDecoding {
    const opened = this.open(cursor, PAGE);
    if (!opened) return { problem: NOT_OURS };
    if (opened.fingerprint !== fingerprint) {
      return { problem: 'cursor belongs to a query with other filters; repeat that query or start again without it' };
    }
    return { position: opened.position };
  }

  /** A handle for one line, whatever the query that found it: where the line's context is read from. */
  encodeLine(position: CursorPosition): string {
    return this.encodeLines([position])[0];
  }

  /** encodeLine of each position, for a page's lines at the cost of a few. */
  encodeLines(positions: readonly CursorPosition[]): string[] {
    const held = this.held(LINE, positions);
    const tags = this.lineMac.tags(held, HELD_BYTES[LINE]);
    const sealed = Buffer.allocUnsafe(positions.length * LINE_CURSOR_BYTES);
    const cursors: string[] = [];
    for (let i = 0; i < positions.length; i++) {
      const at = i * LINE_CURSOR_BYTES;
      copyBytes(held, i * HELD_BYTES[LINE], sealed, at, HELD_BYTES[LINE]);
      copyBytes(tags, i * BLOCK_BYTES, sealed, at + HELD_BYTES[LINE], MAC_BYTES);
      cursors.push(sealed.toString('base64url', at, at + LINE_CURSOR_BYTES));
    }
    return cursors;
  }

  decodeLine(cursor: string): CursorDecoding {
    const opened = this.open(cursor, LINE) ?? this.open(cursor, HMAC_LINE);
    return opened ? { position: opened.position } : { problem: "cursor is not a line's cursor from this server: take it from a line of a json or ndjson answer" };
  }

  private hmac(held: Buffer): Buffer {
    return createHmac('sha256', this.macKey).update(held).digest().subarray(0, MAC_BYTES);
  }

  private mac(kind: Kind, held: Buffer): Buffer {
    return kind === LINE ? this.lineMac.tags(held, held.length).subarray(0, MAC_BYTES) : this.hmac(held);
  }

  /** What cursors of `kind` hold for the positions, end to end, the fingerprint left to write. */
  private held(kind: Kind, positions: readonly CursorPosition[]): Buffer {
    const blocks = Buffer.allocUnsafe(positions.length * BLOCK_BYTES);
    positions.forEach((position, i) => {
      writeWhole(blocks, position.id, i * BLOCK_BYTES);
      writeWhole(blocks, position.partitionStart, i * BLOCK_BYTES + 8);
    });
    const enciphered = this.encipher.update(blocks);
    const held = Buffer.alloc(positions.length * HELD_BYTES[kind]);
    positions.forEach((position, i) => {
      const at = i * HELD_BYTES[kind];
      held[at] = kind;
      writeWhole(held, position.ts, at + TS_AT);
      copyBytes(enciphered, i * BLOCK_BYTES, held, at + BLOCK_AT, BLOCK_BYTES);
    });
    return held;
  }

  /** The position (and fingerprint) of a cursor of `kind` made here and not changed since; null otherwise. */
  private open(cursor: string, kind: Kind): { position: CursorPosition; fingerprint: string } | null {
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length !== HELD_BYTES[kind] + MAC_BYTES || bytes.toString('base64url') !== cursor) return null;
    const held = bytes.subarray(0, HELD_BYTES[kind]);
    if (held[0] !== kind || !timingSafeEqual(bytes.subarray(HELD_BYTES[kind]), this.mac(kind, held))) return null;
    const block = this.decipher.update(held.subarray(BLOCK_AT, FINGERPRINT_AT));
    const [ts, partitionStart, id] = [readWhole(held, TS_AT), readWhole(block, 8), readWhole(block, 0)];
    if (ts === null || partitionStart === null || id === null) return null;
    return { position: { ts, partitionStart, id }, fingerprint: held.toString('latin1', FINGERPRINT_AT) };
  }
}
