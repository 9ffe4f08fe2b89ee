import { createHash } from 'node:crypto';
import { FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { ShipperConfig } from '@daylog/config/shipper';
import { OutgoingLine } from './aggregator-client';
import { BatchRange, FileCheckpoint } from './checkpoint-store';
import { keptLineBytes, markTruncated } from './line-cap';
import { LineParser, parserFor } from './line-parsers';
import { LineSplitter } from './line-splitter';
import { ShipperMetrics } from './shipper-metrics';

export const FINGERPRINT_BYTES = 64;
const READ_CHUNK_BYTES = 256 * 1024;

export async function readFingerprint(handle: FileHandle): Promise<string> {
  const buffer = Buffer.alloc(FINGERPRINT_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, FINGERPRINT_BYTES, 0);
  return buffer.subarray(0, bytesRead).toString('hex');
}

/** Whether a file begins with the bytes a fingerprint recorded (a longer file still matches). */
export async function startsWith(handle: FileHandle, fingerprint: string): Promise<boolean> {
  return (await readFingerprint(handle)).startsWith(fingerprint);
}

/**
 * One file being shipped, read through its own descriptor so that a renamed or deleted file can
 * still be finished. Lines wait in `pending` until they are sent as one batch.
 */
export class TrackedFile {
  readonly splitter: LineSplitter;
  pending: OutgoingLine[] = [];
  pendingBytes = 0;
  pendingSinceMs = 0;
  /** The next byte to read. */
  readOffset: number;
  /** The first byte no batch covers yet: where the pending batch's range starts. */
  batchStart: number;
  /** The file's size when last looked at. */
  size = 0;
  /** Batches sent since `checkpoint.offset`, in order; the offset moves over the acknowledged front. */
  sent: (BatchRange & { acked: boolean })[] = [];
  /** Ranges of batches sent before a restart, still to be formed again exactly so. */
  resend: BatchRange[];
  /** No glob names it any more (renamed or deleted): finish it, then let go. */
  rotated = false;
  lastGrowthMs: number;
  private parser: LineParser | null = null;
  /**
   * Reused for every read: a fresh 256 kB buffer costs ~0.6 ms of page faults here, more than
   * splitting the lines in it.
   */
  private readonly readBuffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);

  constructor(
    readonly handle: FileHandle,
    readonly checkpoint: FileCheckpoint,
    private readonly config: ShipperConfig,
    private readonly metrics: ShipperMetrics,
    nowMs: number,
  ) {
    this.splitter = new LineSplitter(keptLineBytes(config.maxLineBytes));
    this.readOffset = checkpoint.offset;
    this.batchStart = checkpoint.offset;
    this.resend = [...checkpoint.inflight];
    this.lastGrowthMs = nowMs;
  }

  /**
   * Fails if the path no longer leads to the checkpoint's file: a link swapped since the file was
   * checked to be inside the watched folders must not be read.
   */
  static async open(path: string, checkpoint: FileCheckpoint, config: ShipperConfig, metrics: ShipperMetrics, nowMs: number): Promise<TrackedFile> {
    const handle = await open(path, 'r');
    const { dev, ino } = await handle.stat();
    if (dev !== checkpoint.dev || ino !== checkpoint.ino) {
      await handle.close();
      throw new Error(`${path} changed since it was looked at`);
    }
    return new TrackedFile(handle, checkpoint, config, metrics, nowMs);
  }

  /** Names this file's byte ranges across pods, inodes and truncations; short enough for a key. */
  get identity(): string {
    const { namespace, pod, container } = this.config.labels;
    const c = this.checkpoint;
    return createHash('sha256')
      .update(`${namespace ?? ''}/${pod}/${container ?? ''}:${c.dev}:${c.ino}:${c.firstSeenMs}:${c.generation}`)
      .digest('base64url')
      .slice(0, 22);
  }

  /** Reads what is there (up to one chunk) into pending lines; returns the bytes read. */
  async readMore(limitBytes: number): Promise<number> {
    const buffer = this.readBuffer;
    const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, limitBytes), this.readOffset);
    if (bytesRead === 0) return 0;
    if (this.checkpoint.fingerprint.length < FINGERPRINT_BYTES * 2) this.checkpoint.fingerprint = await readFingerprint(this.handle);
    this.accept(this.splitter.push(buffer.subarray(0, bytesRead), this.readOffset));
    this.readOffset += bytesRead;
    return bytesRead;
  }

  /** Reads bytes of the same content from elsewhere: the rotated copy of a copytruncated file. */
  async readFrom(handle: FileHandle, from: number, to: number): Promise<void> {
    for (let offset = from; offset < to; ) {
      const buffer = this.readBuffer;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - offset), offset);
      if (bytesRead === 0) break;
      this.accept(this.splitter.push(buffer.subarray(0, bytesRead), offset));
      offset += bytesRead;
    }
  }

  /** A last line with no newline, shipped when the file is finished for good. */
  acceptPartialLine(): void {
    if (this.splitter.pendingBytes === 0) return;
    this.accept(this.splitter.push(Buffer.from('\n'), this.readOffset).map((line) => ({ ...line, endOffset: this.readOffset })));
  }

  /** The checkpoint's view of the batches beyond its offset: those sent, then those still to resend. */
  syncCheckpoint(): void {
    this.checkpoint.inflight = [...this.sent.map(({ start, end }) => ({ start, end })), ...this.resend];
  }

  private accept(lines: ReturnType<LineSplitter['push']>): void {
    const source = basename(this.checkpoint.path);
    for (const split of lines) {
      this.parser ??= parserFor(this.config.format, source, split.text);
      const message = markTruncated(split.text, split.truncatedBytes);
      if (split.truncatedBytes > 0) this.metrics.linesTruncated++;
      if (split.invalidUtf8) this.metrics.linesInvalidUtf8++;
      if (message.length === 0) continue;
      const parsed = this.parser(message);
      const { ts, level, fields, format } = parsed;
      this.pending.push({ ts, level, message: parsed.message, fields, format, source, endOffset: split.endOffset });
      this.pendingBytes += message.length;
      this.metrics.linesRead++;
    }
  }
}
