export interface SplitLine {
  text: string;
  /** Byte offset just past this line's newline: where a checkpoint may point after it is shipped. */
  endOffset: number;
  /** Bytes cut off the end of a line longer than the cap. */
  truncatedBytes: number;
  /** The line had bytes that are not UTF-8; they were replaced with U+FFFD. */
  invalidUtf8: boolean;
}

const NEWLINE = 0x0a;
const REPLACEMENT = '\ufffd';
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT);

/**
 * Cuts a byte stream into complete lines; a chunk may be overwritten once push returns. The bytes after the last newline wait for the rest of
 * their line; a line longer than the cap keeps its first maxLineBytes and the rest is counted and
 * skipped up to the next newline, so memory stays bounded and the file is never abandoned.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipped = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Bytes read but not yet part of a complete line. */
  get pendingBytes(): number {
    return this.partialBytes + this.skipped;
  }

  push(chunk: Buffer, chunkOffset: number): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      this.keep(chunk.subarray(start, newline));
      lines.push(this.complete(chunkOffset + newline + 1));
      start = newline + 1;
    }
    // Copied: the caller reuses its read buffer, and this tail waits for the next read.
    this.keep(Buffer.from(chunk.subarray(start)));
    return lines;
  }

  reset(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.skipped = 0;
  }

  private keep(bytes: Buffer): void {
    const room = this.maxLineBytes - this.partialBytes;
    if (bytes.length > room) {
      this.skipped += bytes.length - Math.max(room, 0);
      bytes = bytes.subarray(0, Math.max(room, 0));
    }
    if (bytes.length > 0) {
      this.partial.push(bytes);
      this.partialBytes += bytes.length;
    }
  }

  private complete(endOffset: number): SplitLine {
    let bytes = this.partial.length === 1 ? this.partial[0] : Buffer.concat(this.partial, this.partialBytes);
    if (bytes.at(-1) === 0x0d) bytes = bytes.subarray(0, -1);
    const text = bytes.toString('utf8');
    const invalidUtf8 = text.includes(REPLACEMENT) && !bytes.includes(REPLACEMENT_BYTES);
    const line: SplitLine = { text, endOffset, truncatedBytes: this.skipped, invalidUtf8 };
    this.reset();
    return line;
  }
}
