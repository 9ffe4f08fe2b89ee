import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LineRow } from '@daylog/storage';

/**
 * A block's payload: lines of one label set in reading order (time, then id), each column stored apart so that
 * like values sit together (times as growing deltas, levels and formats as a byte each), then deflated whole.
 * Deflate at level 6 over ~1024 lines measured 8× on nginx lines here (COMPRESSION.md §3), with no dependency.
 */
const PAYLOAD_VERSION = 1;
/** The payload's flag: every message is ASCII, so a character's offset is its byte's and the text decodes as latin1. */
const ALL_ASCII = 1;
const DEFLATE_LEVEL = 6;

/** The line columns a block keeps; its label set is the block's own. */
export type BlockLine = Omit<LineRow, 'labelSetId'>;

/** Growing bytes, written as unsigned varints (7 bits a byte, numbers up to 2^53). */
class ByteWriter {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }

  varint(value: number): void {
    this.room(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  text(value: string): number {
    const bytes = Buffer.byteLength(value);
    this.room(bytes);
    this.buffer.write(value, this.length);
    this.length += bytes;
    return bytes;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

class ByteReader {
  offset = 0;

  constructor(readonly buffer: Buffer) {}

  byte(): number {
    return this.buffer[this.offset++];
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buffer[this.offset++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}

/** Signed to unsigned, small magnitudes small: ids of a label set mostly grow with time but need not. */
const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);
const unzigzag = (value: number): number => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);

/** The block's lines, in reading order, as its uncompressed payload. */
function encodePayload(lines: readonly BlockLine[]): Buffer {
  const out = new ByteWriter();
  out.byte(PAYLOAD_VERSION);
  out.byte(lines.every((line) => isAscii(line.message)) ? ALL_ASCII : 0);
  out.varint(lines.length);
  lines.forEach((line, i) => out.varint(i === 0 ? line.ts : line.ts - lines[i - 1].ts));
  lines.forEach((line, i) => out.varint(i === 0 ? line.id : zigzag(line.id - lines[i - 1].id)));
  for (const line of lines) out.byte(line.severity);
  for (const line of lines) out.byte(line.format === null ? 0 : line.format + 1);
  for (const line of lines) out.varint(line.fields === null ? 0 : Buffer.byteLength(line.fields) + 1);
  for (const line of lines) if (line.fields !== null) out.text(line.fields);
  for (const line of lines) out.varint(Buffer.byteLength(line.message));
  for (const line of lines) out.text(line.message);
  return out.bytes();
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[^\x00-\x7f]/.test(text);
}

/** A block's payload compressed: what the `data` column holds. */
export function compressBlock(lines: readonly BlockLine[]): Buffer {
  return deflateRawSync(encodePayload(lines), { level: DEFLATE_LEVEL });
}

/** A block read back: its keys and small columns at once, its messages and fields when asked for. */
export class DecodedBlock {
  readonly ts: number[];
  readonly ids: number[];
  readonly severities: Uint8Array;
  private readonly formats: Uint8Array;
  /** Per line: 0 when it has no fields, else their length in bytes + 1. */
  private readonly fieldLengths: number[];
  private readonly fieldBounds: number[];
  private readonly messageBounds: number[];
  private readonly allAscii: boolean;
  private joinedText: string | null = null;

  private constructor(private readonly payload: Buffer) {
    const input = new ByteReader(payload);
    const version = input.byte();
    if (version !== PAYLOAD_VERSION) throw new Error(`a block's payload is of version ${version}, which this Daylog cannot read`);
    this.allAscii = (input.byte() & ALL_ASCII) !== 0;
    const count = input.varint();
    this.ts = new Array<number>(count);
    this.ids = new Array<number>(count);
    for (let i = 0; i < count; i++) this.ts[i] = i === 0 ? input.varint() : this.ts[i - 1] + input.varint();
    for (let i = 0; i < count; i++) this.ids[i] = i === 0 ? input.varint() : this.ids[i - 1] + unzigzag(input.varint());
    this.severities = payload.subarray(input.offset, input.offset + count);
    this.formats = payload.subarray(input.offset + count, input.offset + 2 * count);
    input.offset += 2 * count;
    this.fieldLengths = Array.from({ length: count }, () => input.varint());
    this.fieldBounds = boundsOf(this.fieldLengths.map((length) => Math.max(0, length - 1)), input.offset);
    input.offset = this.fieldBounds[count];
    const messageLengths = Array.from({ length: count }, () => input.varint());
    this.messageBounds = boundsOf(messageLengths, input.offset);
  }

  static inflate(data: Buffer): DecodedBlock {
    return new DecodedBlock(inflateRawSync(data));
  }

  get length(): number {
    return this.ts.length;
  }

  /** Every message, one after the other with nothing between: a text that does not hold a word holds no line that does. */
  get text(): string {
    this.joinedText ??= this.payload.toString(this.allAscii ? 'latin1' : 'utf8', this.messageBounds[0], this.messageBounds[this.length]);
    return this.joinedText;
  }

  /** Whether every message is ASCII: then the text's lower case is each message's, as SQLite's LIKE and the matcher fold it. */
  get ascii(): boolean {
    return this.allAscii;
  }

  message(i: number): string {
    if (this.allAscii) return this.text.slice(this.messageBounds[i] - this.messageBounds[0], this.messageBounds[i + 1] - this.messageBounds[0]);
    return this.payload.toString('utf8', this.messageBounds[i], this.messageBounds[i + 1]);
  }

  fields(i: number): string | null {
    if (this.fieldLengths[i] === 0) return null;
    return this.payload.toString('utf8', this.fieldBounds[i], this.fieldBounds[i + 1]);
  }

  format(i: number): number | null {
    return this.formats[i] === 0 ? null : this.formats[i] - 1;
  }

  row(i: number, labelSetId: number): LineRow {
    return { id: this.ids[i], ts: this.ts[i], labelSetId, severity: this.severities[i], message: this.message(i), fields: this.fields(i), format: this.format(i) };
  }
}

/** Where each of a run of lengths starts, from `start`, and where the last ends. */
function boundsOf(lengths: number[], start: number): number[] {
  const bounds = new Array<number>(lengths.length + 1);
  bounds[0] = start;
  for (let i = 0; i < lengths.length; i++) bounds[i + 1] = bounds[i] + lengths[i];
  return bounds;
}
