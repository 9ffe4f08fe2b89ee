import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import {
  LOG_STORE,
  LineContext,
  LogQuery,
  LogStore,
  QueryBudgetExceeded,
  QueryCancelled,
  ScanStop,
  StoredLogLine,
  CursorCodec,
  filterFingerprint,
} from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';
import { NamespaceScope } from '../auth/access';
import { DAYLOG_CONFIG } from '../config/config.module';
import { badParam, lineFilterOf } from './line-filter';
import { LineContextDto, QueryLogsDto } from './query-logs.dto';
import { Asker, ScanBudgets } from './scan-budgets';

const DEFAULT_LIMIT = 100;
const DEFAULT_CONTEXT_LINES = 20;

export interface SearchResult {
  lines: StoredLogLine[];
  nextCursor: string | null;
  /** Why reading stopped before the page was full; the next page goes on from there. */
  stopped: ScanStop | null;
}

@Injectable()
export class QueryService {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cursors: CursorCodec,
    private readonly budgets: ScanBudgets,
    private readonly metrics: AggregatorMetrics,
  ) {}

  async search(params: QueryLogsDto, scope: NamespaceScope, asker: Asker): Promise<SearchResult> {
    const { cursor, limit, format, raw, ...filters } = params;
    // Lists are sorted so that pod=a,b and pod=b,a, the same filter, share their cursors.
    const fingerprint = filterFingerprint(
      Object.fromEntries(Object.entries(filters).map(([name, value]) => [name, Array.isArray(value) ? [...value].sort() : value])),
    );
    const query: LogQuery = {
      ...lineFilterOf(params, scope, this.clock.now(), this.config.retentionMs),
      limit: limit === undefined ? DEFAULT_LIMIT : Number(limit),
      direction: params.direction ?? 'backward',
      after: null,
    };
    if (cursor !== undefined) {
      const decoded = this.cursors.decodePage(cursor, fingerprint);
      if ('problem' in decoded) throw badParam('cursor', decoded.problem);
      query.after = decoded.position;
    }
    let page;
    try {
      page = await this.store.query(query, this.budgets.start(asker));
    } catch (error) {
      // A first window not read in time is a 503: stopped by the time-out all the same.
      if (error instanceof QueryBudgetExceeded) this.metrics.countStoppedSearch(error.stop);
      if (error instanceof QueryCancelled) this.metrics.countStoppedSearch('client_gone');
      throw error;
    }
    if (page.stopped) this.metrics.countStoppedSearch(page.stopped);
    return { lines: page.lines, nextCursor: page.next && this.cursors.encodePage(page.next, fingerprint), stopped: page.stopped };
  }

  async context(params: LineContextDto, scope: NamespaceScope): Promise<LineContext> {
    const decoded = this.cursors.decodeLine(params.cursor);
    if ('problem' in decoded) throw badParam('cursor', decoded.problem);
    const count = (value: string | undefined) => (value === undefined ? DEFAULT_CONTEXT_LINES : Number(value));
    const oldest = this.clock.now() - this.config.retentionMs;
    const context = await this.store.context(decoded.position, count(params.before), count(params.after), oldest, scope ?? undefined);
    if (!context) throw new NotFoundException({ error: 'that line is not kept, or not for this token to read: older than the retention, or in a namespace it may not see' });
    return context;
  }
}
