import { readdir, readlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
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
          const path = join(this.pods.podsDir, podDir, container, name);
          const file = { path, namespace, pod, podUid, container, restart: Number(restart), rotatedAt: rotatedAt ?? null, compressed: gz !== undefined };
          found.push(file);
          if (file.rotatedAt === null) found.push(...(await dockerRotatedCopies(file)));
        }
      }
    }
    return found.sort(byInstanceThenAge);
  }

  private collects(namespace: string): boolean {
    return this.included.some((matches) => matches(namespace)) && !this.excluded.some((matches) => matches(namespace));
  }
}

/** Docker's own rotated copies of its json-file log, `<id>-json.log.1` (the newest) … `.N`, maybe `.gz`. */
const DOCKER_COPY = /^\.(\d+)(\.gz)?$/;
/** Sorts a Docker copy by age: `.2` is older than `.1`, and both before the current file. */
const DOCKER_COPY_RANK = (copy: number): string => `docker-${String(1_000_000 - copy).padStart(7, '0')}`;

/**
 * On a Docker node `N.log` links to Docker's json-file log, which Docker rotates itself beside it
 * (kubelet cannot): those copies are the instance's older files, read when the agent was down or
 * behind at a rotation.
 */
async function dockerRotatedCopies(current: PodLogFile): Promise<PodLogFile[]> {
  const target = await readlink(current.path).catch(() => null);
  if (target === null) return [];
  const real = resolve(dirname(current.path), target);
  const name = basename(real);
  const copies: PodLogFile[] = [];
  for (const entry of await entries(dirname(real))) {
    const match = entry.startsWith(name) ? DOCKER_COPY.exec(entry.slice(name.length)) : null;
    if (!match) continue;
    copies.push({ ...current, path: join(dirname(real), entry), rotatedAt: DOCKER_COPY_RANK(Number(match[1])), compressed: match[2] !== undefined });
  }
  return copies;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byInstanceThenAge(a: PodLogFile, b: PodLogFile): number {
  return compare(`${a.podUid}/${a.container}/${a.restart}`, `${b.podUid}/${b.container}/${b.restart}`) || compare(ageRank(a), ageRank(b));
}

/** A folder's entries; none when it is gone (a pod deleted while it is listed) or is not a folder. */
async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
