import { spawn } from 'node:child_process';
import { REPO, imageCommand } from '../test/support/image-command';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './aggregator-process';
import { nowMs } from './bench-support';
import { ChildRun } from './child-run';
import { HOST, parseMetrics, send } from './http-client';

const STOP_TIMEOUT_MS = 30_000;
export const METRICS_POLL_MS = 50;

/** The sidecar: the files a glob names (DAYLOG_FILES), labelled with its pod. */
export interface SidecarFiles {
  files: string;
  pod: string;
  namespace: string;
  container: string;
}

/** The node agent: every container's log under a pods folder (DAYLOG_PODS_DIR), labelled by its path. */
export interface NodePods {
  podsDir: string;
}

export type ShipperOptions = (SidecarFiles | NodePods) & {
  aggregatorPort: number;
  stateDir: string;
  /** When set, the child runs with --cpu-prof and writes its profile here at exit. */
  cpuProfDir?: string;
};

function modeEnv(options: ShipperOptions): Record<string, string> {
  if ('podsDir' in options) return { DAYLOG_PODS_DIR: options.podsDir };
  return { DAYLOG_FILES: options.files, POD_NAME: options.pod, POD_NAMESPACE: options.namespace, CONTAINER_NAME: options.container };
}

export interface ShippedOutcome {
  /** From just before spawn until a /metrics answer showed every line shipped. */
  ms: number;
  /** From just before spawn until /metrics first answered: Node's start-up plus the shipper's wiring. */
  firstMetricsMs: number;
  polls: number;
}

/** The real shipper, as the image runs it, as a child process shipping to a loopback aggregator. */
export class ShipperProcess {
  private constructor(
    private readonly run: ChildRun,
    readonly metricsPort: number,
    /** nowMs() just before spawn. */
    readonly startedMs: number,
  ) {}

  /** Spawns it as the sidecar or the node agent with the default batch settings; does not wait for anything. */
  static async start(options: ShipperOptions): Promise<ShipperProcess> {
    const metricsPort = await freePort();
    // As for the aggregator: none of the caller's DAYLOG_* (or pod labels), so the batch settings are the defaults.
    const labels = new Set(['POD_NAME', 'POD_NAMESPACE', 'CONTAINER_NAME', 'POD_UID', 'NODE_NAME']);
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('DAYLOG_') && !labels.has(name)),
    );
    const execArgv = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [];
    const startedMs = nowMs();
    // The command line of the image's shipper stage, V8 settings included, run from the repository as /app.
    const [program, args] = imageCommand('shipper');
    const child = spawn(program, [...execArgv, ...args], {
      cwd: REPO,
      env: {
        ...env,
        DAYLOG_URL: `http://${HOST}:${options.aggregatorPort}`,
        ...modeEnv(options),
        DAYLOG_STATE_DIR: options.stateDir,
        DAYLOG_METRICS_PORT: String(metricsPort),
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ShipperProcess(new ChildRun(child, 'shipper'), metricsPort, startedMs);
  }

  get running(): boolean {
    return this.run.running;
  }

  /** CPU seconds (user + system, all threads) used so far; null where /proc is missing. */
  cpuSeconds(): number | null {
    return this.run.cpuSeconds();
  }

  /** Peak resident set size so far (VmHWM of /proc/<pid>/status), in bytes. */
  peakRssBytes(): number {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.run.child.pid}/status`, 'utf8');
    } catch (error) {
      return this.run.failed(`could not read /proc/${this.run.child.pid}/status: ${(error as Error).message}`);
    }
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (!match) return this.run.failed(`no VmHWM in /proc/${this.run.child.pid}/status`);
    return Number(match[1]) * 1024;
  }

  /** GET /metrics once; null while nothing listens yet. */
  async metrics(): Promise<Map<string, number> | null> {
    let answer;
    try {
      answer = await send(false, this.metricsPort, 'GET', '/metrics');
    } catch {
      return null;
    }
    if (answer.status !== 200) return this.run.failed(`GET /metrics answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    return parseMetrics(answer.body);
  }

  /**
   * Polls /metrics every METRICS_POLL_MS until daylog_shipper_lines_shipped_total reaches `lines`. Fails
   * at once if the shipper exits, refuses or drops lines, or ships more than it was given; fails at `timeoutMs`.
   */
  async waitShipped(lines: number, timeoutMs: number): Promise<ShippedOutcome> {
    const deadline = this.startedMs + timeoutMs;
    let firstMetricsMs: number | null = null;
    let last: Map<string, number> | null = null;
    let polls = 0;
    for (;;) {
      if (!this.running) return this.run.failed(`the shipper exited (${this.run.child.exitCode ?? this.run.child.signalCode}) while shipping`);
      const metrics = await this.metrics();
      const at = nowMs();
      polls++;
      if (metrics) {
        firstMetricsMs ??= at - this.startedMs;
        last = metrics;
        const shipped = metrics.get('daylog_shipper_lines_shipped_total');
        if (shipped === undefined) return this.run.failed('/metrics has no daylog_shipper_lines_shipped_total');
        const refused = (metrics.get('daylog_shipper_lines_rejected_total') ?? 0) + (metrics.get('daylog_shipper_batches_dropped_total') ?? 0);
        if (refused > 0) return this.run.failed(`the aggregator refused lines:\n${[...metrics].join('\n')}`);
        if (shipped > lines) return this.run.failed(`the shipper counted ${shipped} lines shipped of ${lines} written`);
        if (shipped === lines) return { ms: at - this.startedMs, firstMetricsMs, polls };
      }
      if (at >= deadline) {
        const seen = last ? [...last].map(([name, value]) => `${name} ${value}`).join('\n') : '(/metrics never answered)';
        return this.run.failed(`daylog_shipper_lines_shipped_total did not reach ${lines} within ${timeoutMs} ms; last /metrics:\n${seen}`);
      }
      await sleep(METRICS_POLL_MS);
    }
  }

  /** SIGTERM: it flushes what is pending, saves its offsets and exits 0. */
  async stop(): Promise<void> {
    const { child } = this.run;
    if (!this.running) return this.run.failed(`the shipper had already exited (${child.exitCode ?? child.signalCode})`);
    const code = await this.run.terminate(STOP_TIMEOUT_MS);
    if (code === 'timeout') return this.run.failed(`the shipper did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    if (code !== 0) return this.run.failed(`the shipper exited with ${code ?? child.signalCode} after SIGTERM`);
  }

  /** Kills it without waiting: for the failure paths. */
  kill(): void {
    this.run.kill();
  }
}
