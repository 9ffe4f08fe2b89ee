import { Worker } from 'node:worker_threads';
import { ClientShares, WorkKind } from './client-shares';
import { sharedClockNow } from './shared-clock';

/**
 * A pool's threads unless told otherwise: two, so that work slow for its lines holds one while the other serves
 * the rest (no client holds both: ClientShares).
 */
export const POOL_THREADS = 2;

/**
 * How long past its deadline a thread has to answer before it is stopped and replaced. A thread looks
 * at the clock between lines; only a line whose own test takes longer than this goes past it.
 */
const STOP_AFTER_MS = 250;

/**
 * What a pool's thread is sent (serveJobs answers it): a job, its deadline on sharedClockNow's clock (null: none),
 * or a notice for every thread.
 */
export type PoolMessage<Work, Notice> = { job: { id: number; work: Work; deadline: number | null } } | { notice: Notice };

/** What a thread answers a job: its answer, or why it failed. */
export type PoolReply = { id: number; answer: unknown } | { id: number; failure: string };

interface Job<Work> {
  work: Work;
  /** The job's deadline, worked out as a thread takes it up. */
  deadline: () => number | null;
  /** Called once: with the thread's reply, or null when the thread was stopped at the deadline. */
  settle: (reply: PoolReply | null, failure?: Error) => void;
}

interface PoolThread<Work> {
  worker: Worker;
  /** Whether it ever answered: one that fails before is not started again (it would fail again). */
  answered: boolean;
  job: { client: string; job: Job<Work> } | null;
  jobId: number;
  timer: NodeJS.Timeout | null;
}

export interface WorkerPoolOptions {
  /** The worker script's file, which calls serveJobs. */
  script: string;
  /** What its threads are called in errors: "no search thread could start". */
  name: string;
  threads?: number;
}

/**
 * Worker threads for work that must not run on the thread that serves HTTP, and that may have to be stopped in
 * the middle: work in, promises out, shared out between the clients it is for (ClientShares). A thread still at
 * work STOP_AFTER_MS past its job's deadline is stopped and replaced, and the job answers as stopped.
 */
export class WorkerPool<Work, Notice = never> {
  private readonly threads = new Set<PoolThread<Work>>();
  private readonly waiting: ClientShares<Job<Work>>;
  private readonly script: string;
  private readonly name: string;
  private nextId = 1;
  private stopped = false;

  constructor({ script, name, threads = POOL_THREADS }: WorkerPoolOptions) {
    this.script = script;
    this.name = name;
    this.waiting = new ClientShares(Math.max(1, threads - 1));
    for (let i = 0; i < threads; i++) this.startThread();
  }

  /**
   * Runs work for `client` on a thread, until `deadline` (on sharedClockNow's clock, worked out as a thread takes
   * the work up; null or infinite: none): the thread's answer, or `whenStopped` if it had to be stopped.
   */
  run<Answer>(client: string, kind: WorkKind, work: Work, deadline: () => number | null, whenStopped: Answer): Promise<Answer> {
    if (this.stopped) return Promise.reject(new Error('storage is closed'));
    if (this.threads.size === 0) return Promise.reject(new Error(`no ${this.name} thread could start`));
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.add(client, kind, {
        work,
        deadline,
        settle: (reply, failure) => {
          if (failure) reject(failure);
          else if (reply === null) resolve(whenStopped);
          else if ('failure' in reply) reject(new Error(reply.failure));
          else resolve(reply.answer as Answer);
        },
      });
      this.dispatch();
    });
  }

  /** Tells every thread something, which each takes in after the job it is doing. */
  tell(notice: Notice): void {
    for (const thread of this.threads) thread.worker.postMessage({ notice } satisfies PoolMessage<Work, Notice>);
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

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.job) continue;
      const next = this.waiting.take();
      if (!next) return;
      const job = next.work;
      thread.job = { client: next.client, job };
      thread.jobId = this.nextId++;
      thread.worker.ref();
      const due = job.deadline();
      const deadline = due !== null && Number.isFinite(due) ? due : null;
      thread.worker.postMessage({ job: { id: thread.jobId, work: job.work, deadline } } satisfies PoolMessage<Work, Notice>);
      if (deadline !== null) thread.timer = setTimeout(() => this.stopThread(thread), Math.max(0, deadline - sharedClockNow()) + STOP_AFTER_MS);
    }
  }

  private startThread(): void {
    const thread: PoolThread<Work> = { worker: new Worker(this.script), answered: false, job: null, jobId: 0, timer: null };
    thread.worker.on('message', (reply: PoolReply) => {
      thread.answered = true;
      if (reply.id === thread.jobId) this.finish(thread, reply);
      this.dispatch();
    });
    thread.worker.on('error', (error) => this.replace(thread, error));
    thread.worker.on('exit', (code) => this.replace(thread, new Error(`a ${this.name} thread exited with code ${code}`)));
    // An idle thread keeps no process alive (one whose boot failed after it started, say); one at work does.
    // After the listeners: adding one refs the thread again.
    thread.worker.unref();
    this.threads.add(thread);
  }

  private finish(thread: PoolThread<Work>, reply: PoolReply | null, failure?: Error): void {
    if (thread.timer) clearTimeout(thread.timer);
    const taken = thread.job;
    thread.job = null;
    thread.timer = null;
    thread.worker.unref();
    if (!taken) return;
    this.waiting.release(taken.client);
    taken.job.settle(reply, failure);
  }

  /** A thread past its deadline by STOP_AFTER_MS is in one line's test: its work ends as stopped. */
  private stopThread(thread: PoolThread<Work>): void {
    this.threads.delete(thread);
    this.finish(thread, null);
    void thread.worker.terminate();
    if (!this.stopped) this.startThread();
    this.dispatch();
  }

  private replace(thread: PoolThread<Work>, error: Error): void {
    if (!this.threads.delete(thread)) return;
    this.finish(thread, null, error);
    if (!this.stopped && thread.answered) this.startThread();
    if (this.threads.size === 0) for (const job of this.waiting.drain()) job.settle(null, error);
    this.dispatch();
  }
}
