import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PodsConfig } from '@daylog/config/shipper';
import { compileGlob } from '@daylog/log-model';
import { logEvent } from '../log-event';

/** A container instance's current log file, `<podsDir>/<namespace>_<pod>_<uid>/<container>/<restart>.log`, and what its path says. */
export interface PodLogFile {
  path: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  restart: number;
}

/** `N.log`; rotated copies (`N.log.<date>`, `.gz`, `.tmp`) are not followed yet. */
const CURRENT_LOG = /^(\d+)\.log$/;

/**
 * The container log files under a node's pods directory, of the namespaces chosen and not of the
 * agent's own pod. Namespace and pod names hold no `_`, so a pod directory's name splits in three;
 * one that does not is skipped and said once.
 */
export class PodLogFiles {
  private readonly included: ((namespace: string) => boolean)[];
  private readonly excluded: ((namespace: string) => boolean)[];
  private readonly unparsed = new Set<string>();

  constructor(private readonly pods: PodsConfig) {
    this.included = pods.namespaces.map(compileGlob);
    this.excluded = pods.excludeNamespaces.map(compileGlob);
  }

  async list(): Promise<PodLogFile[]> {
    const found: PodLogFile[] = [];
    for (const podDir of await entries(this.pods.podsDir)) {
      const parts = podDir.split('_');
      if (parts.length !== 3 || parts.some((part) => part === '')) {
        if (!this.unparsed.has(podDir)) {
          this.unparsed.add(podDir);
          logEvent('pod_dir_skipped', { dir: join(this.pods.podsDir, podDir), reason: 'not <namespace>_<pod>_<uid>' });
        }
        continue;
      }
      const [namespace, pod, podUid] = parts;
      if (podUid === this.pods.ownPodUid || !this.collects(namespace)) continue;
      for (const container of await entries(join(this.pods.podsDir, podDir))) {
        for (const name of await entries(join(this.pods.podsDir, podDir, container))) {
          const restart = CURRENT_LOG.exec(name)?.[1];
          if (restart === undefined) continue;
          found.push({ path: join(this.pods.podsDir, podDir, container, name), namespace, pod, podUid, container, restart: Number(restart) });
        }
      }
    }
    return found;
  }

  private collects(namespace: string): boolean {
    return this.included.some((matches) => matches(namespace)) && !this.excluded.some((matches) => matches(namespace));
  }
}

/** A folder's entries; none when it is gone (a pod deleted while it is listed) or is not a folder. */
async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
