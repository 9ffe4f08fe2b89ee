import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WriterOptions } from './partition-writer';
import { WriterReply, WriterRequest } from './writer-protocol';

type RequestBody = WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never;

export class WriterError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'WriterError';
  }
}

/** The main thread's handle on the writer thread: requests in, promises out. */
export class WriterClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WriterReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new WriterError(`the writer thread exited with code ${code}`)));
  }

  static start(options: WriterOptions): Promise<WriterClient> {
    const worker = new Worker(join(__dirname, 'writer.worker.js'), { workerData: options });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      worker.once('error', onError);
      worker.once('message', (reply: WriterReply) => {
        worker.off('error', onError);
        if (reply.type === 'ready') resolve(new WriterClient(worker));
        else reject(new WriterError(`the writer thread answered ${reply.type} before it was ready`));
      });
    });
  }

  get alive(): boolean {
    return this.failure === null;
  }

  request<T>(body: RequestBody): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  async stop(): Promise<void> {
    if (this.failure) return;
    await this.request({ type: 'close' });
    this.failure = new WriterError('storage is closed');
    await this.worker.terminate();
  }

  private settle(reply: WriterReply): void {
    if (reply.type === 'ready') return;
    const waiter = this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id);
    if (reply.type === 'done') waiter.resolve(reply.result);
    else waiter.reject(new WriterError(reply.message, reply.code));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
