import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { COMMITTED_LINES, CommittedLines, CursorCodec, StoredLogLine } from '@daylog/storage';
import { SharedWork, TailLine, TailSubscriber } from './tail-stream';

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
