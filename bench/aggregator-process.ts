import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildRun } from './child-run';
import { HOST, send } from './http-client';

/** dist/bench/ → apps/aggregator/start.sh, what `npm start` and the image run (it execs node on main.js: the pid stays). */
const START_SCRIPT = join(__dirname, '../../apps/aggregator/start.sh');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;

/** A port nothing listens on at the moment, on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** The real aggregator (`apps/aggregator/start.sh`, as `npm start` runs it) as a child process on loopback. */
export class AggregatorProcess {
  private constructor(
    private readonly run: ChildRun,
    readonly port: number,
  ) {}

  /** Starts it on a free port with a fresh data dir (and `settings` over its defaults) and waits for GET /readyz to answer 200. */
  static start(dataDir: string, settings: Record<string, string> = {}): Promise<AggregatorProcess> {
    return AggregatorProcess.spawn({ DAYLOG_DATA_DIR: dataDir, ...settings });
  }

  /** The same over a PostgreSQL database (DAYLOG_POSTGRES_URL): a replica, of as many as are started on it. */
  static startOnPostgres(url: string, settings: Record<string, string> = {}): Promise<AggregatorProcess> {
    return AggregatorProcess.spawn({ DAYLOG_POSTGRES_URL: url, ...settings });
  }

  private static async spawn(settings: Record<string, string>): Promise<AggregatorProcess> {
    const port = await freePort();
    // Only the settings the benchmark chooses: any DAYLOG_* of the caller's shell is left out, so the
    // aggregator runs its defaults (DAYLOG_SYNCHRONOUS=full among them), as the raw baseline assumes.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DAYLOG_')));
    const child = spawn('sh', [START_SCRIPT], {
      env: {
        ...env,
        // The script runs `node` from PATH: this one, the bench's own.
        PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}`,
        DAYLOG_PORT: String(port),
        DAYLOG_HOST: HOST,
        DAYLOG_RETENTION: '24h',
        NO_COLOR: '1',
        ...settings,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const aggregator = new AggregatorProcess(new ChildRun(child, 'aggregator'), port);
    await aggregator.waitReady();
    return aggregator;
  }

  get running(): boolean {
    return this.run.running;
  }

  /** CPU seconds (user + system, all threads) the process has used so far; null where /proc is missing. */
  cpuSeconds(): number | null {
    return this.run.cpuSeconds();
  }

  rssBytes(): number | null {
    return this.run.rssBytes();
  }

  /** SIGTERM: it answers in-flight batches, closes its storage (SQLite's checkpoint) and exits 0. */
  async stop(): Promise<void> {
    if (!this.running) return this.run.failed(`the aggregator had already exited (${this.run.child.exitCode})`);
    const code = await this.run.terminate(STOP_TIMEOUT_MS);
    if (code === 'timeout') return this.run.failed(`the aggregator did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    if (code !== 0) return this.run.failed(`the aggregator exited with ${code} after SIGTERM`);
  }

  /** Kills it without waiting: for the failure paths. */
  kill(): void {
    this.run.kill();
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) return this.run.failed(`the aggregator exited (${this.run.child.exitCode}) before it was ready`);
      try {
        const answer = await send(false, this.port, 'GET', '/readyz');
        if (answer.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    this.kill();
    return this.run.failed(`GET /readyz did not answer 200 within ${READY_TIMEOUT_MS} ms`);
  }
}
