import { loadConfig } from '@daylog/config';
import { parseMatchExpression } from '@daylog/log-model';
import { LineFilter, LineTestThreads, LogQuery, PartitionedReader, QueryPage, ScanBudget } from '@daylog/storage';
import { PgDatabase, PgPartitions, replicaDatabase } from '@daylog/storage-postgres';
import { NEEDLE } from './dataset';
import { PAGE_LIMIT } from './query-bench';

const DAY_MS = 86_400_000;

/** The terms of a search that every page leaves alone: lines of any labels, level and text. */
const EVERY_LINE: LineFilter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [] };

/**
 * The filter the service makes of each page's HTTP params (query-bench.ts's queryCases), as
 * apps/aggregator/src/query/line-filter.ts does: `pod=` a label pattern (without `*`: exactly that pod),
 * `level=error` the list of that level, `q=` a list of substrings, `match=` the parsed expression.
 */
export function engineFilters(pod: string): ReadonlyMap<string, Partial<LineFilter>> {
  const match = parseMatchExpression(NEEDLE);
  if (typeof match === 'string') throw new Error(`the needle is not a match expression: ${match}`);
  return new Map<string, Partial<LineFilter>>([
    ['pod_newest', { labels: { pod: [pod] } }],
    ['errors_newest', { levels: ['error'] }],
    ['substring', { contains: [NEEDLE] }],
    ['word', { match }],
  ]);
}

/**
 * The engine's read path in this process, without HTTP: the core's reader over PostgreSQL's partitions, on a
 * pool of its own, each page with the budget the service gives a request on its defaults
 * (DAYLOG_QUERY_TIMEOUT, DAYLOG_QUERY_MAX_SCANNED_LINES, as config's loadConfig reads them).
 */
export class PgEnginePages {
  private constructor(
    private readonly db: PgDatabase,
    private readonly threads: LineTestThreads,
    private readonly reader: PartitionedReader,
    private readonly limits: { queryTimeoutMs: number; maxScannedLines: number },
  ) {}

  static open(url: string): PgEnginePages {
    const { queryTimeoutMs, maxScannedLines } = loadConfig({});
    const db = replicaDatabase(url, queryTimeoutMs, 'daylog bench engine');
    const threads = new LineTestThreads();
    return new PgEnginePages(db, threads, new PartitionedReader(new PgPartitions(db, threads)), { queryTimeoutMs, maxScannedLines });
  }

  /** The newest page of `terms` over the last 24 h, as GET /api/v1/logs asks for it without from, to or cursor. */
  page(terms: Partial<LineFilter>): Promise<QueryPage> {
    const now = Date.now();
    const query: LogQuery = { ...EVERY_LINE, ...terms, fromMs: now - DAY_MS, limit: PAGE_LIMIT, direction: 'backward', after: null };
    return this.reader.query(query, this.budget(now));
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.threads.stop();
    await this.db.close();
  }

  /** As the service's ScanBudgets starts one for a request. */
  private budget(now: number): ScanBudget {
    const { queryTimeoutMs, maxScannedLines } = this.limits;
    return { maxScannedLines, deadlineMs: now + queryTimeoutMs, timeoutMs: queryTimeoutMs, now: () => Date.now(), client: 'daylog bench' };
  }
}
