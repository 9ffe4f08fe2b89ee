import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { COMMITTED_LINES, CommittedLines, CursorCodec, CursorPosition, QueryCancelled, StoredLogLine } from '@daylog/storage';
import { SharedWork, TailLine, TailSubscriber } from './tail-stream';

/** A tail about to begin: what it shows live, and how it reads the lines it shows first. */
export interface TailStart {
  live: TailSubscriber;
  /** How many of the newest lines it shows first; 0 for none. */
  limit: number;
  /** Up to `limit` newest matching lines, oldest first; `signal` is aborted when the tail closes meanwhile. */
  newest: (signal: AbortSignal) => Promise<StoredLogLine[]>;
  /** Calls `listener` once the client has gone (at once if it already has). */
  onClose: (listener: () => void) => void;
  /** Gives back what the tail holds of its client's and the server's tails. */
  release: () => void;
}

const positionKey = (line: StoredLogLine): string => `${line.position.partitionStart}:${line.position.id}`;

/** Whether a query reading forward comes to `a` before `b`: by time, then, within a millisecond, by id. */
const readBefore = (a: CursorPosition, b: CursorPosition): boolean => a.ts < b.ts || (a.ts === b.ts && a.id < b.id);

/**
 * The open tails, handed every batch stored while there is one, which each tail tests later (TailTurns). A
 * store shared by several writers hands over every writer's lines itself (CommittedLines); else ingest hands
 * over the batches this process stores.
 */
@Injectable()
export class TailHub implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TailHub.name);
  private readonly streams = new Set<TailSubscriber>();
  private closing = false;

  constructor(
    private readonly cursors: CursorCodec,
    @Inject(COMMITTED_LINES) private readonly committedLines: CommittedLines | null,
  ) {}

  onModuleInit(): void {
    this.committedLines?.follow({
      publish: (lines) => this.publish(lines),
      wanted: () => this.hasTails(),
      failed: (error) => this.logger.warn(`live tails are held back, trying again: ${(error as Error).message ?? String(error)}`),
    });
  }

  hasTails(): boolean {
    return this.streams.size > 0;
  }

  /** Whether ingest is to hand over the batches it stores, with where: while a tail is open, unless the store hands them over. */
  wantsIngestedLines(): boolean {
    return this.committedLines === null && this.hasTails();
  }

  /** Resolves once every line committed before the call has been handed over: at once when ingest hands them over. */
  caughtUp(): Promise<void> {
    return this.committedLines?.caughtUp() ?? Promise.resolve();
  }

  add(stream: TailSubscriber): void {
    if (this.closing) stream.end();
    else this.streams.add(stream);
  }

  remove(stream: TailSubscriber): void {
    this.streams.delete(stream);
  }

  /**
   * Starts a tail: the newest matching lines, then every matching line as it is stored, until its client goes.
   * Listening starts before the newest lines are read, and lines seen both ways are shown once.
   */
  async follow({ live, limit, newest, onClose, release }: TailStart): Promise<void> {
    const arrivedMeanwhile: TailLine[] = [];
    const starting: TailSubscriber = { send: (lines) => arrivedMeanwhile.push(...lines), end: () => live.end() };
    let closed = false;
    const gone = new AbortController();
    this.add(starting);
    if (limit > 0) {
      // A store that follows its commits may not yet have handed over some made before this tail began: the
      // newest lines read below show them, or leave them out past the limit, so they must not come as live ones.
      await this.caughtUp();
      arrivedMeanwhile.length = 0;
    }
    onClose(() => {
      closed = true;
      gone.abort();
      this.remove(starting);
      this.remove(live);
      release();
    });
    try {
      const first = limit === 0 ? [] : await newest(gone.signal);
      live.send(first.map((line) => new TailLine(line, this.cursors)));
      // Lines the read found may yet be handed over by a store that follows its commits: once it has caught up, none can come again.
      await this.caughtUp();
      const shown = new Set(first.map(positionKey));
      // A read of `limit` lines found every line stored before it from its oldest on: one handed over meanwhile that
      // is older was stored before it too, handed over late, and shown now would come after newer ones.
      const oldest = first.length === limit ? first[0]?.position : undefined;
      live.send(arrivedMeanwhile.filter((line) => !shown.has(positionKey(line.line)) && !(oldest && readBefore(line.line.position, oldest))));
    } catch (error) {
      if (!(error instanceof QueryCancelled)) throw error;
    } finally {
      this.remove(starting);
    }
    if (!closed) this.add(live);
  }

  publish(lines: readonly StoredLogLine[]): void {
    if (lines.length === 0) return;
    const shared = lines.map((line) => new TailLine(line, this.cursors));
    const work = new SharedWork();
    for (const stream of this.streams) stream.send(shared, work);
  }

  /**
   * Tails never end by themselves: they end before the server closes, or it would wait for them. Following
   * the store stops here, before the store closes.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await this.committedLines?.stop();
  }
}
