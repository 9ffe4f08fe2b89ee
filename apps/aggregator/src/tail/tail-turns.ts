import { Injectable } from '@nestjs/common';

/** At most this long of testing lines against tails' filters in one turn of the event loop, for all tails together. */
const MATCH_MS_PER_TURN = 10;

/** A tail with lines waiting to be tested. */
export interface TurnTaker {
  /** Tests lines until `untilMs` (on `performance.now()`), one at least; says whether some are still waiting. */
  takeTurn(untilMs: number): boolean;
}

/**
 * Shares the event loop between tails' filters: they test lines in turns of the event loop of their own,
 * never in the ingest request that stored them, MATCH_MS_PER_TURN at most in one turn for all of them,
 * each tail after the other (round-robin), so that however many tails there are and however slow their
 * filters (a regex can take a millisecond a line), other requests wait that long at most between turns.
 */
@Injectable()
export class TailTurns {
  /** In the order their turns come: a tail that used its turn goes to the end. */
  private readonly waiting = new Set<TurnTaker>();
  private scheduled = false;

  want(taker: TurnTaker): void {
    this.waiting.add(taker);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.size === 0) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const until = performance.now() + MATCH_MS_PER_TURN;
    for (const taker of this.waiting) {
      this.waiting.delete(taker);
      if (taker.takeTurn(until)) this.waiting.add(taker);
      if (performance.now() >= until) break;
    }
    this.schedule();
  };
}
