import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { Level, levelsAtOrAbove, normalizeLevel, parseDuration, parseTimestamp } from '@daylog/log-model';
import {
  LOG_STORE,
  LineContext,
  LogQuery,
  LogStore,
  StoredLogLine,
  decodeCursor,
  decodeLineCursor,
  encodeCursor,
  filterFingerprint,
} from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { LineContextDto, QueryLogsDto } from './query-logs.dto';

const DEFAULT_LIMIT = 100;
const DEFAULT_CONTEXT_LINES = 20;

export interface SearchResult {
  lines: StoredLogLine[];
  nextCursor: string | null;
}

function badParam(param: string, error: string): BadRequestException {
  return new BadRequestException({ error, param });
}

@Injectable()
export class QueryService {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async search(params: QueryLogsDto): Promise<SearchResult> {
    const { cursor, limit, format, ...filters } = params;
    // Lists are sorted so that pod=a,b and pod=b,a, the same filter, share their cursors.
    const fingerprint = filterFingerprint(
      Object.fromEntries(Object.entries(filters).map(([name, value]) => [name, Array.isArray(value) ? [...value].sort() : value])),
    );
    const query = this.toLogQuery(params);
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor, fingerprint);
      if ('problem' in decoded) throw badParam('cursor', decoded.problem);
      query.after = decoded.position;
    }
    query.limit = limit === undefined ? DEFAULT_LIMIT : Number(limit);
    const page = await this.store.query(query);
    return { lines: page.lines, nextCursor: page.next && encodeCursor(page.next, fingerprint) };
  }

  async context(params: LineContextDto): Promise<LineContext> {
    const decoded = decodeLineCursor(params.cursor);
    if ('problem' in decoded) throw badParam('cursor', decoded.problem);
    const count = (value: string | undefined) => (value === undefined ? DEFAULT_CONTEXT_LINES : Number(value));
    const oldest = this.clock.now() - this.config.retentionMs;
    const context = await this.store.context(decoded.position, count(params.before), count(params.after), oldest);
    if (!context) throw new NotFoundException({ error: 'that line is no longer kept: it is older than the retention' });
    return context;
  }

  /** Lines older than the retention are never asked for, whether or not the pruner has run. */
  private toLogQuery(params: QueryLogsDto): LogQuery {
    const now = this.clock.now();
    const oldest = now - this.config.retentionMs;
    if (params.since !== undefined && params.from !== undefined) {
      throw badParam('since', 'give either since or from, not both');
    }
    const from =
      params.since !== undefined
        ? now - parseDuration(params.since)!
        : params.from !== undefined
          ? parseTimestamp(params.from)!
          : oldest;
    const to = params.to === undefined ? Number.MAX_SAFE_INTEGER : parseTimestamp(params.to)!;
    if (to <= from) throw badParam('to', 'to must be later than from (from is inclusive, to exclusive)');

    return {
      fromMs: Math.max(from, oldest),
      toMs: to,
      labels: { namespace: params.namespace, pod: params.pod, container: params.container, source: params.source },
      levels: this.levels(params),
      contains: params.q ?? [],
      excludes: params.exclude ?? [],
      limit: DEFAULT_LIMIT,
      direction: params.direction ?? 'backward',
      after: null,
    };
  }

  private levels(params: QueryLogsDto): Level[] | null {
    const listed = params.level?.map((name) => normalizeLevel(name)!);
    const atOrAbove = params.min_level === undefined ? undefined : levelsAtOrAbove(normalizeLevel(params.min_level)!);
    if (!listed) return atOrAbove ?? null;
    if (!atOrAbove) return [...new Set(listed)];
    const levels = [...new Set(listed)].filter((level) => atOrAbove.includes(level));
    if (levels.length === 0) throw badParam('level', 'no level in level is at or above min_level');
    return levels;
  }
}
