import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temp dirs and cleanup steps, undone on a normal end, on a failure and on Ctrl-C alike. */
const tempDirs = new Set<string>();
const cleanups = new Set<() => void>();

export function makeTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `daylog-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A synchronous step to run at exit (kill a child, close a database); returns its remover. */
export function onCleanup(step: () => void): () => void {
  cleanups.add(step);
  return () => cleanups.delete(step);
}

export function cleanUpEverything(): void {
  for (const step of [...cleanups]) {
    try {
      step();
    } catch {
      // best effort: the process is ending
    }
  }
  cleanups.clear();
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

/** Every file under dir, WAL and shm included. */
export function dirBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += dirBytes(path);
    else if (entry.isFile()) bytes += statSync(path).size;
  }
  return bytes;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function nowMs(): number {
  return performance.now();
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function envInt(name: string, fallback: number, min: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name}=${JSON.stringify(text)} is not valid: expected a whole number ≥ ${min}`);
  }
  return value;
}

/**
 * Runs a bench's main: everything it started is cleaned up however it ends (done, failed, SIGINT, SIGTERM),
 * and a failure sets a non-zero exit code, its lines said as `<name> FAILED: …`.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  process.on('exit', cleanUpEverything);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${name}: ${signal}, cleaning up`);
      cleanUpEverything();
      process.exit(130);
    });
  }
  main().catch((error: unknown) => {
    console.error(`${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    cleanUpEverything();
    process.exitCode = 1;
  });
}
