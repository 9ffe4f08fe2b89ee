import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { DAYLOG_CONFIG } from '../config/config.module';
import { RetryLaterException } from '../http/retry-later.exception';

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

  private linesOf(client: string): number {
    return this.held.get(client) ?? 0;
  }
}
