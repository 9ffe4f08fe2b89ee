import { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import { logEvent } from './log-event';
import { ShipperMetrics } from './shipper-metrics';

export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
}

/** The folder a glob names before its first wildcard: `/var/log/app/**\/*.log` → `/var/log/app`. */
export function staticBase(pattern: string): string {
  const segments = dirname(resolve(pattern)).split(sep);
  const wild = segments.findIndex((segment) => segment.includes('\\') || isDynamicPattern(segment));
  return (wild === -1 ? segments : segments.slice(0, wild)).join(sep) || sep;
}

/**
 * The folders the globs name, by their real paths: a file is shipped only if its real path is inside
 * one of them and outside the shipper's own state. A glob follows symbolic links, and whoever writes
 * the logs can create them: `evil.log` → the sidecar's token would otherwise be shipped as lines.
 * Links that stay inside (a `current.log` pointing at today's file) are followed as before.
 */
export class WatchedDirectories {
  /** Each glob's folder and its real path, once it exists: fixed from then on, so a folder later replaced by a link leads nowhere new. */
  private readonly realBases: Map<string, string | null>;
  private realStateDir: string | null = null;
  /** Refused paths and the real path each led to, so that each refusal is said once. */
  private readonly refused = new Map<string, string>();

  constructor(
    patterns: string[],
    private readonly stateDir: string,
    private readonly metrics: ShipperMetrics,
  ) {
    this.realBases = new Map(patterns.map((pattern) => [staticBase(pattern), null]));
  }

  /** Resolves the folders that did not exist yet; forgets refusals of paths no longer listed. */
  async refresh(listed: Set<string>): Promise<void> {
    for (const [base, real] of this.realBases) if (real === null) this.realBases.set(base, await realpath(base).catch(() => null));
    this.realStateDir ??= await realpath(this.stateDir).catch(() => null);
    for (const path of this.refused.keys()) if (!listed.has(path)) this.refused.delete(path);
  }

  /** The file a path leads to, or null if there is none or it lies outside the watched folders (said once, and counted). */
  async statInside(path: string): Promise<Stats | null> {
    const realPath = await realpath(path).catch(() => null);
    if (realPath === null) return null;
    const stateDir = this.realStateDir ?? this.stateDir;
    const bases = [...this.realBases.values()].filter((base): base is string => base !== null);
    const why =
      realPath === stateDir || isInside(stateDir, realPath)
        ? "its real path is inside the shipper's state directory"
        : bases.some((base) => isInside(base, realPath))
          ? null
          : `its real path is outside the watched directories (${bases.join(', ')})`;
    if (why === null) return stat(realPath).catch(() => null);
    if (this.refused.get(path) !== realPath) {
      this.refused.set(path, realPath);
      this.metrics.filesSkipped++;
      logEvent('file_skipped', { path, real_path: realPath, reason: why });
    }
    return null;
  }
}
