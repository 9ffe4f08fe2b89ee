import { Inject, Injectable } from '@nestjs/common';
import { Writable } from 'node:stream';
import { DaylogConfig } from '@daylog/config';
import { LOG_STORE, LineFilter, LogStore, LINE_TESTER, LineTester, lineMatcher } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { NamespaceScope } from '../auth/access';
import { DAYLOG_CONFIG } from '../config/config.module';
import { lineFilterOf } from '../query/line-filter';
import { ScanBudgets } from '../query/scan-budgets';
import { TailHub } from './tail-hub';
import { TailLimits } from './tail-limits';
import { TailTurns } from './tail-turns';
import { TailFilter, TailStream, tailRendering } from './tail-stream';
import { TailDto, TailFormat } from './tail.dto';

const DEFAULT_START_LINES = 10;
/** Lines a tail may have waiting for its reader before it drops some: a few seconds of a busy pod. */
export const TAIL_QUEUE_LINES = 10_000;

/**
 * How long a search thread may test one stored batch against a tail's regex: lines it has not tested by
 * then are skipped, and the client told. A regex this slow for a batch falls behind ingest anyway.
 */
const TAIL_TEST_MS_PER_BATCH = 1000;

@Injectable()
export class TailService {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly hub: TailHub,
    private readonly budgets: ScanBudgets,
    private readonly limits: TailLimits,
    private readonly turns: TailTurns,
    @Inject(LINE_TESTER) private readonly lineTester: LineTester,
  ) {}

  /**
   * Checks the parameters (a 400 is still possible here) and counts the tail against its client's
   * and the server's limits (a 429), then gives what writes the newest
   * matching lines, oldest first, and every matching line as it is stored, until `out` closes.
   * Listening starts before the newest lines are read, and lines seen both ways are written once.
   */
  prepare(params: TailDto, format: TailFormat, scope: NamespaceScope, client: string): (out: Writable) => Promise<void> {
    const filter = lineFilterOf(params, scope, this.clock.now(), this.config.retentionMs);
    const release = this.limits.reserve(client);
    return (out) => this.follow(filter, params, format, out, release, client);
  }

  private follow(filter: LineFilter, params: TailDto, format: TailFormat, out: Writable, release: () => void, client: string): Promise<void> {
    // Without since or from, the retention is the only lower bound, and ingest enforces it: live lines are not
    // held to a bound that moves with each tail's start, so tails with the same filters share their work.
    const live = params.since === undefined && params.from === undefined ? { ...filter, fromMs: 0 } : filter;
    const rendering = tailRendering(format, params.raw === 'true');
    const stream = new TailStream(out, this.tailFilter(live, client), rendering, TAIL_QUEUE_LINES, JSON.stringify([rendering, live]), this.turns);
    const limit = params.limit === undefined ? DEFAULT_START_LINES : Number(params.limit);
    return this.hub.follow({
      live: stream,
      limit,
      newest: async (signal) => (await this.store.query({ ...filter, limit, direction: 'backward', after: null }, this.budgets.start({ client, signal }))).lines.reverse(),
      // A client that went away before its tail began has already had its 'close'.
      onClose: (listener) => (out.destroyed ? listener() : out.once('close', listener)),
      release,
    });
  }

  private tailFilter(filter: LineFilter, client: string): TailFilter {
    if (filter.regex === undefined) return { kind: 'here', matches: lineMatcher(filter) };
    return { kind: 'search-thread', client, test: (lines) => this.lineTester.testLines(filter, lines, TAIL_TEST_MS_PER_BATCH, client) };
  }
}
