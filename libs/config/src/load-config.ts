import { plainToInstance } from 'class-transformer';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { validateSync } from 'class-validator';
import { parseDuration } from '@daylog/log-model';
import { ConfigError } from './config-error';
import { DaylogConfig } from './daylog-config';
import { ENV_DEFAULTS, EnvName, EnvironmentVariables } from './environment-variables';
import { variableOrFile } from './setting-files';
import { SQLITE_ONLY_SETTINGS, loadCursorSecret, postgresSettings } from './storage-settings';
import { loadTokens } from './tokens';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** setInterval's largest delay (2³¹−1 ms, about 24.8 days); beyond it Node fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_SHUTDOWN_GRACE_MS = 10 * MINUTE_MS;
const MAX_QUERY_TIMEOUT_MS = 10 * MINUTE_MS;
const MIN_DISK_BYTES = 1024 ** 2;
/** Boot gives up on a database it cannot reach after at most a minute: an orchestrator restarts it, and says so. */
const MAX_CONNECT_TIMEOUT_MS = MINUTE_MS;
/**
 * Objects a line may bring with it in any body taken: a line and its fields; a Loki entry, its metadata and,
 * when each entry has a stream of its own, that stream, its labels and its values.
 */
const OBJECTS_PER_LINE = 5;
/** The body's own: `{"labels": {…}, "lines": […]}`, `{"streams": […]}`. */
const OBJECTS_PER_BODY = 3;
/** One client may hold at most this part of the writer's queue: however it sends, the others find the rest free. */
const CLIENT_SHARE_OF_QUEUE = 1 / 2;

export function loadConfig(env: NodeJS.ProcessEnv): DaylogConfig {
  const postgresUrl = variableOrFile(env, 'DAYLOG_POSTGRES_URL');
  // Never an error: a Deployment switched to PostgreSQL may keep its old SQLite settings.
  const ignoredSettings: EnvName[] = postgresUrl ? SQLITE_ONLY_SETTINGS.filter((name) => env[name] !== undefined) : [];
  const names = Object.keys(ENV_DEFAULTS) as EnvName[];
  const given = (name: EnvName) => (ignoredSettings.includes(name) ? undefined : env[name]);
  const raw = Object.fromEntries(names.map((name) => [name, given(name) ?? ENV_DEFAULTS[name]]));
  const vars = plainToInstance(EnvironmentVariables, raw);
  const [first] = validateSync(vars);
  if (first) {
    const name = first.property as EnvName;
    throw new ConfigError(name, vars[name], Object.values(first.constraints ?? {})[0] ?? 'invalid');
  }

  const port = Number(vars.DAYLOG_PORT);
  if (port > 65535) throw new ConfigError('DAYLOG_PORT', vars.DAYLOG_PORT, 'expected a port from 0 to 65535');
  const retentionMs = parseDuration(vars.DAYLOG_RETENTION)!;
  const partitionMs = parseDuration(vars.DAYLOG_PARTITION)!;
  if (DAY_MS % partitionMs !== 0 || partitionMs < MINUTE_MS || partitionMs > retentionMs) {
    throw new ConfigError(
      'DAYLOG_PARTITION',
      vars.DAYLOG_PARTITION,
      `expected a duration of at least 1m that divides a day (1h, 30m, 15m, …) and is no longer than DAYLOG_RETENTION (${vars.DAYLOG_RETENTION})`,
    );
  }
  const pruneIntervalMs = parseDuration(vars.DAYLOG_PRUNE_INTERVAL)!;
  if (pruneIntervalMs < 1000 || pruneIntervalMs > MAX_TIMER_MS) {
    throw new ConfigError('DAYLOG_PRUNE_INTERVAL', vars.DAYLOG_PRUNE_INTERVAL, 'expected a duration from 1s to 24d');
  }
  const shutdownGraceMs = parseDuration(vars.DAYLOG_SHUTDOWN_GRACE)!;
  if (shutdownGraceMs > MAX_SHUTDOWN_GRACE_MS) {
    throw new ConfigError('DAYLOG_SHUTDOWN_GRACE', vars.DAYLOG_SHUTDOWN_GRACE, 'expected a duration of at most 10m');
  }
  const queryTimeoutMs = parseDuration(vars.DAYLOG_QUERY_TIMEOUT)!;
  if (queryTimeoutMs === 0 || queryTimeoutMs > MAX_QUERY_TIMEOUT_MS) {
    throw new ConfigError('DAYLOG_QUERY_TIMEOUT', vars.DAYLOG_QUERY_TIMEOUT, 'expected a duration from 1ms to 10m');
  }
  const maxQueuedLines = Number(vars.DAYLOG_MAX_QUEUED_LINES);
  const maxQueuedLinesPerClient = Math.floor(maxQueuedLines * CLIENT_SHARE_OF_QUEUE);
  const maxLinesPerRequest = Number(vars.DAYLOG_MAX_LINES_PER_REQUEST);
  if (maxLinesPerRequest > maxQueuedLinesPerClient) {
    throw new ConfigError(
      'DAYLOG_MAX_LINES_PER_REQUEST',
      vars.DAYLOG_MAX_LINES_PER_REQUEST,
      `expected at most half of DAYLOG_MAX_QUEUED_LINES (${maxQueuedLinesPerClient}), what one client may have queued: ` +
        'a larger batch could never be queued; lower it or raise DAYLOG_MAX_QUEUED_LINES',
    );
  }
  const connectTimeoutMs = parseDuration(vars.DAYLOG_POSTGRES_CONNECT_TIMEOUT)!;
  if (connectTimeoutMs < 1000 || connectTimeoutMs > MAX_CONNECT_TIMEOUT_MS) {
    throw new ConfigError('DAYLOG_POSTGRES_CONNECT_TIMEOUT', vars.DAYLOG_POSTGRES_CONNECT_TIMEOUT, 'expected a duration from 1s to 60s');
  }
  const maxDiskBytes = bytesOf(vars.DAYLOG_MAX_DISK);
  if (maxDiskBytes !== null && maxDiskBytes < MIN_DISK_BYTES) {
    throw new ConfigError('DAYLOG_MAX_DISK', vars.DAYLOG_MAX_DISK, 'expected off, or at least 1M (a partition file alone takes some hundred kilobytes)');
  }

  return {
    host: vars.DAYLOG_HOST,
    port,
    postgres: postgresUrl && postgresSettings(postgresUrl, connectTimeoutMs),
    ignoredSettings,
    cursorSecret: loadCursorSecret(env),
    dataDir: vars.DAYLOG_DATA_DIR,
    retentionMs,
    partitionMs,
    pruneIntervalMs,
    maxBodyBytes: Number(vars.DAYLOG_MAX_BODY_BYTES),
    maxLineBytes: Number(vars.DAYLOG_MAX_LINE_BYTES),
    maxQueuedLines,
    maxQueuedLinesPerClient,
    maxLinesPerRequest,
    maxObjectsPerRequest: OBJECTS_PER_LINE * maxLinesPerRequest + OBJECTS_PER_BODY,
    synchronous: vars.DAYLOG_SYNCHRONOUS as DaylogConfig['synchronous'],
    logFormat: vars.DAYLOG_LOG_FORMAT as DaylogConfig['logFormat'],
    shutdownGraceMs,
    fullText: vars.DAYLOG_FULL_TEXT === 'on',
    compression: vars.DAYLOG_COMPRESSION === 'on',
    ingestTokens: loadTokens(env, 'DAYLOG_INGEST_TOKENS'),
    readTokens: loadTokens(env, 'DAYLOG_READ_TOKENS'),
    metricsNeedToken: vars.DAYLOG_METRICS_AUTH === 'read',
    rateLimit: rateLimitOf(vars.DAYLOG_RATE_LIMIT),
    queryTimeoutMs,
    maxScannedLines: Number(vars.DAYLOG_QUERY_MAX_SCANNED_LINES),
    maxDiskBytes,
    maxLabelSetsPerNamespace: Number(vars.DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE),
    maxTailsPerClient: Number(vars.DAYLOG_MAX_TAILS_PER_CLIENT),
    maxTails: Number(vars.DAYLOG_MAX_TAILS),
  };
}

/** `500000000`, `500M`, `2G`, `2GiB`: binary multiples, as Kubernetes' `Mi`/`Gi` and `df -h` count. */
function bytesOf(text: string): number | null {
  if (text === 'off') return null;
  const [, digits, unit] = /^(\d+)([kmgt]?)/i.exec(text)!;
  return Number(digits) * 1024 ** ' kmgt'.indexOf(unit.toLowerCase() || ' ');
}

function rateLimitOf(text: string): DaylogConfig['rateLimit'] {
  if (text === 'off') return null;
  const [max, unit] = text.split('/');
  if (Number(max) === 0) throw new ConfigError('DAYLOG_RATE_LIMIT', text, 'expected off, or at least 1 request per window');
  return { max: Number(max), windowMs: unit === 's' ? 1000 : MINUTE_MS };
}

/** The data dir exists (made if missing) and is writable; else the one line names DAYLOG_DATA_DIR. */
export function ensureDataDir(config: DaylogConfig): void {
  try {
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
  } catch (error) {
    throw new ConfigError('DAYLOG_DATA_DIR', config.dataDir, `cannot be used as a directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
