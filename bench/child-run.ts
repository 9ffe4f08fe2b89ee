import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './bench-support';

const OUTPUT_KEPT = 8_000;
/** Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_S = 100;

/**
 * A spawned child with its stdout and stderr piped: keeps the tail of its output for error messages and
 * SIGKILLs it at cleanup if it still runs then.
 */
export class ChildRun {
  private output = '';
  private readonly exited: Promise<number | null>;
  private readonly forget: () => void;

  constructor(
    readonly child: ChildProcess,
    /** Names it in error messages: "aggregator", "shipper". */
    private readonly name: string,
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

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** CPU seconds (user + system, all threads) used so far; null where /proc is missing. */
  cpuSeconds(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
    } catch {
      return null;
    }
  }

  /** Resident memory (VmRSS) in bytes; null where /proc is missing. */
  rssBytes(): number | null {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return kb ? Number(kb[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** SIGTERM, then its exit code; 'timeout' (after a SIGKILL) if it has not exited within timeoutMs. */
  async terminate(timeoutMs: number): Promise<number | null | 'timeout'> {
    this.child.kill('SIGTERM');
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(() => 'cancelled' as const);
    const code = await Promise.race([this.exited, timeout]);
    timer.abort();
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      return 'timeout';
    }
    this.forget();
    // The timer is aborted only after the race is settled by the exit, so 'cancelled' never wins it.
    return code as number | null;
  }

  /** Kills it without waiting: for the failure paths. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
    this.forget();
  }

  failed(message: string): never {
    throw new Error(`${message}\n--- ${this.name} output (tail) ---\n${this.output}`);
  }
}
