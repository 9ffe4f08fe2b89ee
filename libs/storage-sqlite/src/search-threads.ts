import { join } from 'node:path';
import { LogLine } from '@daylog/log-model';
import { LineFilter, LineTester, LinesTest, POOL_THREADS, SearchLinesTest, WorkerPool, testLinesOn } from '@daylog/storage';
import { BlockJob } from './block-reads';
import { Statement } from './page-statement';
import { ForgetFiles, SearchWork, WindowWork, WindowsAnswer } from './search-protocol';

/** Whose work a search or tail test is when it names no client. */
const NO_CLIENT = '';

/**
 * Text searches (substrings, words, regexes) and live tails' regexes run on these threads (a WorkerPool), never
 * on the one that serves HTTP: a regex runs in time linear in the line, but one made of many counted repetitions
 * can still take seconds on a long line, and only a thread can be stopped in the middle of one.
 */
export class SearchThreads implements LineTester {
  private readonly pool: WorkerPool<SearchWork, ForgetFiles>;

  constructor(threads = POOL_THREADS) {
    this.pool = new WorkerPool({ script: join(__dirname, 'search.worker.js'), name: 'search', threads });
  }

  /**
   * The rows of a statement on a partition file, or 'out-of-time' when the deadline (on `sharedClockNow`'s
   * clock; null: none) passes before they are all read. `client`: whom the search is for.
   */
  rows<Row>(file: string, statement: Statement, deadline: number | null, client = NO_CLIENT): Promise<Row[] | 'out-of-time'> {
    return this.pool.run<Row[] | 'out-of-time'>(client, 'search', { type: 'rows', file, statement }, () => deadline, 'out-of-time');
  }

  /** A compacted partition's read (CompactedReads) on its file, or 'out-of-time', as `rows`. */
  blocks<Row>(file: string, job: BlockJob, deadline: number | null, client = NO_CLIENT): Promise<Row[] | 'out-of-time'> {
    return this.pool.run<Row[] | 'out-of-time'>(client, 'search', { type: 'blocks', file, job }, () => deadline, 'out-of-time');
  }

  /**
   * A page's windows, one after the other on one thread, each until its own deadline, until `limit` rows in all. A
   * thread stopped past the last deadline answers as out of time in the first.
   */
  windows<Row>(windows: (WindowWork & { deadline: number | null })[], limit: number, client = NO_CLIENT): Promise<WindowsAnswer<Row>> {
    const deadlines = windows.map((window) => window.deadline);
    const last = deadlines.includes(null) ? null : Math.max(...(deadlines as number[]));
    const stopped: WindowsAnswer<Row> = { rows: [], outOfTime: 0 };
    return this.pool.run<WindowsAnswer<Row>>(client, 'search', { type: 'windows', windows, limit }, () => last, stopped);
  }

  testLines(filter: LineFilter, lines: readonly LogLine[], timeMs: number, client: string, search?: SearchLinesTest): Promise<LinesTest> {
    return testLinesOn(this.pool, filter, lines, timeMs, client, search);
  }

  /** Every thread closes its connections to these files (after the work it is doing). */
  forget(files: string[]): void {
    this.pool.tell({ forget: files });
  }

  stop(): Promise<void> {
    return this.pool.stop();
  }
}
