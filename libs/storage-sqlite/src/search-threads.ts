import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LineFilter, LineTester, LinesTest } from '@daylog/storage';
import { Statement } from './page-statement';
import { LogLine } from '@daylog/log-model';
import { ClientShares, WorkKind } from './client-shares';
import { SearchReply, SearchRequest, sharedClockNow } from './search-protocol';

/**
 * Text searches (substrings, words, regexes) and live tails' regexes run on these threads, never on
 * the one that serves HTTP: a regex runs in time linear in the line, but one made of many counted
 * repetitions can still take seconds on a long line, and only a thread can be stopped in the middle
 * of one. Two, so that a search slow for its lines holds one while the other serves the rest: no client
 * holds both (ClientShares).
 */
const SEARCH_THREADS = 2;

/**
 * How long past its deadline a thread has to answer before it is stopped and replaced. A thread looks
 * at the clock between lines; only a line whose own test takes longer than this goes past it.
 */
const STOP_AFTER_MS = 250;

/** Whose work a search or tail test is when it names no client. */
const NO_CLIENT = '';

type Ask = SearchRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id' | 'deadline'> : never) : never;

interface Job {
  ask: Ask;
  /** The job's deadline, worked out as a thread takes it up. */
  deadline: () => number | null;
  /** Called once: with the thread's reply, or null when the thread was stopped at the deadline. */
  settle: (reply: SearchReply | null, failure?: Error) => void;
}

interface SearchThread {
  worker: Worker;
  /** Whether it ever answered: one that fails before is not started again (it would fail again). */
  answered: boolean;
  job: { client: string; job: Job } | null;
  jobId: number;
  timer: NodeJS.Timeout | null;
}

/** The search threads: work in, promises out, shared out between the clients it is for (ClientShares). */
export class SearchThreads implements LineTester {
  private readonly threads = new Set<SearchThread>();
  private readonly waiting: ClientShares<Job>;
  private nextId = 1;
  private stopped = false;

  constructor(threads = SEARCH_THREADS) {
    this.waiting = new ClientShares(Math.max(1, threads - 1));
    for (let i = 0; i < threads; i++) this.startThread();
  }

  /**
   * The rows of a statement on a partition file, or 'out-of-time' when the deadline (on `sharedClockNow`'s
   * clock; null: none) passes before they are all read. `client`: whom the search is for.
   */
  rows<Row>(file: string, statement: Statement, deadline: number | null, client = NO_CLIENT): Promise<Row[] | 'out-of-time'> {
    return this.run<Row[] | 'out-of-time'>(client, 'search', { type: 'rows', file, statement }, () => deadline, (reply) =>
      reply === null || reply.type === 'out-of-time' ? 'out-of-time' : (reply as Extract<SearchReply, { type: 'rows' }>).rows as Row[],
    );
  }

  /** Tests lines against a live tail's filter (one with a regex), in order, for at most `timeMs` once a thread takes them up. */
  testLines(filter: LineFilter, lines: readonly LogLine[], timeMs: number, client: string): Promise<LinesTest> {
    // What a filter reads of a line, no more: fields can be large, and are copied to the thread.
    const sent = lines.map(({ ts, level, namespace, pod, container, source, message }) => ({ ts, level, namespace, pod, container, source, message, fields: null, format: null }));
    return this.run<LinesTest>(client, 'line-test', { type: 'test', filter, lines: sent }, () => sharedClockNow() + timeMs, (reply) =>
      reply === null ? { matches: new Uint8Array(lines.length), tested: 0 } : (reply as Extract<SearchReply, { type: 'tested' }>),
    );
  }

  /** Every thread closes its connections to these files (after the work it is doing). */
  forget(files: string[]): void {
    for (const thread of this.threads) thread.worker.postMessage({ type: 'forget', files } satisfies SearchRequest);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const closed = new Error('storage is closed');
    for (const job of this.waiting.drain()) job.settle(null, closed);
    const threads = [...this.threads];
    this.threads.clear();
    for (const thread of threads) this.finish(thread, null, closed);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private run<T>(client: string, kind: WorkKind, ask: Ask, deadline: () => number | null, result: (reply: SearchReply | null) => T): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('storage is closed'));
    if (this.threads.size === 0) return Promise.reject(new Error('no search thread could start'));
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(client, kind, {
        ask,
        deadline,
        settle: (reply, failure) => {
          if (failure) reject(failure);
          else if (reply?.type === 'failed') reject(new Error(reply.message));
          else resolve(result(reply));
        },
      });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.job) continue;
      const next = this.waiting.take();
      if (!next) return;
      const job = next.work;
      thread.job = { client: next.client, job };
      thread.jobId = this.nextId++;
      thread.worker.ref();
      const deadline = job.deadline();
      thread.worker.postMessage({ ...job.ask, id: thread.jobId, deadline });
      if (deadline !== null) thread.timer = setTimeout(() => this.stopThread(thread), Math.max(0, deadline - sharedClockNow()) + STOP_AFTER_MS);
    }
  }

  private startThread(): void {
    const thread: SearchThread = { worker: new Worker(join(__dirname, 'search.worker.js')), answered: false, job: null, jobId: 0, timer: null };
    thread.worker.on('message', (reply: SearchReply) => {
      thread.answered = true;
      if (reply.id === thread.jobId) this.finish(thread, reply);
      this.dispatch();
    });
    thread.worker.on('error', (error) => this.replace(thread, error));
    thread.worker.on('exit', (code) => this.replace(thread, new Error(`a search thread exited with code ${code}`)));
    // An idle thread keeps no process alive (one whose boot failed after it started, say); one at work does.
    // After the listeners: adding one refs the thread again.
    thread.worker.unref();
    this.threads.add(thread);
  }

  private finish(thread: SearchThread, reply: SearchReply | null, failure?: Error): void {
    if (thread.timer) clearTimeout(thread.timer);
    const taken = thread.job;
    thread.job = null;
    thread.timer = null;
    thread.worker.unref();
    if (!taken) return;
    this.waiting.release(taken.client);
    taken.job.settle(reply, failure);
  }

  /** A thread past its deadline by STOP_AFTER_MS is in one line's test: its work ends as out of time. */
  private stopThread(thread: SearchThread): void {
    this.threads.delete(thread);
    this.finish(thread, null);
    void thread.worker.terminate();
    if (!this.stopped) this.startThread();
    this.dispatch();
  }

  private replace(thread: SearchThread, error: Error): void {
    if (!this.threads.delete(thread)) return;
    this.finish(thread, null, error);
    if (!this.stopped && thread.answered) this.startThread();
    if (this.threads.size === 0) for (const job of this.waiting.drain()) job.settle(null, error);
    this.dispatch();
  }
}
