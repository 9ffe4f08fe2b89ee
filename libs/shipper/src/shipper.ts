import { open, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { glob } from 'tinyglobby';
import { ShipperConfig } from '@daylog/config/shipper';
import { AggregatorClient } from './aggregator-client';
import { CheckpointStore, FileCheckpoint } from './checkpoint-store';
import { logEvent } from './log-event';
import { ShipperClock, ShipperCore } from './shipper-core';
import { ShipperMetrics } from './shipper-metrics';
import { TextLineDecoder } from './text-line-decoder';
import { TrackedFile, readFingerprint, startsWith } from './tracked-file';
import { WatchedDirectories, isInside } from './watched-directories';

/** `access.log.2` → 2; a name without a number → 0. */
function rotationNumber(path: string): number {
  return Number(/\.(\d+)$/.exec(path)?.[1] ?? 0);
}

/** Rotated names that hold compressed copies: never read as text. */
const COMPRESSED = /\.(gz|bz2|xz|zst|zip)$/;

/**
 * The sidecar: follows the files the globs name, and the files they used to name until those are
 * finished (rotated by rename or copytruncate, also while it was down), labelled with its pod.
 */
export class Shipper extends ShipperCore {
  /** Whether each glob matched a file at the last listing; absent until the first. */
  private readonly globMatches = new Map<string, boolean>();
  private readonly watched: WatchedDirectories;

  constructor(config: ShipperConfig, client: AggregatorClient, store: CheckpointStore, metrics: ShipperMetrics, clock: ShipperClock = Date) {
    super(config, client, store, metrics, clock);
    this.watched = new WatchedDirectories(config.files, config.stateDir, metrics);
  }

  protected watchedFolders(): string[] {
    return this.config.files.map((pattern) => dirname(pattern));
  }

  protected owns(checkpoint: FileCheckpoint): boolean {
    return checkpoint.container === undefined;
  }

  /** Copytruncate: the file is shorter than what was read, or begins with other bytes. */
  protected override async replacedInPlace(file: TrackedFile, size: number): Promise<boolean> {
    if (size >= file.readOffset && (await startsWith(file.handle, file.checkpoint.fingerprint))) return false;
    await this.truncated(file);
    return true;
  }

  protected override recoverWhileDown(): Promise<void> {
    return this.recoverRotatedWhileDown();
  }

  /**
   * Copytruncate: the file is shorter than what was read, or begins with other bytes. The lines
   * written between the last read and the truncation are in the copy beside it (access.log.1),
   * recognised by the same first bytes: they are read from there before starting again at 0.
   */
  private async truncated(file: TrackedFile): Promise<void> {
    const copy = await this.findCopy(file);
    if (copy) {
      const size = (await copy.stat()).size;
      await file.readFrom(copy, file.readOffset, size, this.clock.now());
      file.readOffset = Math.max(file.readOffset, size);
      await copy.close();
    }
    file.acceptPartialLine(this.clock.now());
    while (file.pending.length > 0 && (await this.flush(file))) continue;
    await this.drain();
    this.metrics.rotations++;
    logEvent('truncated', { path: file.checkpoint.path, generation: file.checkpoint.generation + 1, copy_found: copy !== null });
    Object.assign(file.checkpoint, {
      generation: file.checkpoint.generation + 1,
      fingerprint: await readFingerprint(file.handle),
      offset: 0,
      inflight: [],
      updatedMs: this.clock.now(),
    });
    file.sent = [];
    file.resend = [];
    file.decoder.reset();
    file.readOffset = 0;
    file.batchStart = 0;
    await this.save();
  }

  private async findCopy(file: TrackedFile): Promise<Awaited<ReturnType<typeof open>> | null> {
    const dir = dirname(file.checkpoint.path);
    const name = basename(file.checkpoint.path);
    const siblings = (await readdir(dir)).filter((entry) => entry !== name && entry.startsWith(`${name}.`) && !COMPRESSED.test(entry));
    for (const sibling of siblings) {
      const inside = await this.watched.statInside(join(dir, sibling));
      if (!inside) continue;
      const handle = await open(join(dir, sibling), 'r').catch(() => null);
      if (!handle) continue;
      const st = await handle.stat();
      const checked = st.dev === inside.dev && st.ino === inside.ino;
      if (checked && st.ino !== file.checkpoint.ino && st.size >= file.readOffset && (await startsWith(handle, file.checkpoint.fingerprint))) {
        return handle;
      }
      await handle.close();
    }
    return null;
  }

  /**
   * The files the globs name, each glob listed on its own so that one matching nothing is said
   * (once, and again when that changes). The shipper's own state files are never among them; files
   * they name through a link that leads out of the folders they name are refused when looked at.
   */
  private async listFiles(): Promise<string[]> {
    const found = new Set<string>();
    for (const pattern of this.config.files) {
      const paths = (await glob(pattern, { absolute: true, onlyFiles: true })).filter((path) => !isInside(this.config.stateDir, path));
      const matches = paths.length > 0;
      if (this.globMatches.get(pattern) !== matches) {
        this.globMatches.set(pattern, matches);
        if (matches) logEvent('files_match', { glob: pattern, files: paths.length });
        else logEvent('no_files_match', { glob: pattern });
      }
      for (const path of paths) found.add(path);
    }
    await this.watched.refresh(found);
    return [...found];
  }

  protected async discover(): Promise<void> {
    const paths = await this.listFiles();
    const named = new Set<string>();
    for (const path of paths) {
      const st = await this.watched.statInside(path);
      if (!st) continue;
      const key = `${st.dev}:${st.ino}`;
      named.add(key);
      const tracked = this.files.get(key);
      if (tracked) {
        tracked.checkpoint.path = path;
        tracked.rotated = false;
        continue;
      }
      const replaced = [...this.files.values()].find((file) => file.checkpoint.path === path);
      if (replaced) {
        replaced.rotated = true;
        this.metrics.rotations++;
        logEvent('rotated', { path, previous_inode: replaced.checkpoint.ino, inode: st.ino });
      }
      const savedHere = [...this.saved.values()].some((c) => c.path === path);
      const fromStart = this.started || replaced !== undefined || savedHere || this.config.startAt === 'beginning';
      await this.track(path, st.dev, st.ino, fromStart ? 0 : st.size);
    }
    for (const [key, file] of this.files) if (!named.has(key)) file.rotated = true;
  }

  /** Opens a file to follow: from its saved offset if it is the same file, else from `startOffset`. */
  private async track(path: string, dev: number, ino: number, startOffset: number): Promise<void> {
    const key = `${dev}:${ino}`;
    const saved = this.saved.get(key);
    this.saved.delete(key);
    const now = this.clock.now();
    const checkpoint: FileCheckpoint = saved ?? {
      path, dev, ino, fingerprint: '', firstSeenMs: now, generation: 0, offset: startOffset, inflight: [], updatedMs: now,
    };
    checkpoint.path = path;
    const handle = await TrackedFile.openChecked(path, checkpoint).catch(() => null);
    if (!handle) return;
    const file = new TrackedFile(key, handle, checkpoint, this.config.labels, new TextLineDecoder(checkpoint, this.config, this.metrics), this.metrics, now);
    if (!saved) checkpoint.fingerprint = await readFingerprint(file.handle);
    this.files.set(key, file);
    await this.save();
    logEvent('following', { path, offset: checkpoint.offset, resumed: saved !== undefined });
  }

  /**
   * Files rotated while the shipper was down: a saved file no longer at its path is found by its
   * inode beside it and finished from its offset; rotated copies newer than its last checkpoint
   * that the shipper never saw are read from their beginning, oldest first.
   */
  private async recoverRotatedWhileDown(): Promise<void> {
    const atPaths = new Set<string>();
    for (const path of await this.listFiles()) {
      const st = await this.watched.statInside(path);
      if (st) atPaths.add(`${st.dev}:${st.ino}`);
    }
    for (const [key, saved] of [...this.saved]) {
      if (atPaths.has(key)) continue;
      const dir = dirname(saved.path);
      const name = basename(saved.path);
      const entries = await readdir(dir).catch(() => [] as string[]);
      const candidates: { path: string; dev: number; ino: number; mtimeMs: number }[] = [];
      for (const entry of entries.filter((e) => e.startsWith(name) && !COMPRESSED.test(e))) {
        const st = await this.watched.statInside(join(dir, entry));
        if (st?.isFile()) candidates.push({ path: join(dir, entry), dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs });
      }
      const itself = candidates.find((c) => `${c.dev}:${c.ino}` === key);
      if (!itself) {
        this.saved.delete(key);
        continue;
      }
      await this.track(itself.path, itself.dev, itself.ino, saved.offset);
      // Copies written since the last checkpoint that the shipper never followed. Timestamps are
      // coarse, so ties are broken by logrotate's numbering: a higher suffix is an older copy.
      const unseen = candidates
        .filter((c) => `${c.dev}:${c.ino}` !== key && !atPaths.has(`${c.dev}:${c.ino}`) && !this.files.has(`${c.dev}:${c.ino}`))
        .filter((c) => c.mtimeMs >= saved.updatedMs + this.fileClockAheadMs && !this.saved.has(`${c.dev}:${c.ino}`))
        .sort((a, b) => a.mtimeMs - b.mtimeMs || rotationNumber(b.path) - rotationNumber(a.path));
      for (const copy of unseen) await this.track(copy.path, copy.dev, copy.ino, 0);
      logEvent('recovered', { path: saved.path, rotated_copies: unseen.length });
    }
  }

}
