import { parentPort } from 'node:worker_threads';
import type { PoolMessage, PoolReply } from './worker-pool';

/**
 * What a WorkerPool's worker script calls: answers each job in turn with `answer`, given the job's deadline (on
 * sharedClockNow's clock; null: none); what it throws is the job's failure. Notices go to `notice`.
 */
export function serveJobs<Work, Notice = never>(answer: (work: Work, deadline: number | null) => unknown, notice?: (notice: Notice) => void): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs answers a WorkerPool, from one of its worker threads');
  port.on('message', (message: PoolMessage<Work, Notice>) => {
    if ('notice' in message) {
      notice?.(message.notice);
      return;
    }
    const { id, work, deadline } = message.job;
    try {
      port.postMessage({ id, answer: answer(work, deadline) } satisfies PoolReply);
    } catch (error) {
      port.postMessage({ id, failure: (error as Error).message } satisfies PoolReply);
    }
  });
}
