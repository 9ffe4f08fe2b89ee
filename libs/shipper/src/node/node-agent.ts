import { FileHandle, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AGGREGATOR_CONNECTIONS, AggregatorClient } from '../aggregator-client';
import { CheckpointStore, ContainerInstance, FileCheckpoint, checkpointKey, containerFileIdentity } from '../checkpoint-store';
import { logEvent } from '../log-event';
import { ShipperClock, ShipperCore } from '../shipper-core';
import { ShipperMetrics } from '../shipper-metrics';
import { Fingerprinter, TrackedFile } from '../tracked-file';
import { ShipperConfig, PodsConfig } from '@daylog/config/shipper';
import { ContainerJoiners, ContainerLogDecoder, Crossing, containerJoiners } from './container-log-decoder';
import { gzippedFingerprint, unpackFrom } from './gzipped-log';
import { PodLogFile, PodLogFiles, ageRank } from './pod-log-files';
import { isWholeFingerprint, readRecordFingerprint } from './record-fingerprint';

const FIRST_RECORD: Fingerprinter = { read: readRecordFingerprint, isWhole: isWholeFingerprint };

type NodeCheckpoint = FileCheckpoint & { container: ContainerInstance };

/** Where gzipped logs are unpacked to be read, under DAYLOG_STATE_DIR: emptied at every start. */
const UNPACKED_DIR = 'unpacked';

const instanceKey = ({ podUid, container, restart }: ContainerInstance): string => `${podUid}/${container}/${restart}`;

/** Two fingerprints of the same file: equal once whole; one taken before its first record was whole is a prefix of the other. */
function sameStart(a: string, b: string): boolean {
  return a !== '' && b !== '' && (a.startsWith(b) || b.startsWith(a));
}

interface Followed {
  instance: string;
  /** ageRank of its name when last listed: a new one is a rotation. */
  age: string;
  /**
   * When it was first followed. A listing takes its new files oldest first, so an instance's files
   * are read in this order, not by their names now: Docker reuses `.1`, and a file gone from there
   * (replaced by the next copy, or renamed twice between listings) is older than the one there now.
   */
  order: number;
  /** The unpacked copy of a gzipped log, removed once it is finished. */
  unpacked: string | null;
}

/**
 * The node agent: every container's log under DAYLOG_PODS_DIR, labelled from its path, each file
 * known by its container instance and first bytes. A file kubelet renames is read on through its
 * descriptor to its end; one rotated and gzipped before it was finished (while the agent was down
 * or behind) is read from its `.gz`, from where its checkpoint stands.
 */
export class NodeAgent extends ShipperCore {
  private readonly pods: PodsConfig;
  private readonly podLogFiles: PodLogFiles;
  private readonly joiners = new Map<string, ContainerJoiners>();
  private readonly followed = new Map<string, Followed>();
  /** Files read to their end and let go, kept while a file of their first bytes is listed. */
  private finishedFiles = new Map<string, NodeCheckpoint>();
  /**
   * The first bytes of listed files not followed, by path and `dev:ino`: a rotated file is opened
   * once, not at every listing. The path is part of the key as inodes are reused: kubelet's next
   * `0.log` may get the inode of a `.gz` it just removed.
   */
  private fingerprints = new Map<string, string>();
  /** Files that could not be read at the last listing, said once. */
  private unreadablePaths = new Set<string>();
  /** Files followed so far: the next one's `order`. */
  private followedCount = 0;
  /** A node has many files: a batch of each of as many as there are connections (a file's own go one after another). */
  protected override readonly maxInFlight = AGGREGATOR_CONNECTIONS;

  constructor(config: ShipperConfig, client: AggregatorClient, store: CheckpointStore, metrics: ShipperMetrics, clock: ShipperClock = Date) {
    super(config, client, store, metrics, clock);
    if (!config.pods) throw new Error('the node agent needs DAYLOG_PODS_DIR');
    this.pods = config.pods;
    this.podLogFiles = new PodLogFiles(config.pods);
  }

  protected watchedFolders(): string[] {
    return [this.pods.podsDir];
  }

  protected owns(checkpoint: FileCheckpoint): boolean {
    return checkpoint.container !== undefined;
  }

  protected override async recoverWhileDown(): Promise<void> {
    await rm(this.unpackedDir, { recursive: true, force: true });
    for (const [key, saved] of this.saved) {
      if (!saved.finished || !saved.container) continue;
      this.finishedFiles.set(key, { ...saved, container: saved.container });
      this.saved.delete(key);
    }
  }

  protected override keptCheckpoints(): FileCheckpoint[] {
    return [...this.finishedFiles.values()];
  }

  /** Not before the older files of its container are read to their end: a line begun there may end here. */
  protected override mayRead(file: TrackedFile): boolean {
    const self = this.followed.get(file.key);
    if (!self) return true;
    for (const other of this.files.values()) {
      const that = this.followed.get(other.key);
      if (that && that.instance === self.instance && that.order < self.order && other.readOffset < other.size) return false;
    }
    return true;
  }

  protected override acknowledgedRange(file: TrackedFile, from: number, to: number): void {
    for (const crossing of this.crossingsOf(file)) {
      if (crossing.shippedIn === file.checkpoint && crossing.end > from && crossing.end <= to) crossing.acked = true;
    }
  }

  protected override holdsOffsetBefore(file: TrackedFile, end: number): boolean {
    return this.crossingsOf(file).some(
      (crossing) => crossing.shippedIn === file.checkpoint && crossing.end <= end && (crossing.startedIn?.offset ?? Infinity) <= crossing.start,
    );
  }

  private crossingsOf(file: TrackedFile): Crossing[] {
    const followed = this.followed.get(file.key);
    return (followed && this.joiners.get(followed.instance)?.crossings) || [];
  }

  protected override async retired(file: TrackedFile): Promise<void> {
    const followed = this.followed.get(file.key);
    this.followed.delete(file.key);
    if (followed?.unpacked) await rm(followed.unpacked, { force: true });
    const checkpoint = file.checkpoint as NodeCheckpoint;
    if (checkpoint.fingerprint !== '') this.finishedFiles.set(checkpointKey(checkpoint), { ...checkpoint, inflight: [], finished: true });
  }

  protected async discover(): Promise<void> {
    const listed = new Set<string>();
    const followedListed = new Set<string>();
    const onDisk = new Map<string, string[]>();
    const stillUnreadable = new Set<string>();
    let taken = false;
    for (const found of await this.podLogFiles.list()) {
      const st = await stat(found.path).catch((error: NodeJS.ErrnoException) => {
        // Gone since the folder was listed (or a Docker link between its file's rename and reopen): nothing to say.
        if (error.code !== 'ENOENT') {
          this.unreadable(found.path, error);
          stillUnreadable.add(found.path);
        }
        return null;
      });
      if (!st?.isFile()) continue;
      const key = `${st.dev}:${st.ino}`;
      const instance = instanceKey(found);
      const tracked = this.files.get(key);
      if (tracked) {
        followedListed.add(key);
        this.renamed(tracked, found);
        onDisk.set(instance, [...(onDisk.get(instance) ?? []), tracked.checkpoint.fingerprint]);
        continue;
      }
      const fingerprintKey = `${found.path}\0${key}`;
      listed.add(fingerprintKey);
      const fingerprint = this.fingerprints.get(fingerprintKey) ?? (await this.fingerprintOf(found));
      if (fingerprint === null) {
        stillUnreadable.add(found.path);
        continue;
      }
      // Taken before its first record was whole, it is taken again at the next listing.
      if (isWholeFingerprint(fingerprint)) this.fingerprints.set(fingerprintKey, fingerprint);
      onDisk.set(instance, [...(onDisk.get(instance) ?? []), fingerprint]);
      if (this.known(instance, fingerprint)) continue;
      await this.take(found, fingerprint, st.size);
      taken = true;
    }
    const deleted = [...this.files].filter(([key]) => !followedListed.has(key) && !this.followed.get(key)?.unpacked).map(([, file]) => file);
    for (const file of deleted) this.gone(file);
    await this.giveUpBeyondBound(deleted);
    this.forgetGone(listed, onDisk);
    this.unreadablePaths = stillUnreadable;
    // One save for the files a listing found, not one each: a node's first listing waited on 200 fsyncs.
    if (taken) await this.save();
  }

  /**
   * A file no longer listed: deleted (its pod or container removed, or a copy removed), or renamed
   * where the agent does not look. Read on to its end, still before the files followed after it.
   */
  private gone(file: TrackedFile): void {
    file.rotated = true;
  }

  /** Deleted files held open beyond DAYLOG_MAX_DELETED_FILES: the ones that grew longest ago go, their unread bytes counted. */
  private async giveUpBeyondBound(deleted: TrackedFile[]): Promise<void> {
    const excess = deleted.length - this.pods.maxDeletedFiles;
    if (excess <= 0) return;
    for (const file of deleted.sort((a, b) => a.lastGrowthMs - b.lastGrowthMs).slice(0, excess)) {
      const unread = Math.max(0, file.size - file.checkpoint.offset);
      this.metrics.bytesAbandoned += unread;
      logEvent('deleted_file_given_up', { path: file.checkpoint.path, unread_bytes: unread, held: deleted.length, bound: this.pods.maxDeletedFiles });
      const followed = this.followed.get(file.key);
      const joiners = followed && this.joiners.get(followed.instance);
      if (joiners) {
        joiners.behind.delete(file.decoder as ContainerLogDecoder);
        // Its unread lines are gone: the lines it began hold no other file's offset any more.
        for (const crossing of joiners.crossings) if (crossing.startedIn === file.checkpoint) crossing.startedIn = undefined;
      }
      this.files.delete(file.key);
      this.followed.delete(file.key);
      await file.handle.close();
    }
  }

  /** A file not followed yet: from its checkpoint if one names its first bytes, else as a new file. */
  private async take(found: PodLogFile, fingerprint: string, size: number): Promise<void> {
    const instance: ContainerInstance = { podUid: found.podUid, container: found.container, restart: found.restart };
    const saved = fingerprint === '' ? undefined : this.savedCheckpoint(instance, fingerprint);
    const fresh = this.started || this.config.startAt === 'beginning';
    if (!saved && !fresh && found.rotatedAt !== null) {
      // DAYLOG_START_AT=end at the first start: the rotated files already there are history.
      this.finishUnread(instance, found, fingerprint);
      return;
    }
    if (found.compressed) await this.trackUnpacked(found, instance, fingerprint, saved);
    else await this.track(found, instance, saved, fresh ? 0 : size);
  }

  /** Whether these first bytes are those of a file of the instance followed or finished (its rotated name, or its `.gz`). */
  private known(instance: string, fingerprint: string): boolean {
    for (const file of this.files.values()) {
      if (this.followed.get(file.key)?.instance === instance && sameStart(file.checkpoint.fingerprint, fingerprint)) return true;
    }
    for (const finished of this.finishedFiles.values()) {
      if (instanceKey(finished.container) === instance && sameStart(finished.fingerprint, fingerprint)) return true;
    }
    return false;
  }

  private async fingerprintOf(found: PodLogFile): Promise<string | null> {
    try {
      if (found.compressed) return await gzippedFingerprint(found.path);
      const handle = await open(found.path, 'r');
      try {
        return await readRecordFingerprint(handle);
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.unreadable(found.path, error as Error);
      return null;
    }
  }

  /** Said once while it lasts; the file is tried again at every listing. */
  private unreadable(path: string, error: Error): void {
    if (this.unreadablePaths.has(path)) return;
    this.unreadablePaths.add(path);
    logEvent('file_unreadable', { path, error: error.message, retried: `every ${this.config.pollIntervalMs} ms` });
  }

  /** The current `N.log` renamed `N.log.<date>`: read on through the same descriptor, then let go. */
  private renamed(file: TrackedFile, found: PodLogFile): void {
    const followed = this.followed.get(file.key);
    if (file.checkpoint.path !== found.path) {
      if (followed && found.rotatedAt !== null && followed.age !== ageRank(found)) this.metrics.rotations++;
      file.checkpoint.path = found.path;
    }
    if (followed) followed.age = ageRank(found);
    file.rotated = found.rotatedAt !== null;
  }

  /**
   * Forgets what is no longer on disk: finished files whose bytes are gone, fingerprints of files
   * not listed (their inodes may be reused), and, after the first listing, checkpoints of files
   * that went while the agent was down (said: their unread lines are lost).
   */
  private forgetGone(listed: Set<string>, onDisk: Map<string, string[]>): void {
    for (const [key, finished] of this.finishedFiles) {
      if (!(onDisk.get(instanceKey(finished.container)) ?? []).some((fingerprint) => sameStart(fingerprint, finished.fingerprint))) this.finishedFiles.delete(key);
    }
    for (const key of this.fingerprints.keys()) if (!listed.has(key)) this.fingerprints.delete(key);
    if (!this.started) {
      for (const gone of this.saved.values()) logEvent('file_gone', { path: gone.path, offset: gone.offset, reason: 'removed while the agent was down' });
      this.saved.clear();
    }
    const live = new Set([...this.followed.values()].map((followed) => followed.instance));
    for (const key of this.joiners.keys()) if (!live.has(key)) this.joiners.delete(key);
  }

  private finishUnread(instance: ContainerInstance, found: PodLogFile, fingerprint: string): void {
    if (fingerprint === '') return;
    const now = this.clock.now();
    const identity = containerFileIdentity(instance, fingerprint);
    const checkpoint: NodeCheckpoint = {
      path: found.path, dev: 0, ino: 0, fingerprint, firstSeenMs: now, generation: 0, offset: 0, inflight: [], updatedMs: now, container: instance, identity, finished: true,
    };
    this.finishedFiles.set(checkpointKey(checkpoint), checkpoint);
  }

  /** Opens a container's log: from its checkpoint, else from `startOffset`. */
  private async track(found: PodLogFile, instance: ContainerInstance, saved: NodeCheckpoint | undefined, startOffset: number): Promise<void> {
    const handle = await open(found.path, 'r').catch((error: Error) => {
      this.unreadable(found.path, error);
      return null;
    });
    if (!handle) return;
    const { dev, ino, size } = await handle.stat();
    const fingerprint = await readRecordFingerprint(handle);
    const now = this.clock.now();
    const checkpoint: NodeCheckpoint = saved ?? {
      path: found.path, dev, ino, fingerprint, firstSeenMs: now, generation: 0, offset: startOffset, inflight: [], updatedMs: now, container: instance,
    };
    Object.assign(checkpoint, { path: found.path, dev, ino });
    if (isWholeFingerprint(fingerprint)) checkpoint.identity ??= containerFileIdentity(instance, fingerprint);
    this.follow(`${dev}:${ino}`, handle, checkpoint, found, size, saved !== undefined, null);
  }

  /** A gzipped log: its unread part unpacked under the state directory, then read as any file. */
  private async trackUnpacked(found: PodLogFile, instance: ContainerInstance, fingerprint: string, saved: NodeCheckpoint | undefined): Promise<void> {
    const identity = saved?.identity ?? containerFileIdentity(instance, fingerprint);
    const target = join(this.unpackedDir, `${identity}.log`);
    await mkdir(this.unpackedDir, { recursive: true, mode: 0o700 });
    await unpackFrom(found.path, target, saved?.offset ?? 0).catch((error: Error) => {
      logEvent('gzip_unreadable', { path: found.path, error: error.message, reading: 'what it held up to the damage' });
    });
    const handle = await open(target, 'r').catch(() => null);
    if (!handle) return;
    const { size } = await handle.stat();
    const now = this.clock.now();
    const checkpoint: NodeCheckpoint = saved ?? {
      path: found.path, dev: 0, ino: 0, fingerprint, firstSeenMs: now, generation: 0, offset: 0, inflight: [], updatedMs: now, container: instance, identity,
    };
    Object.assign(checkpoint, { path: found.path, fingerprint, identity });
    this.follow(`unpacked:${identity}`, handle, checkpoint, found, size, saved !== undefined, target);
  }

  private follow(key: string, handle: FileHandle, checkpoint: NodeCheckpoint, found: PodLogFile, size: number, resumed: boolean, unpacked: string | null): void {
    const instance = instanceKey(checkpoint.container);
    let joiners = this.joiners.get(instance);
    if (!joiners) {
      joiners = containerJoiners(this.config.maxLineBytes, this.pods.multiline === 'stacktrace');
      this.joiners.set(instance, joiners);
    }
    const decoder = new ContainerLogDecoder(checkpoint, joiners, { maxLineBytes: this.config.maxLineBytes, skipOlderThanMs: this.pods.skipOlderThanMs }, this.metrics);
    const labels = { namespace: found.namespace, pod: found.pod, container: found.container };
    const file = new TrackedFile(key, handle, checkpoint, labels, decoder, this.metrics, this.clock.now(), FIRST_RECORD);
    file.size = size;
    file.rotated = found.rotatedAt !== null;
    this.files.set(key, file);
    this.followed.set(key, { instance, age: ageRank(found), order: ++this.followedCount, unpacked });
    logEvent('following', { path: found.path, offset: checkpoint.offset, resumed });
  }

  /** The saved checkpoint of this instance's file that begins with these bytes (the one that knew most of them). */
  private savedCheckpoint(instance: ContainerInstance, fingerprint: string): NodeCheckpoint | undefined {
    let best: [string, NodeCheckpoint] | undefined;
    for (const [key, saved] of this.saved) {
      const c = saved.container;
      // One saved before its file had a byte (at offset 0, then) fits any file of the instance, as the weakest match.
      if (!c || instanceKey(c) !== instanceKey(instance) || !(saved.fingerprint === '' || sameStart(fingerprint, saved.fingerprint))) continue;
      if (!best || saved.fingerprint.length > best[1].fingerprint.length) best = [key, { ...saved, container: c }];
    }
    if (!best) return undefined;
    this.saved.delete(best[0]);
    return best[1];
  }

  private get unpackedDir(): string {
    return join(this.config.stateDir, UNPACKED_DIR);
  }
}
