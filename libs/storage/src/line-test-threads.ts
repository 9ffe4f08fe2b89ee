import { join } from 'node:path';
import { LogLine } from '@daylog/log-model';
import { testsFields } from './filter-terms';
import { LineTestWork } from './line-tests';
import { LineFilter } from './log-store';
import { sharedClockNow } from './shared-clock';
import { LineTester, LinesTest, SearchLinesTest } from './storage-backend';
import { POOL_THREADS, WorkerPool } from './worker-pool';

/** A pool whose threads answer LineTestWork with testLinesUntil (among other work, maybe). */
export type LineTestPool = Pick<WorkerPool<LineTestWork, unknown>, 'run'>;

/** LineTester's testLines on a pool's threads. */
export function testLinesOn(
  pool: LineTestPool,
  filter: LineFilter,
  lines: readonly LogLine[],
  timeMs: number,
  client: string,
  search?: SearchLinesTest,
): Promise<LinesTest> {
  // What a filter reads of a line, no more: fields can be large, and are copied to the thread, so only a field term's get them.
  const withFields = testsFields(filter);
  const sent = lines.map(({ ts, level, namespace, pod, container, source, message, fields, format }) => ({
    ts,
    level,
    namespace,
    pod,
    container,
    source,
    message,
    fields: withFields ? fields : null,
    format: withFields ? format : null,
  }));
  const work: LineTestWork = { type: 'test-lines', filter, lines: sent, enough: search?.enough ?? null };
  const untested: LinesTest = { matches: new Uint8Array(lines.length), tested: 0 };
  if (!search) return pool.run(client, 'tail', work, () => sharedClockNow() + timeMs, untested);
  const deadline = sharedClockNow() + timeMs;
  return pool.run(client, 'search', work, () => deadline, untested);
}

/**
 * Line tests off the thread that serves HTTP, for an engine whose SQL cannot say what a filter means (JavaScript's
 * regexes, log-model's words): threads that only test lines, stopped and replaced when one line's test runs past
 * the deadline, shared fairly between clients (WorkerPool).
 */
export class LineTestThreads implements LineTester {
  private readonly pool: WorkerPool<LineTestWork>;

  constructor(threads = POOL_THREADS) {
    this.pool = new WorkerPool({ script: join(__dirname, 'line-test.worker.js'), name: 'line-test', threads });
  }

  testLines(filter: LineFilter, lines: readonly LogLine[], timeMs: number, client: string, search?: SearchLinesTest): Promise<LinesTest> {
    return testLinesOn(this.pool, filter, lines, timeMs, client, search);
  }

  stop(): Promise<void> {
    return this.pool.stop();
  }
}
