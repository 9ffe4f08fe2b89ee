import { Writable } from 'node:stream';
import { LogLine, escapeForTerminal, lineFields } from '@daylog/log-model';
import { CursorCodec, LinesTest, StoredLogLine } from '@daylog/storage';
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
    return (this.ndjson ??= toNdjsonLine(
      { ...this.line, fields: lineFields(this.line.format, this.line.message, this.line.fields) },
      this.cursors.encodeLine(this.line.position),
    ));
  }
}

/** Work on one published batch that tails with the same filter (and format) do once for all of them. */
export class SharedWork {
  /** What each would write for a stretch of the batch, by filter, format and where the stretch starts. */
  readonly chunks = new Map<string, { chunk: Buffer; lines: number; end: number }>();
  /** Tests of the batch on a search thread, by client and filter: each client's tests are its own share of the threads. */
  readonly tests = new Map<string, Promise<LinesTest>>();
}

/**
 * How a tail tests lines: on this thread, a line at a time in the turns TailTurns gives it, or, for a
 * filter with a regex (whose test of one long line can take seconds), a batch at a time on a search
 * thread that is stopped at a deadline.
 */
export type TailFilter =
  | { kind: 'here'; matches: (line: LogLine) => boolean }
  | { kind: 'search-thread'; client: string; test: (lines: readonly LogLine[]) => Promise<LinesTest> };

/** What the hub hands stored lines to. */
export interface TailSubscriber {
  send(lines: readonly TailLine[], shared?: SharedWork): void;
  end(): void;
}

interface PendingBatch {
  lines: readonly TailLine[];
  shared: SharedWork;
  /** The next line to test. */
  next: number;
  /** With a search-thread filter: the batch's test, once it is asked for, and its answer once it is in. */
  tested?: 'waiting' | LinesTest;
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
    private readonly filter: TailFilter,
    readonly rendering: TailRendering,
    private readonly maxQueuedLines: number,
    private readonly sharingKey: string,
    private readonly turns: TailTurns,
  ) {
    this.output = new TailOutput(out, rendering === 'ndjson', maxQueuedLines);
  }

  send(lines: readonly TailLine[], shared = new SharedWork()): void {
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
      if (!this.testStretch(untilMs)) return false;
    } while (this.pending.length > 0 && !this.ended && performance.now() < untilMs);
    return this.pending.length > 0 && !this.ended;
  }

  /**
   * Tests the oldest pending batch until `untilMs`, a line at least (or tells of a skipped one). False
   * when there is nothing to do until a search thread answers: the tail then asks for turns again.
   */
  private testStretch(untilMs: number): boolean {
    const batch = this.pending[0];
    if (this.ended || !batch) return false;
    if ('skipped' in batch) {
      this.pending.shift();
      this.output.notice(`${batch.skipped} lines skipped untested: this tail's filter was slower than they arrived`, { skipped: batch.skipped });
      return true;
    }
    const passes = this.passing(batch);
    if (!passes) return false;
    const from = batch.next;
    const key = `${this.sharingKey}#${from}`;
    let made = batch.shared.chunks.get(key);
    if (!made) {
      let text = '';
      let count = 0;
      let end = from;
      do {
        const line = batch.lines[end];
        if (!passes(line.line, end++)) continue;
        text += line.render(this.rendering);
        count++;
      } while (end < batch.lines.length && performance.now() < untilMs);
      // Encoded once: the same bytes go to every tail with this key, which goes on from the same line.
      made = { chunk: Buffer.from(text), lines: count, end };
      batch.shared.chunks.set(key, made);
    }
    batch.next = made.end;
    this.pendingLines -= made.end - from;
    if (made.end === batch.lines.length) this.finish(batch);
    if (made.lines > 0) this.output.enqueue(made.chunk, made.lines);
    return true;
  }

  /** Whether the batch's line at an index passes the filter; null while a search thread has yet to say. */
  private passing(batch: PendingBatch): ((line: LogLine, index: number) => boolean) | null {
    const { filter } = this;
    if (filter.kind === 'here') return filter.matches;
    if (batch.tested === undefined) {
      batch.tested = 'waiting';
      const testKey = JSON.stringify([filter.client, this.sharingKey]);
      let test = batch.shared.tests.get(testKey);
      if (!test) {
        test = filter.test(batch.lines.map((line) => line.line)).catch(() => ({ matches: new Uint8Array(0), tested: 0 }));
        batch.shared.tests.set(testKey, test);
      }
      void test.then((answer) => {
        batch.tested = answer;
        this.turns.want(this);
      });
    }
    const tested = batch.tested;
    if (tested === 'waiting') return null;
    return (_line, index) => index < tested.tested && tested.matches[index] === 1;
  }

  /** The batch is done with; lines its search thread ran out of time for are told of, as skipped ones are. */
  private finish(batch: PendingBatch): void {
    this.pending.shift();
    const untested = typeof batch.tested === 'object' ? batch.lines.length - batch.tested.tested : 0;
    if (untested > 0) {
      this.output.notice(`${untested} lines skipped untested: this tail's regex took longer than its time for them`, { skipped: untested });
    }
  }
}
