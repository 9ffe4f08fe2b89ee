import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './bench-support';
import { HOST, send } from './http-client';

/** dist/bench/ → dist/apps/aggregator/src/main.js, the file `npm start` runs. */
const MAIN_JS = join(__dirname, '../apps/aggregator/src/main.js');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 8_000;
/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_S = 100;

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

/** The real aggregator (`node dist/apps/aggregator/src/main.js`) as a child process on loopback. */
export class AggregatorProcess {
  private output = '';
  private readonly exited: Promise<number | null>;
  private readonly forget: () => void;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.forget = onCleanup(() => {
      if (this.running) child.kill('SIGKILL');
    });
  }

  /** Starts it on a free port with a fresh data dir and waits for GET /readyz to answer 200. */
  static async start(dataDir: string): Promise<AggregatorProcess> {
    const port = await freePort();
    // Only the settings the benchmark chooses: any DAYLOG_* of the caller's shell is left out, so the
    // aggregator runs its defaults (DAYLOG_SYNCHRONOUS=full among them), as the raw baseline assumes.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DAYLOG_')));
    const child = spawn(process.execPath, [MAIN_JS], {
      env: {
        ...env,
        DAYLOG_DATA_DIR: dataDir,
        DAYLOG_PORT: String(port),
        DAYLOG_HOST: HOST,
        DAYLOG_RETENTION: '24h',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const aggregator = new AggregatorProcess(child, port);
    await aggregator.waitReady();
    return aggregator;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** CPU seconds (user + system, all threads) the process has used so far; null where /proc is missing. */
  cpuSeconds(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
    } catch {
      return null;
    }
  }

  /** SIGTERM: it answers in-flight batches, checkpoints, closes SQLite and exits 0. */
  async stop(): Promise<void> {
    if (!this.running) return this.failed(`the aggregator had already exited (${this.child.exitCode})`);
    this.child.kill('SIGTERM');
    const timer = new AbortController();
    const timeout = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { signal: timer.signal }).catch(() => 'cancelled' as const);
    const code = await Promise.race([this.exited, timeout]);
    timer.abort();
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      return this.failed(`the aggregator did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    }
    this.forget();
    if (code !== 0) return this.failed(`the aggregator exited with ${code} after SIGTERM`);
  }

  /** Kills it without waiting: for the failure paths. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
    this.forget();
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) return this.failed(`the aggregator exited (${this.child.exitCode}) before it was ready`);
      try {
        const answer = await send(false, this.port, 'GET', '/readyz');
        if (answer.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    this.kill();
    return this.failed(`GET /readyz did not answer 200 within ${READY_TIMEOUT_MS} ms`);
  }

  private failed(message: string): never {
    throw new Error(`${message}\n--- aggregator output (tail) ---\n${this.output}`);
  }
}
