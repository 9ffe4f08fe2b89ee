import { Writable } from 'node:stream';
import { LogLine, escapeForTerminal, lineFields } from '@daylog/log-model';
import { CursorCodec, StoredLogLine } from '@daylog/storage';
import { asStored, toNdjsonLine, toTextLine } from '../query/line-formats';
import { TailOutput } from './tail-output';
import { TailTurns, TurnTaker } from './tail-turns';
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

/** What tails with the same filter and format would each write for a stretch of a batch: made by the first of them, written by all. */
export type SharedChunks = Map<string, { chunk: Buffer; lines: number; end: number }>;

/** What the hub hands stored lines to. */
export interface TailSubscriber {
  send(lines: readonly TailLine[], shared?: SharedChunks): void;
  end(): void;
}

interface PendingBatch {
  lines: readonly TailLine[];
  shared: SharedChunks;
  /** The next line to test. */
  next: number;
}

/**
 * One client's tail. Stored lines wait to be tested against its filter in the turns TailTurns gives it,
 * at most `maxQueuedLines` of them; past that, batches are skipped untested, and the client is told how
 * many lines in their place. Lines that pass go to a TailOutput. A slow filter, like a slow reader,
 * costs ingest nothing and holds a bounded amount of memory.
 */
export class TailStream implements TailSubscriber, TurnTaker {
  private readonly pending: (PendingBatch | { skipped: number })[] = [];
  private pendingLines = 0;
  private readonly output: TailOutput;
  private ended = false;

  /** `sharingKey` names the filter and rendering: tails with the same key write the same chunk for a batch. */
  constructor(
    out: Writable,
    readonly matches: (line: LogLine) => boolean,
    readonly rendering: TailRendering,
    private readonly maxQueuedLines: number,
    private readonly sharingKey: string,
    private readonly turns: TailTurns,
  ) {
    this.output = new TailOutput(out, rendering === 'ndjson', maxQueuedLines);
  }

  send(lines: readonly TailLine[], shared: SharedChunks = new Map()): void {
    if (this.ended || lines.length === 0) return;
    // A batch is always taken when none waits: it is held anyway, by ingest and by the other tails.
    if (this.pendingLines > 0 && this.pendingLines + lines.length > this.maxQueuedLines) {
      const last = this.pending.at(-1);
      if (last && 'skipped' in last) last.skipped += lines.length;
      else this.pending.push({ skipped: lines.length });
    } else {
      this.pending.push({ lines, shared, next: 0 });
      this.pendingLines += lines.length;
    }
    this.turns.want(this);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending.length = 0;
    this.output.end();
  }

  takeTurn(untilMs: number): boolean {
    do {
      this.testStretch(untilMs);
    } while (this.pending.length > 0 && !this.ended && performance.now() < untilMs);
    return this.pending.length > 0 && !this.ended;
  }

  /** Tests the oldest pending batch until `untilMs`, a line at least (or tells of a skipped one). */
  private testStretch(untilMs: number): void {
    const batch = this.pending[0];
    if (this.ended || !batch) return;
    if ('skipped' in batch) {
      this.pending.shift();
      this.output.notice(`${batch.skipped} lines skipped untested: this tail's filter was slower than they arrived`, { skipped: batch.skipped });
      return;
    }
    const from = batch.next;
    const key = `${this.sharingKey}#${from}`;
    let made = batch.shared.get(key);
    if (!made) {
      let text = '';
      let count = 0;
      let end = from;
      do {
        const line = batch.lines[end++];
        if (!this.matches(line.line)) continue;
        text += line.render(this.rendering);
        count++;
      } while (end < batch.lines.length && performance.now() < untilMs);
      // Encoded once: the same bytes go to every tail with this key, which goes on from the same line.
      made = { chunk: Buffer.from(text), lines: count, end };
      batch.shared.set(key, made);
    }
    batch.next = made.end;
    this.pendingLines -= made.end - from;
    if (made.end === batch.lines.length) this.pending.shift();
    if (made.lines > 0) this.output.enqueue(made.chunk, made.lines);
  }
}
