import { EventEmitter } from 'node:events';
import { ExecutionContext, HttpStatus, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { DaylogConfig } from '@daylog/config';
import { DAYLOG_CONFIG } from '../config/config.module';
import { RetryLaterException } from '../http/retry-later.exception';

declare module 'fastify' {
  interface FastifyRequest {
    /** An ingest request's hold on its client's share of the writer's queue (IngestModule gives it). */
    daylogShare: RequestShare | null;
  }
}

/** A share frees as soon as the writer commits the client's batches: well within a second at the limits' sizes. */
export const SHARE_FULL_RETRY_SECONDS = 1;

/**
 * Each client's part of the writer's queue (identifyClients says who is a client): its lines queued or being
 * written, at most DAYLOG_MAX_QUEUED_LINES / 2 (loadConfig). The queue is shared and a request's lines cost
 * nothing like its bytes (a 230-byte gzip body is 100,000 lines), so without a share one client keeping a
 * couple of requests in flight holds the whole queue and every other client is answered 503. With it, the
 * others always find half the queue free: room for a batch of the largest size, which is at most the share.
 */
@Injectable()
export class QueueShares {
  private readonly held = new Map<string, number>();

  constructor(@Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig) {}

  /** Whether `client` could queue no line at all now: its request can be refused before its body is read. */
  isFull(client: string): boolean {
    return this.linesOf(client) >= this.config.maxQueuedLinesPerClient;
  }

  /**
   * Counts `lines` for `client`, or refuses them whole with a 429: it is the client's own share that is full,
   * not the service. The function returned gives them back, once, when the writer has answered.
   */
  reserve(client: string, lines: number): () => void {
    const mine = this.linesOf(client);
    if (mine + lines > this.config.maxQueuedLinesPerClient) throw this.shareFull(client);
    this.held.set(client, mine + lines);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.linesOf(client) - lines;
      if (left === 0) this.held.delete(client);
      else this.held.set(client, left);
    };
  }

  /** The 429 for a batch that does not fit beside `client`'s lines already queued. */
  shareFull(client: string): RetryLaterException {
    const share = this.config.maxQueuedLinesPerClient;
    return new RetryLaterException(
      `this client already has ${this.linesOf(client)} lines waiting to be written and may have at most ${share}, half of DAYLOG_MAX_QUEUED_LINES: ` +
        'retry this batch once they are written, or send fewer lines at a time',
      SHARE_FULL_RETRY_SECONDS,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  /**
   * A request's hold on its client's share, given back once when its answer is sent or the client goes
   * (whichever way the request ends), so that the lines can be held where they are first counted: a body
   * over the share is refused after a count, before its lines are split or validated.
   */
  forRequest(client: string, ended: EventEmitter): RequestShare {
    const share = new RequestShare(this, client);
    ended.once('close', () => share.end());
    return share;
  }

  private linesOf(client: string): number {
    return this.held.get(client) ?? 0;
  }
}

/** What a request holds of its client's share: its lines as first counted, an upper bound on those it stores. */
export class RequestShare {
  private release: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly shares: QueueShares,
    readonly client: string,
  ) {}

  /**
   * Holds `lines` for the request, or refuses them with the 429; a request already holding keeps its first count.
   * A request already ended (its client gone while the body was parsed) holds nothing: nothing would give it back.
   */
  hold(lines: number): void {
    if (this.ended) return;
    this.release ??= this.shares.reserve(this.client, lines);
  }

  /** Lets the request's lines go: the writer has answered, or the request has ended. Only the first call counts. */
  giveBack(): void {
    this.release?.();
  }

  end(): void {
    this.ended = true;
    this.giveBack();
  }
}

/** The ingest request's hold on its client's share, for the handler to admit its batch with. */
export const IngestShare = createParamDecorator((_data: unknown, context: ExecutionContext): RequestShare => {
  const share = context.switchToHttp().getRequest<FastifyRequest>().daylogShare;
  if (share === null) throw new Error('an ingest request with no hold on its client’s share: IngestModule gives every one its hold');
  return share;
});
