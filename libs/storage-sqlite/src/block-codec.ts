import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { JoinedTextTest, LineRow } from '@daylog/storage';

/**
 * A block's payload: lines of one label set in reading order (time, then id), each column stored apart so that
 * like values sit together (times as growing deltas, levels and formats as a byte each), then deflated whole.
 * Deflate at level 6 over ~1024 lines measured 8× on nginx lines here (COMPRESSION.md §3), with no dependency.
 * Messages in the shape of an nginx access line are taken apart into columns (addresses with addresses, agents
 * with agents), which deflate packs half as small again; any other message is kept whole.
 */
const PAYLOAD_VERSION = 2;
/** The payload's flag: every message is ASCII, so a character's offset is its byte's and the text decodes as latin1. */
const ALL_ASCII = 1;
const DEFLATE_LEVEL = 6;

/**
 * An nginx access line (combined, and whatever follows it, such as $request_time), matched whole: the line is
 * exactly its pieces with these separators between, so it is rebuilt byte for byte. No piece holds a newline,
 * which joins each column's values.
 */
const ACCESS_SHAPE = /^(\S+) (\S+) (\S+) \[([^\]\n]+)\] "([^"\n]*)" (\S+) (\S+) "([^"\n]*)" "([^"\n]*)"([^\n]*)$/;
const ACCESS_COLUMNS = 10;
/** What the separators between an access line's columns are made of. */
const SEPARATOR_CHARACTERS = /[ [\]"\n]/;
/** The time column keeps a value only where it differs from the line before: lines of a second share it. */
const ACCESS_TIME = 3;
const RAW_SHAPE = 0;
const ACCESS = 1;

function accessLine(c: string[]): string {
  return `${c[0]} ${c[1]} ${c[2]} [${c[3]}] "${c[4]}" ${c[5]} ${c[6]} "${c[7]}" "${c[8]}"${c[9]}`;
}

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

  append(bytes: Buffer): void {
    this.room(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
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

/**
 * The block's lines, in reading order, as its uncompressed payload: a header (version, flags, lines, the text's
 * bytes), the text (whole messages, then the access lines' columns), then the rest, read only when a line is.
 * A search reads the text alone, and reads it as it lies.
 */
function encodePayload(lines: readonly BlockLine[]): Buffer {
  const shapes = lines.map((line) => ACCESS_SHAPE.exec(line.message));
  const text = new ByteWriter();
  lines.forEach((line, i) => !shapes[i] && text.varint(Buffer.byteLength(line.message)));
  lines.forEach((line, i) => !shapes[i] && text.text(line.message));
  const accessLines = shapes.filter((shape) => shape !== null);
  for (let column = 0; column < ACCESS_COLUMNS; column++) {
    const values = accessLines.map((shape, i) => {
      const value = shape[column + 1];
      return column === ACCESS_TIME && i > 0 && value === accessLines[i - 1][ACCESS_TIME + 1] ? '' : value;
    });
    const joined = values.join('\n');
    text.varint(Buffer.byteLength(joined));
    text.text(joined);
  }
  const out = new ByteWriter();
  out.byte(PAYLOAD_VERSION);
  out.byte(lines.every((line) => isAscii(line.message)) ? ALL_ASCII : 0);
  out.varint(lines.length);
  out.varint(text.length);
  out.append(text.bytes());
  lines.forEach((line, i) => out.varint(i === 0 ? line.ts : line.ts - lines[i - 1].ts));
  lines.forEach((line, i) => out.varint(i === 0 ? line.id : zigzag(line.id - lines[i - 1].id)));
  for (const line of lines) out.byte(line.severity);
  for (const line of lines) out.byte(line.format === null ? 0 : line.format + 1);
  for (const shape of shapes) out.byte(shape ? ACCESS : RAW_SHAPE);
  for (const line of lines) out.varint(line.fields === null ? 0 : Buffer.byteLength(line.fields) + 1);
  for (const line of lines) if (line.fields !== null) out.text(line.fields);
  return out.bytes();
}

function isAscii(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[^\x00-\x7f]/.test(text);
}

/** A block's payload compressed (what the `data` column holds), and its size before (`payload_bytes`). */
export function compressBlock(lines: readonly BlockLine[]): { data: Buffer; payloadBytes: number } {
  const payload = encodePayload(lines);
  return { data: deflateRawSync(payload, { level: DEFLATE_LEVEL }), payloadBytes: payload.length };
}

/** What a block holds beside its text, read on first use. */
interface BlockColumns {
  ts: number[];
  ids: number[];
  severities: Uint8Array;
  formats: Uint8Array;
  shapes: Uint8Array;
  /** Per line: 0 when it has no fields, else their length in bytes + 1. */
  fieldLengths: number[];
  fieldBounds: number[];
}

/** A block read back: its text at once, its other columns and rebuilt messages when first asked for. */
export class DecodedBlock {
  readonly length: number;
  private readonly allAscii: boolean;
  private readonly textStart: number;
  private readonly textEnd: number;
  private decodedColumns: BlockColumns | null = null;
  private builtMessages: string[] | null = null;
  private joinedText: string | null = null;

  private constructor(private readonly payload: Buffer) {
    const input = new ByteReader(payload);
    const version = input.byte();
    if (version !== PAYLOAD_VERSION) throw new Error(`a block's payload is of version ${version}, which this Daylog cannot read`);
    this.allAscii = (input.byte() & ALL_ASCII) !== 0;
    this.length = input.varint();
    const textBytes = input.varint();
    this.textStart = input.offset;
    this.textEnd = input.offset + textBytes;
  }

  /** `payloadBytes`, the size it was compressed from: inflated into one buffer of that size, not pieces then joined. */
  static inflate(data: Buffer, payloadBytes: number): DecodedBlock {
    return new DecodedBlock(inflateRawSync(data, { chunkSize: Math.max(64, payloadBytes) }));
  }

  get ts(): number[] {
    return this.columns().ts;
  }

  get ids(): number[] {
    return this.columns().ids;
  }

  get severities(): Uint8Array {
    return this.columns().severities;
  }

  /** Every message, one after the other with nothing between: a text that does not hold a word holds no line that does. */
  get text(): string {
    this.joinedText ??= this.messages().join('');
    return this.joinedText;
  }

  /**
   * A text that holds each of `needles` if a message does: the text as stored (whole messages, and the columns of
   * the others), without rebuilding a message, when no needle holds a character of the separators between columns
   * (so none can span one); else `text`.
   */
  textHolding(needles: readonly string[]): string {
    if (this.builtMessages || needles.some((needle) => SEPARATOR_CHARACTERS.test(needle))) return this.text;
    return this.payload.toString(this.encoding, this.textStart, this.textEnd);
  }

  /** Whether every message is ASCII: then the text's lower case is each message's, as SQLite's LIKE and the matcher fold it. */
  get ascii(): boolean {
    return this.allAscii;
  }

  /**
   * Whether a message may hold every needle (lower-case ASCII, compared without ASCII case) as `test` means it:
   * in an all-ASCII block, each is looked for in the stored text's bytes, from a run of its characters that have no
   * case (found by Buffer.indexOf, in C) and checked around it; else by the test on the text.
   */
  mayHold(test: JoinedTextTest): boolean {
    if (!this.allAscii || this.builtMessages) return test.holds(this.textHolding(test.needles), this.allAscii);
    for (const needle of test.needles) {
      const anchor = caselessAnchor(needle);
      if (anchor === null || SEPARATOR_CHARACTERS.test(needle)) return test.holds(this.textHolding(test.needles), this.allAscii);
      if (!this.bytesHold(needle, anchor)) return false;
    }
    return true;
  }

  private bytesHold(needle: string, anchor: { text: string; at: number }): boolean {
    const { payload, textStart, textEnd } = this;
    for (let found = payload.indexOf(anchor.text, textStart, 'latin1'); found !== -1 && found < textEnd; found = payload.indexOf(anchor.text, found + 1, 'latin1')) {
      const start = found - anchor.at;
      if (start < textStart || start + needle.length > textEnd) continue;
      let i = 0;
      while (i < needle.length && (payload[start + i] | (isAsciiLetter(payload[start + i]) ? 0x20 : 0)) === needle.charCodeAt(i)) i++;
      if (i === needle.length) return true;
    }
    return false;
  }

  message(i: number): string {
    return this.messages()[i];
  }

  fields(i: number): string | null {
    const { fieldLengths, fieldBounds } = this.columns();
    if (fieldLengths[i] === 0) return null;
    return this.payload.toString('utf8', fieldBounds[i], fieldBounds[i + 1]);
  }

  format(i: number): number | null {
    const { formats } = this.columns();
    return formats[i] === 0 ? null : formats[i] - 1;
  }

  row(i: number, labelSetId: number): LineRow {
    return { id: this.ids[i], ts: this.ts[i], labelSetId, severity: this.severities[i], message: this.message(i), fields: this.fields(i), format: this.format(i) };
  }

  /** The line's row without its text (message empty, no fields or format): what a read that tests no text needs. */
  keyRow(i: number, labelSetId: number): LineRow {
    return { id: this.ids[i], ts: this.ts[i], labelSetId, severity: this.severities[i], message: '', fields: null, format: null };
  }

  /** ASCII text decodes as latin1, a character a byte, at C speed. */
  private get encoding(): BufferEncoding {
    return this.allAscii ? 'latin1' : 'utf8';
  }

  private columns(): BlockColumns {
    if (this.decodedColumns) return this.decodedColumns;
    const count = this.length;
    const input = new ByteReader(this.payload);
    input.offset = this.textEnd;
    const ts = new Array<number>(count);
    const ids = new Array<number>(count);
    for (let i = 0; i < count; i++) ts[i] = i === 0 ? input.varint() : ts[i - 1] + input.varint();
    for (let i = 0; i < count; i++) ids[i] = i === 0 ? input.varint() : ids[i - 1] + unzigzag(input.varint());
    const byteColumn = () => {
      const column = this.payload.subarray(input.offset, input.offset + count);
      input.offset += count;
      return column;
    };
    const severities = byteColumn();
    const formats = byteColumn();
    const shapes = byteColumn();
    const fieldLengths = Array.from({ length: count }, () => input.varint());
    const fieldBounds = boundsOf(fieldLengths.map((length) => Math.max(0, length - 1)), input.offset);
    this.decodedColumns = { ts, ids, severities, formats, shapes, fieldLengths, fieldBounds };
    return this.decodedColumns;
  }

  /** The messages, rebuilt once: whole ones as kept, access lines from their columns. */
  private messages(): string[] {
    if (this.builtMessages) return this.builtMessages;
    const { shapes } = this.columns();
    const input = new ByteReader(this.payload);
    input.offset = this.textStart;
    let rawLines = 0;
    for (let i = 0; i < this.length; i++) if (shapes[i] === RAW_SHAPE) rawLines++;
    const rawBounds = boundsOf(Array.from({ length: rawLines }, () => input.varint()), 0);
    const rawStart = input.offset;
    input.offset += rawBounds[rawLines];
    const columns: string[][] = [];
    for (let column = 0; column < ACCESS_COLUMNS; column++) {
      const bytes = input.varint();
      columns.push(this.payload.toString(this.encoding, input.offset, input.offset + bytes).split('\n'));
      input.offset += bytes;
    }
    const messages = new Array<string>(this.length);
    let raw = 0;
    let access = 0;
    let time = '';
    for (let i = 0; i < this.length; i++) {
      if (shapes[i] === RAW_SHAPE) {
        messages[i] = this.payload.toString(this.encoding, rawStart + rawBounds[raw], rawStart + rawBounds[raw + 1]);
        raw++;
        continue;
      }
      const values = columns.map((column) => column[access]);
      if (values[ACCESS_TIME] !== '') time = values[ACCESS_TIME];
      values[ACCESS_TIME] = time;
      messages[i] = accessLine(values);
      access++;
    }
    this.builtMessages = messages;
    return messages;
  }
}

const isAsciiLetter = (byte: number): boolean => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);

const anchors = new Map<string, { text: string; at: number } | null>();

/** The needle's longest run of characters without case (digits, punctuation), and where it starts; null when it has none. */
function caselessAnchor(needle: string): { text: string; at: number } | null {
  let anchor = anchors.get(needle);
  if (anchor === undefined) {
    anchor = null;
    for (const run of needle.matchAll(/[^a-zA-Z]+/g)) if (!anchor || run[0].length > anchor.text.length) anchor = { text: run[0], at: run.index };
    if (anchors.size > 64) anchors.clear();
    anchors.set(needle, anchor);
  }
  return anchor;
}

/** Where each of a run of lengths starts, from `start`, and where the last ends. */
function boundsOf(lengths: number[], start: number): number[] {
  const bounds = new Array<number>(lengths.length + 1);
  bounds[0] = start;
  for (let i = 0; i < lengths.length; i++) bounds[i + 1] = bounds[i] + lengths[i];
  return bounds;
}
