import { open } from 'node:fs/promises';
import { AGGREGATOR_CONNECTIONS, AggregatorClient } from '../aggregator-client';
import { CheckpointStore, ContainerInstance, FileCheckpoint, containerFileIdentity } from '../checkpoint-store';
import { logEvent } from '../log-event';
import { ShipperClock, ShipperCore } from '../shipper-core';
import { ShipperMetrics } from '../shipper-metrics';
import { TrackedFile, readFingerprint } from '../tracked-file';
import { ShipperConfig, PodsConfig } from '@daylog/config/shipper';
import { ContainerJoiners, ContainerLogDecoder, containerJoiners } from './container-log-decoder';
import { PodLogFile, PodLogFiles } from './pod-log-files';

const instanceKey = ({ podUid, container, restart }: ContainerInstance): string => `${podUid}/${container}/${restart}`;

/**
 * The node agent: every container's log under DAYLOG_PODS_DIR, labelled from its path, each file
 * known by its container instance and first bytes. Rotated files are not followed yet.
 */
export class NodeAgent extends ShipperCore {
  private readonly pods: PodsConfig;
  private readonly podLogFiles: PodLogFiles;
  private readonly joiners = new Map<string, ContainerJoiners>();
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

  protected async discover(): Promise<void> {
    const listed = new Set<string>();
    let opened = false;
    for (const found of await this.podLogFiles.list()) {
      listed.add(found.path);
      const tracked = this.files.get(found.path);
      if (tracked) tracked.rotated = false;
      else {
        await this.track(found);
        opened = true;
      }
    }
    for (const [path, file] of this.files) if (!listed.has(path)) file.rotated = true;
    const live = new Set([...this.files.values()].map((file) => instanceKey(file.checkpoint.container!)));
    for (const key of this.joiners.keys()) if (!live.has(key)) this.joiners.delete(key);
    // One save for the files a listing found, not one each: a node's first listing waited on 200 fsyncs.
    if (opened) await this.save();
  }

  /** Opens a container's log: from its checkpoint if it is the same file (its first bytes say), else from the start (or its end: DAYLOG_START_AT=end on the first listing). */
  private async track(found: PodLogFile): Promise<void> {
    const handle = await open(found.path, 'r').catch((error: Error) => {
      logEvent('file_unreadable', { path: found.path, error: error.message });
      return null;
    });
    if (!handle) return;
    const { dev, ino, size } = await handle.stat();
    const fingerprint = await readFingerprint(handle);
    const instance: ContainerInstance = { podUid: found.podUid, container: found.container, restart: found.restart };
    const saved = this.savedCheckpoint(instance, fingerprint);
    const now = this.clock.now();
    const fromStart = this.started || this.config.startAt === 'beginning';
    const checkpoint: FileCheckpoint & { container: ContainerInstance } = saved ?? {
      path: found.path, dev, ino, fingerprint, firstSeenMs: now, generation: 0, offset: fromStart ? 0 : size, inflight: [], updatedMs: now, container: instance,
    };
    Object.assign(checkpoint, { path: found.path, dev, ino });
    if (fingerprint !== '') checkpoint.identity ??= containerFileIdentity(instance, fingerprint);
    const key = instanceKey(instance);
    let joiners = this.joiners.get(key);
    if (!joiners) {
      joiners = containerJoiners(this.config.maxLineBytes, this.pods.multiline === 'stacktrace');
      this.joiners.set(key, joiners);
    }
    const decoder = new ContainerLogDecoder(checkpoint, joiners, { maxLineBytes: this.config.maxLineBytes, skipOlderThanMs: this.pods.skipOlderThanMs }, this.metrics);
    const labels = { namespace: found.namespace, pod: found.pod, container: found.container };
    this.files.set(found.path, new TrackedFile(found.path, handle, checkpoint, labels, decoder, this.metrics, now));
    logEvent('following', { path: found.path, offset: checkpoint.offset, resumed: saved !== undefined });
  }

  /** The saved checkpoint of this instance's file that begins with these bytes (the one that knew most of them). */
  private savedCheckpoint(instance: ContainerInstance, fingerprint: string): (FileCheckpoint & { container: ContainerInstance }) | undefined {
    let best: [string, FileCheckpoint & { container: ContainerInstance }] | undefined;
    for (const [key, saved] of this.saved) {
      const c = saved.container;
      if (!c || instanceKey(c) !== instanceKey(instance) || !fingerprint.startsWith(saved.fingerprint)) continue;
      if (!best || saved.fingerprint.length > best[1].fingerprint.length) best = [key, { ...saved, container: c }];
    }
    if (!best) return undefined;
    this.saved.delete(best[0]);
    return best[1];
  }
}
