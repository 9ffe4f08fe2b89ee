import { OutgoingLine } from '../aggregator-client';
import { ContainerInstance, FileCheckpoint } from '../checkpoint-store';
import { markTruncated } from '../line-cap';
import { LineDecoder } from '../line-decoder';
import { RawLineSplitter } from '../line-splitter';
import { ShipperMetrics } from '../shipper-metrics';
import { RecordReader } from './container-record';
import { messageShape } from './message-shape';
import { JoinedLine, PieceJoiner, oldestStartIn } from './piece-joiner';
import { StackTraceJoiner } from './stack-trace-joiner';

/** How long a piece waits for the next one of its line (a last `P` when a stream closed never gets one). */
export const PIECE_TIMEOUT_MS = 5000;
/** How long a line waits for a stack trace's next line: traces are written at once. */
export const TRACE_TIMEOUT_MS = 1000;
/** The longest runtime record kept whole: a 16 KiB Docker piece escaped as `\u00XX` is six times longer. */
const MIN_RECORD_CAP_BYTES = 8 * 16 * 1024;
/** Room for a record's time, stream and tags (CRI) or JSON around the message (json-file). */
const RECORD_ENVELOPE_BYTES = 1024;

/**
 * A line shipped in one file that began in another. The file it began in sends nothing past `start`
 * until the line is acknowledged; the file it is shipped in saves no offset past `end` until the
 * other's offset passes `start`, so that a crash in between reads both again and forms the line again.
 */
export interface Crossing {
  file: string;
  start: number;
  /** The file the line began in, once known. */
  startedIn: FileCheckpoint | undefined;
  /** The file the line is shipped in, and where it ends there. */
  shippedIn: FileCheckpoint;
  end: number;
  acked: boolean;
}

/** The joiners of one container instance, shared by its files: a line may begin in one and end in the next. */
export interface ContainerJoiners {
  pieces: PieceJoiner<string>;
  /** With DAYLOG_MULTILINE=stacktrace only. */
  traces: StackTraceJoiner<string> | null;
  /** Lines made whole while another file of the instance was read: each waits for the file it ends in. */
  handedOver: JoinedLine<string>[];
  crossings: Crossing[];
  /** The checkpoints of the instance's files, by the token that names them to the joiners. */
  checkpoints: Map<string, FileCheckpoint>;
  /** The instance's files with bytes not yet read: a line's next piece may be among them, so none is overdue. */
  behind: Set<ContainerLogDecoder>;
  /** When the last of them caught up: time-outs count from then. */
  behindAtMs: number;
}

export function containerJoiners(maxLineBytes: number, stackTraces: boolean): ContainerJoiners {
  return {
    pieces: new PieceJoiner({ maxLineBytes, timeoutMs: PIECE_TIMEOUT_MS }),
    traces: stackTraces ? new StackTraceJoiner({ maxLineBytes, timeoutMs: TRACE_TIMEOUT_MS }) : null,
    handedOver: [],
    crossings: [],
    checkpoints: new Map(),
    behind: new Set(),
    behindAtMs: 0,
  };
}

export interface ContainerLogSettings {
  maxLineBytes: number;
  /** Lines older than this are passed over, not sent. */
  skipOlderThanMs: number;
}

/**
 * A node's container log file: records (CRI or json-file, by its own content) joined into lines per
 * stream, then stack traces if asked, each line labelled by its stream, with its record's time, the
 * level its message shows, and the fields `pod_uid` and `restart`. A line is shipped in the file its
 * last byte is in, so its key is that file's range; the files it began in keep their offsets before
 * it until it is acknowledged.
 */
export class ContainerLogDecoder implements LineDecoder {
  private readonly splitter: RawLineSplitter;
  private readonly reader = new RecordReader();
  private readonly fields: { pod_uid: string; restart: number };

  constructor(
    /** Its `identity`, set once its first bytes are read, names the file to the joiners. */
    private readonly checkpoint: FileCheckpoint & { container: ContainerInstance },
    private readonly joiners: ContainerJoiners,
    private readonly settings: ContainerLogSettings,
    private readonly metrics: ShipperMetrics,
  ) {
    this.splitter = new RawLineSplitter(Math.max(settings.maxLineBytes, MIN_RECORD_CAP_BYTES) + RECORD_ENVELOPE_BYTES);
    this.fields = { pod_uid: checkpoint.container.podUid, restart: checkpoint.container.restart };
  }

  push(chunk: Buffer, chunkOffset: number, nowMs: number): OutgoingLine[] {
    const lines: OutgoingLine[] = [];
    const file = this.file;
    if (file !== '') this.joiners.checkpoints.set(file, this.checkpoint);
    for (const raw of this.splitter.push(chunk, chunkOffset)) {
      const record = this.reader.read(raw.bytes);
      const joined = this.joiners.pieces.push(record, { file, start: raw.start, end: raw.end }, nowMs);
      if (joined) this.traced(joined, nowMs, lines);
    }
    return lines;
  }

  expire(nowMs: number, caughtUp: boolean): OutgoingLine[] {
    const lines: OutgoingLine[] = [];
    this.claimHandedOver(lines, nowMs);
    const { behind } = this.joiners;
    if (caughtUp) behind.delete(this);
    else behind.add(this);
    if (behind.size > 0) {
      this.joiners.behindAtMs = nowMs;
      return lines;
    }
    const notBefore = this.joiners.behindAtMs;
    for (const joined of this.joiners.pieces.expire(nowMs, notBefore)) this.traced(joined, nowMs, lines);
    for (const joined of this.joiners.traces?.expire(nowMs, notBefore) ?? []) this.ship(joined, nowMs, lines);
    return lines;
  }

  /** Nothing: a file is finished only once no line of it is held (settledOffset), and a held line may end in the next file. */
  finish(): OutgoingLine[] {
    return [];
  }

  settledOffset(): number {
    const file = this.file;
    const { pieces, traces, handedOver } = this.joiners;
    let settled = Math.min(pieces.oldestOpenStart(file) ?? Infinity, traces?.oldestOpenStart(file) ?? Infinity, oldestStartIn(file, handedOver) ?? Infinity);
    if (this.joiners.crossings.length === 0) return settled;
    this.joiners.crossings = this.joiners.crossings.filter((crossing) => !crossing.acked || (crossing.startedIn?.offset ?? Infinity) <= crossing.start);
    for (const crossing of this.joiners.crossings) if (crossing.file === file && !crossing.acked) settled = Math.min(settled, crossing.start);
    return settled;
  }

  /** Past the lines returned, held (settledOffset) or passed over: only the line not yet complete remains. */
  get skippedThrough(): number {
    return this.splitter.consumedThrough;
  }

  reset(): void {
    this.splitter.reset();
  }

  private get file(): string {
    return this.checkpoint.identity ?? '';
  }

  private traced(joined: JoinedLine<string>, nowMs: number, lines: OutgoingLine[]): void {
    const whole = this.joiners.traces ? this.joiners.traces.push(joined, nowMs) : joined;
    if (whole) this.ship(whole, nowMs, lines);
  }

  private claimHandedOver(lines: OutgoingLine[], nowMs: number): void {
    const { handedOver } = this.joiners;
    if (handedOver.length === 0) return;
    const file = this.file;
    this.joiners.handedOver = handedOver.filter((line) => line.end.file !== file);
    for (const line of handedOver) if (line.end.file === file) this.ship(line, nowMs, lines);
  }

  private ship(line: JoinedLine<string>, nowMs: number, lines: OutgoingLine[]): void {
    const file = this.file;
    if (line.end.file !== file) {
      this.joiners.handedOver.push(line);
      return;
    }
    for (const start of line.fileStarts) {
      if (start.file === file) continue;
      const startedIn = this.joiners.checkpoints.get(start.file);
      this.joiners.crossings.push({ file: start.file, start: start.offset, startedIn, shippedIn: this.checkpoint, end: line.end.offset, acked: false });
    }
    // Passed over, not sent: the offset moves over it once nothing before it is owed (skippedThrough).
    if (line.tsMs !== null && line.tsMs < nowMs - this.settings.skipOlderThanMs) return;
    if (line.truncatedBytes > 0) this.metrics.linesTruncated++;
    if (line.invalidUtf8) this.metrics.linesInvalidUtf8++;
    const shape = messageShape(line.text);
    const ts = line.tsMs ?? undefined;
    const message = markTruncated(line.text, line.truncatedBytes);
    const { fields } = this;
    const source = line.stream;
    const endOffset = line.end.offset;
    const startOffset = line.fileStarts.length === 1 ? line.start.offset : line.fileStarts.find((start) => start.file === file)!.offset;
    // Written out, not spread from the shape: Node 20's V8 takes ~0.6 µs for each key added after a spread.
    lines.push(
      'format' in shape
        ? { format: shape.format, ts, message, fields, source, endOffset, startOffset }
        : { level: shape.level, ts, message, fields, source, endOffset, startOffset },
    );
  }
}
