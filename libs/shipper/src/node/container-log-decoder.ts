import { OutgoingLine } from '../aggregator-client';
import { ContainerInstance, FileCheckpoint } from '../checkpoint-store';
import { markTruncated } from '../line-cap';
import { LineDecoder } from '../line-decoder';
import { RawLineSplitter } from '../line-splitter';
import { ShipperMetrics } from '../shipper-metrics';
import { RecordReader } from './container-record';
import { messageShape } from './message-shape';
import { JoinedLine, PieceJoiner } from './piece-joiner';
import { StackTraceJoiner } from './stack-trace-joiner';

/** How long a piece waits for the next one of its line (a last `P` when a stream closed never gets one). */
export const PIECE_TIMEOUT_MS = 5000;
/** How long a line waits for a stack trace's next line: traces are written at once. */
export const TRACE_TIMEOUT_MS = 1000;
/** The longest runtime record kept whole: a 16 KiB Docker piece escaped as `\u00XX` is six times longer. */
const MIN_RECORD_CAP_BYTES = 8 * 16 * 1024;
/** Room for a record's time, stream and tags (CRI) or JSON around the message (json-file). */
const RECORD_ENVELOPE_BYTES = 1024;

/** The joiners of one container instance, shared by its files: a line may begin in one and end in the next. */
export interface ContainerJoiners {
  pieces: PieceJoiner<string>;
  /** With DAYLOG_MULTILINE=stacktrace only. */
  traces: StackTraceJoiner<string> | null;
}

export function containerJoiners(maxLineBytes: number, stackTraces: boolean): ContainerJoiners {
  return {
    pieces: new PieceJoiner({ maxLineBytes, timeoutMs: PIECE_TIMEOUT_MS }),
    traces: stackTraces ? new StackTraceJoiner({ maxLineBytes, timeoutMs: TRACE_TIMEOUT_MS }) : null,
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
 * level its message shows, and the fields `pod_uid` and `restart`.
 */
export class ContainerLogDecoder implements LineDecoder {
  skippedThrough = 0;
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
    for (const raw of this.splitter.push(chunk, chunkOffset)) {
      const record = this.reader.read(raw.bytes);
      const joined = this.joiners.pieces.push(record, { file, start: raw.start, end: raw.end }, nowMs);
      if (joined) this.traced(joined, nowMs, lines);
    }
    return lines;
  }

  expire(nowMs: number): OutgoingLine[] {
    const lines: OutgoingLine[] = [];
    for (const joined of this.joiners.pieces.expire(nowMs)) this.traced(joined, nowMs, lines);
    for (const joined of this.joiners.traces?.expire(nowMs) ?? []) this.ship(joined, nowMs, lines);
    return lines;
  }

  finish(_readOffset: number, nowMs: number): OutgoingLine[] {
    const lines: OutgoingLine[] = [];
    for (const joined of this.joiners.pieces.flush()) this.traced(joined, nowMs, lines);
    for (const joined of this.joiners.traces?.flush() ?? []) this.ship(joined, nowMs, lines);
    return lines;
  }

  settledOffset(): number {
    const file = this.file;
    return Math.min(this.joiners.pieces.oldestOpenStart(file) ?? Infinity, this.joiners.traces?.oldestOpenStart(file) ?? Infinity);
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

  private ship(line: JoinedLine<string>, nowMs: number, lines: OutgoingLine[]): void {
    if (line.tsMs !== null && line.tsMs < nowMs - this.settings.skipOlderThanMs) {
      this.skippedThrough = Math.max(this.skippedThrough, line.end.offset);
      return;
    }
    if (line.truncatedBytes > 0) this.metrics.linesTruncated++;
    if (line.invalidUtf8) this.metrics.linesInvalidUtf8++;
    const shape = messageShape(line.text);
    const ts = line.tsMs ?? undefined;
    const message = markTruncated(line.text, line.truncatedBytes);
    const { fields } = this;
    const source = line.stream;
    const endOffset = line.end.offset;
    // Written out, not spread from the shape: Node 20's V8 takes ~0.6 µs for each key added after a spread.
    lines.push(
      'format' in shape
        ? { format: shape.format, ts, message, fields, source, endOffset }
        : { level: shape.level, ts, message, fields, source, endOffset },
    );
  }
}
