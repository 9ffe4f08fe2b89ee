import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PodsConfig } from '@daylog/config/shipper';
import { compileGlob } from '@daylog/log-model';
import { logEvent } from '../log-event';

/**
 * A container instance's log file, `<podsDir>/<namespace>_<pod>_<uid>/<container>/<restart>.log`, or
 * one kubelet rotated (`<restart>.log.<date>`, later `<restart>.log.<date>.gz`), and what its path says.
 */
export interface PodLogFile {
  path: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  restart: number;
  /** The rotated file's suffix (kubelet's `20060102-150405`: it sorts by age); null for the current `N.log`. */
  rotatedAt: string | null;
  /** Gzipped by kubelet after a later rotation: read through gunzip. */
  compressed: boolean;
}

/** `N.log`, `N.log.<date>`, `N.log.<date>.gz`; kubelet's `N.log.<date>.tmp` is a `.gz` being written. */
const LOG_FILE = /^(\d+)\.log(?:\.([^.]+))?(\.gz)?$/;
const TEMPORARY = 'tmp';

/** Where a file stands among its instance's files: rotated ones by their date, the current one last. */
export function ageRank(file: { rotatedAt: string | null }): string {
  return file.rotatedAt ?? '\uffff';
}

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

  /** Every log file of the pods collected, each instance's oldest first. */
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
          const match = LOG_FILE.exec(name);
          if (!match || match[2] === TEMPORARY || (match[3] !== undefined && match[2] === undefined)) continue;
          const [, restart, rotatedAt, gz] = match;
          found.push({
            path: join(this.pods.podsDir, podDir, container, name), namespace, pod, podUid, container, restart: Number(restart),
            rotatedAt: rotatedAt ?? null, compressed: gz !== undefined,
          });
        }
      }
    }
    return found.sort(byInstanceThenAge);
  }

  private collects(namespace: string): boolean {
    return this.included.some((matches) => matches(namespace)) && !this.excluded.some((matches) => matches(namespace));
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byInstanceThenAge(a: PodLogFile, b: PodLogFile): number {
  return compare(`${a.podUid}/${a.container}/${a.restart}`, `${b.podUid}/${b.container}/${b.restart}`) || compare(ageRank(a), ageRank(b));
}

/** A folder's entries; none when it is gone (a pod deleted while it is listed) or is not a folder. */
async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
