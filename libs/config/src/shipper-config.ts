import { resolve } from 'node:path';
import { DURATION_HINT, parseDuration } from '@daylog/log-model';
import { ConfigError } from './config-error';

export { ConfigError };

// Checked by hand rather than with class-validator, which the aggregator uses: loading it costs the
// sidecar ~15 MB of RSS, and the shipper must stay well under 80 MB. The shipper imports this file
// alone, as @daylog/config/shipper.

export const SHIPPER_FORMATS = ['auto', 'nginx-access', 'nginx-error', 'json', 'plain'] as const;
export type ShipperFormat = (typeof SHIPPER_FORMATS)[number];

export interface ShipperConfig {
  url: string;
  files: string[];
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

/** The shipper's settings. */
export function loadShipperConfig(env: Env): ShipperConfig {
  const url = baseUrl(env);
  const filesText = text(env, 'DAYLOG_FILES', '/var/log/nginx/*.log', 'expected comma-separated file globs, e.g. /var/log/nginx/*.log')!;
  const files = filesText.split(',').map((glob) => glob.trim()).filter(Boolean);
  // No default: beside the logs it would be created inside a folder the app owns, and read by any
  // glob that reaches it; nothing else the shipper can guess survives its own restarts.
  const stateDir = resolve(
    required(
      env,
      'DAYLOG_STATE_DIR',
      "expected a directory for the shipper's checkpoints that survives its restarts, outside the log directories (in Kubernetes a volume of the pod, e.g. a small emptyDir)",
    ),
  );
  const format = oneOf(env, 'DAYLOG_FORMAT', 'auto', SHIPPER_FORMATS, `expected one of ${SHIPPER_FORMATS.join(', ')}`);
  // Bounded so that two batches in flight, as JSON with their parsed fields (~2.6× the log text), fit
  // the shipper's 64 MB heap: 16 MiB batches ran it out of memory.
  const batchLines = wholeNumber(env, 'DAYLOG_BATCH_LINES', '1000', 1, 10_000);
  const batchBytes = wholeNumber(env, 'DAYLOG_BATCH_BYTES', '1048576', 1, 4 * 1024 ** 2);
  const batchWaitMs = duration(env, 'DAYLOG_BATCH_WAIT', '1s');
  const startAt = oneOf(env, 'DAYLOG_START_AT', 'beginning', ['beginning', 'end'], 'expected beginning or end (where to start a file seen for the first time)');
  const token = text(env, 'DAYLOG_TOKEN', undefined, 'expected a bearer token, or leave it unset') ?? null;
  const pod = required(env, 'POD_NAME', "expected the pod's name (Downward API: fieldRef metadata.name)");
  const namespace = text(env, 'POD_NAMESPACE', undefined, "expected the pod's namespace (Downward API: fieldRef metadata.namespace)") ?? null;
  const container = text(env, 'CONTAINER_NAME', undefined, 'expected the name of the app container whose files these are') ?? null;
  const maxLineBytes = wholeNumber(env, 'DAYLOG_MAX_LINE_BYTES', '65536', 1024, 16 * 1024 ** 2, 'expected at least 1024 (a cut line keeps room for its mark)');
  const pollIntervalMs = duration(env, 'DAYLOG_POLL_INTERVAL', '1s');
  const metricsPort =
    env.DAYLOG_METRICS_PORT === undefined
      ? null
      : wholeNumber(env, 'DAYLOG_METRICS_PORT', '', 0, 65535, 'expected a port for /metrics, /healthz and /livez, or leave it unset to serve none');
  return {
    url,
    files,
    stateDir,
    format,
    batchLines,
    batchBytes,
    batchWaitMs,
    startAt,
    token,
    labels: { namespace, pod, container },
    maxLineBytes,
    pollIntervalMs,
    metricsPort,
  };
}
