import { CappedLineBytes, DecodedLine } from './line-cap';

export interface SplitLine extends DecodedLine {
  /** Byte offset just past this line's newline: where a checkpoint may point after it is shipped. */
  endOffset: number;
}

const NEWLINE = 0x0a;

/**
 * Cuts a byte stream into complete lines; a chunk may be overwritten once push returns. The bytes after the last newline wait for the rest of
 * their line; a line longer than the cap keeps its first maxLineBytes and the rest is counted and
 * skipped up to the next newline, so memory stays bounded and the file is never abandoned.
 */
export class LineSplitter {
  private readonly line: CappedLineBytes;

  constructor(maxLineBytes: number) {
    this.line = new CappedLineBytes(maxLineBytes);
  }

  /** Bytes read but not yet part of a complete line. */
  get pendingBytes(): number {
    return this.line.bytes;
  }

  push(chunk: Buffer, chunkOffset: number): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      this.line.append(chunk.subarray(start, newline));
      lines.push({ ...this.line.take(), endOffset: chunkOffset + newline + 1 });
      start = newline + 1;
    }
    // Copied: the caller reuses its read buffer, and this tail waits for the next read.
    this.line.append(chunk.subarray(start), true);
    return lines;
  }

  reset(): void {
    this.line.clear();
  }
}
