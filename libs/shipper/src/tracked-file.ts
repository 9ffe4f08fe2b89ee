import { createHash } from 'node:crypto';
import { FileHandle, open } from 'node:fs/promises';
import { LabelName } from '@daylog/log-model';
import { OutgoingLine } from './aggregator-client';
import { BatchRange, FileCheckpoint, containerFileIdentity } from './checkpoint-store';
import { LineDecoder } from './line-decoder';
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

/** How a file's fingerprint is taken, and whether it is final or may still grow with the file. */
export interface Fingerprinter {
  read(handle: FileHandle): Promise<string>;
  isWhole(fingerprint: string): boolean;
}

/** The sidecar's: the first FINGERPRINT_BYTES. */
export const FIRST_BYTES: Fingerprinter = {
  read: readFingerprint,
  isWhole: (fingerprint) => fingerprint.length >= FINGERPRINT_BYTES * 2,
};

/** What a file's lines are labelled with: the sidecar's pod, or the container its path names. */
export type BatchLabels = Partial<Record<LabelName, string | null>>;

let readBuffer: Buffer | null = null;

/**
 * Every read of every file goes through one buffer: a fresh 256 kB buffer costs ~0.6 ms of page faults
 * here, more than splitting the lines in it, and a buffer a file held 51 MB for a node agent's 200
 * files. Files are read one at a time, and what outlives a read (a line's unfinished tail, a piece
 * kept for joining) is copied out of it.
 */
function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES);
  return readBuffer;
}

/**
 * One file being shipped, read through its own descriptor so that a renamed or deleted file can
 * still be finished. Lines wait in `pending`, in the order of their ends, until they are sent as one batch.
 */
export class TrackedFile {
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
  /** No longer where it was found (renamed or deleted): finish it, then let go. */
  rotated = false;
  lastGrowthMs: number;
  /** The one read buffer (sharedReadBuffer). */
  private readonly readBuffer = sharedReadBuffer();

  constructor(
    /** Names it among the files followed. */
    readonly key: string,
    readonly handle: FileHandle,
    readonly checkpoint: FileCheckpoint,
    readonly labels: BatchLabels,
    readonly decoder: LineDecoder,
    private readonly metrics: ShipperMetrics,
    nowMs: number,
    private readonly fingerprinter: Fingerprinter = FIRST_BYTES,
  ) {
    this.readOffset = checkpoint.offset;
    this.batchStart = checkpoint.offset;
    this.resend = [...checkpoint.inflight];
    this.lastGrowthMs = nowMs;
  }

  /**
   * Opens `path`, failing if it no longer leads to the checkpoint's file: a link swapped since the
   * file was looked at must not be read.
   */
  static async openChecked(path: string, checkpoint: FileCheckpoint): Promise<FileHandle> {
    const handle = await open(path, 'r');
    const { dev, ino } = await handle.stat();
    if (dev !== checkpoint.dev || ino !== checkpoint.ino) {
      await handle.close();
      throw new Error(`${path} changed since it was looked at`);
    }
    return handle;
  }

  /** Names this file's byte ranges across pods, inodes and truncations; short enough for a key. */
  get identity(): string {
    const c = this.checkpoint;
    if (c.identity !== undefined) return c.identity;
    const { namespace, pod, container } = this.labels;
    return createHash('sha256')
      .update(`${namespace ?? ''}/${pod}/${container ?? ''}:${c.dev}:${c.ino}:${c.firstSeenMs}:${c.generation}`)
      .digest('base64url')
      .slice(0, 22);
  }

  /** Reads what is there (up to one chunk) into pending lines; returns the bytes read. */
  async readMore(limitBytes: number, nowMs: number): Promise<number> {
    const buffer = this.readBuffer;
    const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, limitBytes), this.readOffset);
    if (bytesRead === 0) return 0;
    const checkpoint = this.checkpoint;
    if (!this.fingerprinter.isWhole(checkpoint.fingerprint)) {
      checkpoint.fingerprint = await this.fingerprinter.read(this.handle);
      if (checkpoint.container && this.fingerprinter.isWhole(checkpoint.fingerprint)) checkpoint.identity ??= containerFileIdentity(checkpoint.container, checkpoint.fingerprint);
    }
    this.accept(this.decoder.push(buffer.subarray(0, bytesRead), this.readOffset, nowMs));
    this.readOffset += bytesRead;
    return bytesRead;
  }

  /** Reads bytes of the same content from elsewhere: the rotated copy of a copytruncated file. */
  async readFrom(handle: FileHandle, from: number, to: number, nowMs: number): Promise<void> {
    for (let offset = from; offset < to; ) {
      const buffer = this.readBuffer;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - offset), offset);
      if (bytesRead === 0) break;
      this.accept(this.decoder.push(buffer.subarray(0, bytesRead), offset, nowMs));
      offset += bytesRead;
    }
  }

  /** Lines that waited too long for their rest go as they are. */
  expire(nowMs: number, caughtUp: boolean): void {
    this.accept(this.decoder.expire(nowMs, caughtUp));
  }

  /** The lines still held (a last line with no newline, an unfinished piece), for a file finished for good. */
  acceptPartialLine(nowMs: number): void {
    this.accept(this.decoder.finish(this.readOffset, nowMs));
  }

  /** How many pending lines may go now: those ending where no line still being joined began. */
  get settledLines(): number {
    const settled = this.decoder.settledOffset();
    if (settled === Infinity) return this.pending.length;
    let count = 0;
    while (count < this.pending.length && this.pending[count].endOffset <= settled) count++;
    return count;
  }

  /** The checkpoint's view of the batches beyond its offset: those sent, then those still to resend. */
  syncCheckpoint(): void {
    this.checkpoint.inflight = [...this.sent.map(({ start, end }) => ({ start, end })), ...this.resend];
  }

  private accept(lines: OutgoingLine[]): void {
    for (const line of lines) {
      let at = this.pending.length;
      while (at > 0 && this.pending[at - 1].endOffset > line.endOffset) at--;
      if (at === this.pending.length) this.pending.push(line);
      else this.pending.splice(at, 0, line);
      this.pendingBytes += line.message.length;
      this.metrics.linesRead++;
    }
  }
}
