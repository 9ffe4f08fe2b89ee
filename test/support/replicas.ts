import { once } from 'node:events';
import { AggregatorProcess, runAggregator } from './aggregator-process';

/** One aggregator process, as a client reaches it. */
export interface Replica {
  name: string;
  url: string;
  run: AggregatorProcess;
}

/** A JSON body as these tests read it: untyped, as supertest's are. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field against what each test expects
export type JsonBody = any;

/** An answer as a client saw it: its status, body (JSON when it is), Retry-After, and how long it took. */
export interface Answer {
  status: number;
  body: JsonBody;
  retryAfter: string | null;
  ms: number;
}

/** A request that gets no answer at all (its replica killed) is this, not an Answer. */
export class NoAnswer extends Error {}

/** No request of these tests may take longer: past it, it has hung, and the test fails saying so rather than waiting for the runner. */
const REQUEST_GUARD_MS = 30_000;

export async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_GUARD_MS) });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new Error(`${init.method ?? 'GET'} ${url} hung for ${REQUEST_GUARD_MS} ms`, { cause: error });
    throw new NoAnswer(`${init.method ?? 'GET'} ${url}: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a text answer): kept as text.
  }
  return { status: response.status, body, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started };
}

export interface SentLine {
  message: string;
  ts?: number;
  level?: string;
}

/** POSTs one JSON batch of lines under `labels`, with an Idempotency-Key when given. */
export function ingest(replica: Replica, labels: Record<string, string>, lines: SentLine[], key?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (key !== undefined) headers['Idempotency-Key'] = key;
  return send(`${replica.url}/api/v1/logs`, { method: 'POST', headers, body: JSON.stringify({ labels, lines }) });
}

/** A GET of `path` with `params` (format=json added unless given). */
export function read(replica: Replica, path: string, params: Record<string, string> = {}): Promise<Answer> {
  return send(`${replica.url}${path}?${new URLSearchParams({ format: 'json', ...params }).toString()}`);
}

/** Like read, but anything but a 200 fails: its body. */
export async function readOk(replica: Replica, path: string, params: Record<string, string> = {}): Promise<JsonBody> {
  const answer = await read(replica, path, params);
  if (answer.status !== 200) throw new Error(`${replica.name} ${path} ${JSON.stringify(params)}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * Every aggregator process a test file starts, kept to the end so that all their output can be read then, and
 * stopped by its `after` hooks.
 */
export class ReplicaSet {
  readonly started: Replica[] = [];

  /** Starts the aggregators at once (as a rollout would), over the database `url`, and waits for each to listen. */
  async start(names: string[], url: string, env: Record<string, string> = {}): Promise<Replica[]> {
    const runs = names.map((name) => ({ name, run: runAggregator({ DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1', DAYLOG_POSTGRES_URL: url, ...env }) }));
    const replicas = runs.map(({ name, run }) => ({ name, run, url: '' }));
    this.started.push(...replicas);
    for (const replica of replicas) replica.url = await replica.run.listening(30_000);
    return replicas;
  }

  /** SIGTERM, then the end of their output (not only their exit): what they wrote is then all read. */
  async stop(replicas: Replica[]): Promise<void> {
    await Promise.all(
      replicas.map(async ({ run }) => {
        if (run.child.exitCode !== null || run.child.signalCode !== null) return;
        const closed = once(run.child, 'close');
        run.child.kill('SIGTERM');
        const timer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
        await closed;
        clearTimeout(timer);
      }),
    );
  }
}
