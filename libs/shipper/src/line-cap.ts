/** Room kept under DAYLOG_MAX_LINE_BYTES for the truncation mark, so a cut line still fits the aggregator. */
const TRUNCATION_MARK_BYTES = 64;
const CARRIAGE_RETURN = 0x0d;
const REPLACEMENT = '\ufffd';
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT);
const NO_BYTES = Buffer.alloc(0);

/** How many bytes of a line are kept under DAYLOG_MAX_LINE_BYTES; the rest is cut and counted in the mark. */
export function keptLineBytes(maxLineBytes: number): number {
  return maxLineBytes - TRUNCATION_MARK_BYTES;
}

/** The message a cut line is shipped as: what was kept, then how much was cut. */
export function markTruncated(text: string, truncatedBytes: number): string {
  return truncatedBytes > 0 ? `${text} …[truncated ${truncatedBytes} bytes]` : text;
}

export interface DecodedLine {
  text: string;
  /** Bytes cut off the end of a line longer than the cap. */
  truncatedBytes: number;
  /** The line had bytes that are not UTF-8; they were replaced with U+FFFD. */
  invalidUtf8: boolean;
}

/**
 * The bytes of one line as they arrive in parts: the first `capBytes` are kept and the rest only
 * counted, so a line that never ends costs bounded memory. Decoded once whole, so a UTF-8
 * character split between two parts comes out intact.
 */
export class CappedLineBytes {
  /** Most lines come in one part: it is kept apart, so that they need no array each. */
  private first: Buffer | null = null;
  private rest: Buffer[] = [];
  private kept = 0;
  private skipped = 0;

  constructor(private readonly capBytes: number) {}

  /** Bytes of the line so far, kept or not. */
  get bytes(): number {
    return this.kept + this.skipped;
  }

  /** Bytes held in memory. */
  get keptBytes(): number {
    return this.kept;
  }

  /** `copy` when the caller will overwrite `bytes` before the line is taken. */
  append(bytes: Buffer, copy = false): void {
    const room = Math.max(this.capBytes - this.kept, 0);
    if (bytes.length > room) {
      this.skipped += bytes.length - room;
      bytes = bytes.subarray(0, room);
    }
    if (bytes.length === 0) return;
    const part = copy ? Buffer.from(bytes) : bytes;
    if (this.first === null) this.first = part;
    else this.rest.push(part);
    this.kept += bytes.length;
  }

  /** The line's kept bytes as they are, and how many were cut; empty again after. May share the appended buffers. */
  takeBytes(): { bytes: Buffer; truncatedBytes: number } {
    const taken = { bytes: this.joined(), truncatedBytes: this.skipped };
    this.clear();
    return taken;
  }

  /** The line as text, a final `\r` dropped; empty again after. */
  take(): DecodedLine {
    let bytes = this.joined();
    if (bytes.at(-1) === CARRIAGE_RETURN) bytes = bytes.subarray(0, -1);
    const text = bytes.toString('utf8');
    const invalidUtf8 = text.includes(REPLACEMENT) && !bytes.includes(REPLACEMENT_BYTES);
    const line: DecodedLine = { text, truncatedBytes: this.skipped, invalidUtf8 };
    this.clear();
    return line;
  }

  private joined(): Buffer {
    if (this.first === null) return NO_BYTES;
    return this.rest.length === 0 ? this.first : Buffer.concat([this.first, ...this.rest], this.kept);
  }

  clear(): void {
    this.first = null;
    if (this.rest.length > 0) this.rest = [];
    this.kept = 0;
    this.skipped = 0;
  }
}
