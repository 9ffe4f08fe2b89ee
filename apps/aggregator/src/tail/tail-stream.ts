import { Writable } from 'node:stream';
import { LogLine, escapeForTerminal, lineFields } from '@daylog/log-model';
import { CursorCodec, StoredLogLine } from '@daylog/storage';
import { asStored, toNdjsonLine, toTextLine } from '../query/line-formats';
import { TailFormat } from './tail.dto';

/** What a tail writes: its format, and for text whether it is escaped for a terminal or raw (`raw=true`). */
export type TailRendering = TailFormat | 'raw-text';

export function tailRendering(format: TailFormat, raw: boolean): TailRendering {
  return format === 'text' && raw ? 'raw-text' : format;
}

/** A published line, rendered at most once per rendering however many tails show it. */
export class TailLine {
  private text?: string;
  private rawText?: string;
  private ndjson?: string;

  constructor(
    readonly line: StoredLogLine,
    private readonly cursors: CursorCodec,
  ) {}

  render(rendering: TailRendering): string {
    if (rendering === 'text') return (this.text ??= toTextLine(this.line, escapeForTerminal));
    if (rendering === 'raw-text') return (this.rawText ??= toTextLine(this.line, asStored));
    return (this.ndjson ??= toNdjsonLine({ ...this.line, fields: lineFields(this.line.format, this.line.message, this.line.fields) }, this.cursors));
  }
}

/** What tails with the same filter and format would each write for a batch: made by the first of them, written by all. */
export type SharedChunks = Map<string, { chunk: Buffer; lines: number }>;

/** What the hub hands stored lines to. */
export interface TailSubscriber {
  send(lines: readonly TailLine[], shared?: SharedChunks): void;
  end(): void;
}

/**
 * One client's tail. What the socket does not take at once waits in a queue of at most `maxQueuedLines`;
 * past that, lines are dropped and counted, and the client is told how many once it catches up, so a slow
 * reader costs ingest nothing and holds a bounded amount of memory.
 */
export class TailStream implements TailSubscriber {
  private readonly queue: Buffer[] = [];
  private queuedLines = 0;
  private dropped = 0;
  private waitingForDrain = false;
  private ended = false;

  /** `sharingKey` names the filter and rendering: tails with the same key write the same chunk for a batch. */
  constructor(
    private readonly out: Writable,
    readonly matches: (line: LogLine) => boolean,
    readonly rendering: TailRendering,
    private readonly maxQueuedLines: number,
    private readonly sharingKey: string,
  ) {}

  send(lines: readonly TailLine[], shared: SharedChunks = new Map()): void {
    if (this.ended) return;
    let made = shared.get(this.sharingKey);
    if (!made) {
      let text = '';
      let count = 0;
      for (const line of lines) {
        if (!this.matches(line.line)) continue;
        text += line.render(this.rendering);
        count++;
      }
      // Encoded once: the same bytes go to every tail with this key.
      made = { chunk: Buffer.from(text), lines: count };
      shared.set(this.sharingKey, made);
    }
    if (made.lines > 0) this.enqueue(made.chunk, made.lines);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.out.end();
  }

  private enqueue(chunk: Buffer, lines: number): void {
    if (!this.waitingForDrain) {
      this.write(chunk);
    } else if (this.queuedLines + lines > this.maxQueuedLines) {
      this.dropped += lines;
    } else {
      this.queue.push(chunk);
      this.queuedLines += lines;
    }
  }

  private write(chunk: Buffer): void {
    if (this.out.write(chunk)) return;
    this.waitingForDrain = true;
    this.out.once('drain', this.flush);
  }

  private readonly flush = (): void => {
    this.waitingForDrain = false;
    if (this.ended) return;
    const chunks = this.dropped > 0 ? [Buffer.from(this.droppedNotice()), ...this.queue] : [...this.queue];
    this.dropped = 0;
    this.queue.length = 0;
    this.queuedLines = 0;
    if (chunks.length > 0) this.write(Buffer.concat(chunks));
  };

  private droppedNotice(): string {
    const notice = `${this.dropped} lines dropped: this reader was slower than they arrived`;
    return this.rendering === 'ndjson' ? `${JSON.stringify({ notice, dropped: this.dropped })}\n` : `# daylog: ${notice}\n`;
  }
}
