import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { DAYLOG_CONFIG } from '../config/config.module';
import { RetryLaterException } from '../http/retry-later.exception';

/** A tail ends when its client closes it; no moment is known at which one frees, so this is how often to try again. */
const RETRY_AFTER_SECONDS = 10;

/**
 * How many tails are open, per client and in all. Every open tail costs each ingested batch its filter's
 * work, in turns shared with every request: the limits keep one client, or all together, from taking them.
 */
@Injectable()
export class TailLimits {
  private readonly perClient = new Map<string, number>();
  private total = 0;

  constructor(@Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig) {}

  /** Counts a tail for `client`, or refuses it with a 429; the function returned gives its place back, once. */
  reserve(client: string): () => void {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.config.maxTailsPerClient) {
      throw new RetryLaterException(
        `this client already has ${mine} live tails open, the most one client may have (DAYLOG_MAX_TAILS_PER_CLIENT): close one before opening another`,
        RETRY_AFTER_SECONDS,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    if (this.total >= this.config.maxTails) {
      throw new RetryLaterException(
        `the server already serves ${this.total} live tails, the most it serves at once (DAYLOG_MAX_TAILS): try again later`,
        RETRY_AFTER_SECONDS,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.perClient.set(client, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = this.perClient.get(client)! - 1;
      if (left === 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    };
  }

  /** Tails open now, from every client. */
  open(): number {
    return this.total;
  }
}
