import { resolve, sep } from 'node:path';
import { DURATION_HINT, parseDuration } from '@daylog/log-model';
import { ConfigError } from './config-error';

export { ConfigError };

// Checked by hand rather than with class-validator, which the aggregator uses: loading it costs the
// sidecar ~15 MB of RSS, and the shipper must stay well under 80 MB. The shipper imports this file
// alone, as @daylog/config/shipper.

export const SHIPPER_FORMATS = ['auto', 'nginx-access', 'nginx-error', 'json', 'plain'] as const;
export type ShipperFormat = (typeof SHIPPER_FORMATS)[number];

export const MULTILINE_MODES = ['off', 'stacktrace'] as const;
export type MultilineMode = (typeof MULTILINE_MODES)[number];

/** The node agent's settings (DAYLOG_PODS_DIR set): every container's log under the pods directory. */
export interface PodsConfig {
  podsDir: string;
  /** Globs (`*`: any run of characters) of the namespaces collected; `['*']` by default. */
  namespaces: string[];
  /** Globs of namespaces never collected, even when `namespaces` matches them. */
  excludeNamespaces: string[];
  /** The agent's own pod, never collected; null outside Kubernetes (said once at start). */
  ownPodUid: string | null;
  /** For the agent's own log lines and metrics only. */
  nodeName: string | null;
  multiline: MultilineMode;
  /** Lines older than this are not sent: the aggregator would refuse them. */
  skipOlderThanMs: number;
  /**
   * Files deleted (their pod gone) still held open to be read to their end; beyond it the oldest
   * are given up and their unread bytes counted: a backlog must not pin a node's disk.
   */
  maxDeletedFiles: number;
}

/**
 * Either the sidecar (`pods` null: `files` with the pod's `labels`) or the node agent (`pods` set: labels come
 * from each file's path, so `files` is empty and `labels` names nothing).
 */
export interface ShipperConfig {
  url: string;
  files: string[];
  pods: PodsConfig | null;
  stateDir: string;
  format: ShipperFormat;
  batchLines: number;
  batchBytes: number;
  batchWaitMs: number;
  startAt: 'beginning' | 'end';
  token: string | null;
  labels: { namespace: string | null; pod: string; container: string | null };
  maxLineBytes: number;
  pollIntervalMs: number;
  metricsPort: number | null;
}

type Env = NodeJS.ProcessEnv;

function text(env: Env, name: string, fallback: string | undefined, expected: string): string | undefined {
  const value = env[name] ?? fallback;
  if (value !== undefined && value.trim() === '') throw new ConfigError(name, value, expected);
  return value;
}

function required(env: Env, name: string, expected: string): string {
  const value = text(env, name, undefined, expected);
  if (value === undefined) throw new ConfigError(name, '', expected);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[], expected: string): T {
  const value = env[name] ?? fallback;
  if (!(choices as readonly string[]).includes(value)) throw new ConfigError(name, value, expected);
  return value as T;
}

function wholeNumber(env: Env, name: string, fallback: string, min: number, max: number, expected?: string): number {
  const value = env[name] ?? fallback;
  const number = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) throw new ConfigError(name, value, expected ?? `expected a whole number from ${min} to ${max}`);
  return number;
}

function duration(env: Env, name: string, fallback: string): number {
  const value = env[name] ?? fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(name, value, `expected ${DURATION_HINT}`);
  return ms;
}

/** Paths of the aggregator's ingest endpoints: the shipper adds its own, so DAYLOG_URL must stop before them. */
const ENDPOINT_PATHS = /\/(api\/v1\/logs|loki\/api\/v1\/push)$/;

/** The aggregator's base URL without a trailing slash; a path is a prefix (an ingress that routes `/daylog` to it). */
function baseUrl(env: Env): string {
  const expected = 'expected the aggregator base URL, e.g. http://daylog:8080';
  const value = required(env, 'DAYLOG_URL', expected);
  let url: URL;
  try {
    url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(url.protocol);
  } catch {
    throw new ConfigError('DAYLOG_URL', value, expected);
  }
  const base = value.replace(/\/+$/, '');
  if (value.includes('?') || value.includes('#') || ENDPOINT_PATHS.test(url.pathname.replace(/\/+$/, ''))) {
    throw new ConfigError(
      'DAYLOG_URL',
      value,
      'expected the base URL only, without an endpoint path, query or fragment (the shipper adds /api/v1/logs), e.g. http://daylog:8080 or http://gateway/daylog',
    );
  }
  return base;
}

const NAMESPACE_GLOB = /^[a-z0-9*-]+$/;

function namespaceGlobs(env: Env, name: string, fallback: string[]): string[] {
  const value = env[name];
  if (value === undefined) return fallback;
  const globs = value.split(',').map((glob) => glob.trim());
  if (!globs.every((glob) => NAMESPACE_GLOB.test(glob))) {
    throw new ConfigError(name, value, 'expected comma-separated namespace names or globs (lowercase letters, digits, - and * for any run of characters), e.g. shop,team-*');
  }
  return globs;
}

/** A pod's UID as the Downward API gives it, or a static pod's config hash as its log directory is named. */
const POD_UID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

/** Settings of the node agent alone: set for the sidecar, they would do nothing without saying so. */
const NODE_AGENT_ONLY = ['DAYLOG_NAMESPACES', 'DAYLOG_EXCLUDE_NAMESPACES', 'DAYLOG_MULTILINE', 'DAYLOG_SKIP_OLDER_THAN', 'DAYLOG_MAX_DELETED_FILES'];

function podsConfig(env: Env, podsDir: string): PodsConfig {
  const expectedUid = "expected the agent pod's UID (Downward API: fieldRef metadata.uid), e.g. 3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68, or leave it unset outside Kubernetes";
  const ownPodUid = text(env, 'POD_UID', undefined, expectedUid) ?? null;
  if (ownPodUid !== null && !POD_UID.test(ownPodUid)) throw new ConfigError('POD_UID', ownPodUid, expectedUid);
  return {
    podsDir,
    namespaces: namespaceGlobs(env, 'DAYLOG_NAMESPACES', ['*']),
    excludeNamespaces: namespaceGlobs(env, 'DAYLOG_EXCLUDE_NAMESPACES', []),
    ownPodUid,
    nodeName: text(env, 'NODE_NAME', undefined, "expected the node's name (Downward API: fieldRef spec.nodeName), or leave it unset") ?? null,
    multiline: oneOf(env, 'DAYLOG_MULTILINE', 'off', MULTILINE_MODES, 'expected off or stacktrace (stack trace lines joined to the line they follow)'),
    // The aggregator's own default retention: a node's first start finds up to days of rotated files.
    skipOlderThanMs: duration(env, 'DAYLOG_SKIP_OLDER_THAN', '24h'),
    maxDeletedFiles: wholeNumber(env, 'DAYLOG_MAX_DELETED_FILES', '100', 1, 100_000),
  };
}

/** The pods directory when node mode is chosen, after checking the settings of the mode not chosen are unset. */
function podsDirOf(env: Env): string | null {
  const value = text(env, 'DAYLOG_PODS_DIR', undefined, "expected the directory of the pods' logs, e.g. /var/log/pods, or leave it unset for the sidecar");
  if (value === undefined) {
    const nodeOnly = NODE_AGENT_ONLY.find((name) => env[name] !== undefined);
    if (nodeOnly) throw new ConfigError(nodeOnly, env[nodeOnly]!, 'applies only to the node agent (DAYLOG_PODS_DIR set), not to the sidecar (DAYLOG_FILES)');
    return null;
  }
  // One mode per shipper: the sidecar labels its files with its own pod, the agent each file by its path.
  if (env.DAYLOG_FILES !== undefined) {
    throw new ConfigError('DAYLOG_FILES', env.DAYLOG_FILES, `set DAYLOG_FILES (the sidecar: a pod's files) or DAYLOG_PODS_DIR (the node agent: every container's log), not both; DAYLOG_PODS_DIR is ${value}`);
  }
  return resolve(value);
}

function stateDirOf(env: Env, podsDir: string | null): string {
  // No default: beside the logs it would be created inside a folder the app owns, and read by any
  // glob that reaches it; nothing else the shipper can guess survives its own restarts.
  const where = podsDir === null ? 'outside the log directories (in Kubernetes a volume of the pod, e.g. a small emptyDir)' : 'outside DAYLOG_PODS_DIR (in Kubernetes a hostPath, e.g. /var/lib/daylog)';
  const expected = `expected a directory for the shipper's checkpoints that survives its restarts, ${where}`;
  const value = required(env, 'DAYLOG_STATE_DIR', expected);
  const stateDir = resolve(value);
  if (podsDir !== null && (stateDir === podsDir || stateDir.startsWith(podsDir + sep))) throw new ConfigError('DAYLOG_STATE_DIR', value, expected);
  return stateDir;
}

function fileGlobs(env: Env): string[] {
  const value = text(env, 'DAYLOG_FILES', '/var/log/nginx/*.log', 'expected comma-separated file globs, e.g. /var/log/nginx/*.log')!;
  return value.split(',').map((glob) => glob.trim()).filter(Boolean);
}

/** The node agent's lines take their labels from their files' paths, not from the agent. */
const NO_LABELS = { namespace: null, pod: '', container: null };

/** The sidecar's pod, whose labels every line of its files carries. */
function podLabels(env: Env): ShipperConfig['labels'] {
  const pod = required(env, 'POD_NAME', "expected the pod's name (Downward API: fieldRef metadata.name)");
  const namespace = text(env, 'POD_NAMESPACE', undefined, "expected the pod's namespace (Downward API: fieldRef metadata.namespace)") ?? null;
  const container = text(env, 'CONTAINER_NAME', undefined, 'expected the name of the app container whose files these are') ?? null;
  return { namespace, pod, container };
}

/** The shipper's settings. */
export function loadShipperConfig(env: Env): ShipperConfig {
  const url = baseUrl(env);
  const podsDir = podsDirOf(env);
  const files = podsDir === null ? fileGlobs(env) : [];
  const stateDir = stateDirOf(env, podsDir);
  const format = oneOf(env, 'DAYLOG_FORMAT', 'auto', SHIPPER_FORMATS, `expected one of ${SHIPPER_FORMATS.join(', ')}`);
  // Bounded so that two batches in flight, as JSON with their parsed fields (~2.6× the log text), fit
  // the shipper's 64 MB heap: 16 MiB batches ran it out of memory.
  const batchLines = wholeNumber(env, 'DAYLOG_BATCH_LINES', '1000', 1, 10_000);
  const batchBytes = wholeNumber(env, 'DAYLOG_BATCH_BYTES', '1048576', 1, 4 * 1024 ** 2);
  const batchWaitMs = duration(env, 'DAYLOG_BATCH_WAIT', '1s');
  const startAt = oneOf(env, 'DAYLOG_START_AT', 'beginning', ['beginning', 'end'], 'expected beginning or end (where to start a file seen for the first time)');
  const token = text(env, 'DAYLOG_TOKEN', undefined, 'expected a bearer token, or leave it unset') ?? null;
  const maxLineBytes = wholeNumber(env, 'DAYLOG_MAX_LINE_BYTES', '65536', 1024, 16 * 1024 ** 2, 'expected at least 1024 (a cut line keeps room for its mark)');
  const pollIntervalMs = duration(env, 'DAYLOG_POLL_INTERVAL', '1s');
  const metricsPort =
    env.DAYLOG_METRICS_PORT === undefined
      ? null
      : wholeNumber(env, 'DAYLOG_METRICS_PORT', '', 0, 65535, 'expected a port for /metrics, /healthz and /livez, or leave it unset to serve none');
  const pods = podsDir === null ? null : podsConfig(env, podsDir);
  const labels = pods === null ? podLabels(env) : NO_LABELS;
  return {
    url,
    files,
    pods,
    stateDir,
    format,
    batchLines,
    batchBytes,
    batchWaitMs,
    startAt,
    token,
    labels,
    maxLineBytes,
    pollIntervalMs,
    metricsPort,
  };
}
