import { plainToInstance } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsUrl, Matches, ValidateBy, validateSync } from 'class-validator';
import { dirname, join } from 'node:path';
import { DURATION_HINT, parseDuration } from '@daylog/log-model';
import { ConfigError } from './load-config';

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

const SHIPPER_ENV_NAMES = [
  'DAYLOG_URL',
  'DAYLOG_FILES',
  'DAYLOG_STATE_DIR',
  'DAYLOG_FORMAT',
  'DAYLOG_BATCH_LINES',
  'DAYLOG_BATCH_BYTES',
  'DAYLOG_BATCH_WAIT',
  'DAYLOG_START_AT',
  'DAYLOG_TOKEN',
  'POD_NAME',
  'POD_NAMESPACE',
  'CONTAINER_NAME',
  'DAYLOG_MAX_LINE_BYTES',
  'DAYLOG_POLL_INTERVAL',
  'DAYLOG_METRICS_PORT',
] as const;

const DEFAULTS = {
  DAYLOG_FILES: '/var/log/nginx/*.log',
  DAYLOG_FORMAT: 'auto',
  DAYLOG_BATCH_LINES: '1000',
  DAYLOG_BATCH_BYTES: '1048576',
  DAYLOG_BATCH_WAIT: '1s',
  DAYLOG_START_AT: 'beginning',
  DAYLOG_MAX_LINE_BYTES: '65536',
  DAYLOG_POLL_INTERVAL: '1s',
} as const;

const wholeNumber = (max: number) =>
  ValidateBy(
    { name: 'wholeNumber', validator: { validate: (v) => typeof v === 'string' && /^\d{1,10}$/.test(v) && +v >= 1 && +v <= max } },
    { message: `expected a whole number from 1 to ${max}` },
  );

const duration = () =>
  ValidateBy(
    { name: 'duration', validator: { validate: (v) => typeof v === 'string' && parseDuration(v) !== undefined } },
    { message: `expected ${DURATION_HINT}` },
  );

class ShipperEnvironment {
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }, { message: 'expected the aggregator base URL, e.g. http://daylog:8080' })
  DAYLOG_URL!: string;

  @IsNotEmpty({ message: 'expected comma-separated file globs, e.g. /var/log/nginx/*.log' })
  DAYLOG_FILES!: string;

  @IsOptional() @IsNotEmpty({ message: 'expected a directory path' })
  DAYLOG_STATE_DIR?: string;

  @IsIn(SHIPPER_FORMATS, { message: `expected one of ${SHIPPER_FORMATS.join(', ')}` })
  DAYLOG_FORMAT!: string;

  @wholeNumber(100_000) DAYLOG_BATCH_LINES!: string;
  @wholeNumber(16 * 1024 ** 2) DAYLOG_BATCH_BYTES!: string;
  @duration() DAYLOG_BATCH_WAIT!: string;

  @IsIn(['beginning', 'end'], { message: 'expected beginning or end (where to start a file seen for the first time)' })
  DAYLOG_START_AT!: string;

  @IsOptional() @IsNotEmpty({ message: 'expected a bearer token, or leave it unset' })
  DAYLOG_TOKEN?: string;

  @IsNotEmpty({ message: "expected the pod's name (Downward API: fieldRef metadata.name)" })
  POD_NAME!: string;

  @IsOptional() @IsNotEmpty({ message: "expected the pod's namespace (Downward API: fieldRef metadata.namespace)" })
  POD_NAMESPACE?: string;

  @IsOptional() @IsNotEmpty({ message: 'expected the name of the app container whose files these are' })
  CONTAINER_NAME?: string;

  @wholeNumber(16 * 1024 ** 2) DAYLOG_MAX_LINE_BYTES!: string;
  @duration() DAYLOG_POLL_INTERVAL!: string;

  @IsOptional() @Matches(/^\d{1,5}$/, { message: 'expected a port for /metrics and /healthz, or leave it unset to serve none' })
  DAYLOG_METRICS_PORT?: string;
}

/** The shipper's settings; the state dir defaults to `.daylog` beside the first glob, on the shared volume. */
export function loadShipperConfig(env: NodeJS.ProcessEnv): ShipperConfig {
  const raw: Record<string, string | undefined> = {};
  for (const name of SHIPPER_ENV_NAMES) raw[name] = env[name] ?? DEFAULTS[name as keyof typeof DEFAULTS];
  const vars = plainToInstance(ShipperEnvironment, raw);
  const [first] = validateSync(vars);
  if (first) {
    throw new ConfigError(first.property, String(raw[first.property] ?? ''), Object.values(first.constraints ?? {})[0] ?? 'invalid');
  }
  const metricsPort = vars.DAYLOG_METRICS_PORT === undefined ? null : Number(vars.DAYLOG_METRICS_PORT);
  if (metricsPort !== null && metricsPort > 65535) {
    throw new ConfigError('DAYLOG_METRICS_PORT', vars.DAYLOG_METRICS_PORT!, 'expected a port from 0 to 65535');
  }
  if (Number(vars.DAYLOG_MAX_LINE_BYTES) < 1024) {
    throw new ConfigError('DAYLOG_MAX_LINE_BYTES', vars.DAYLOG_MAX_LINE_BYTES, 'expected at least 1024 (a cut line keeps room for its mark)');
  }
  const files = vars.DAYLOG_FILES.split(',').map((glob) => glob.trim()).filter(Boolean);
  return {
    url: vars.DAYLOG_URL.replace(/\/+$/, ''),
    files,
    stateDir: vars.DAYLOG_STATE_DIR ?? join(dirname(files[0]), '.daylog'),
    format: vars.DAYLOG_FORMAT as ShipperFormat,
    batchLines: Number(vars.DAYLOG_BATCH_LINES),
    batchBytes: Number(vars.DAYLOG_BATCH_BYTES),
    batchWaitMs: parseDuration(vars.DAYLOG_BATCH_WAIT)!,
    startAt: vars.DAYLOG_START_AT as ShipperConfig['startAt'],
    token: vars.DAYLOG_TOKEN ?? null,
    labels: { namespace: vars.POD_NAMESPACE ?? null, pod: vars.POD_NAME, container: vars.CONTAINER_NAME ?? null },
    maxLineBytes: Number(vars.DAYLOG_MAX_LINE_BYTES),
    pollIntervalMs: parseDuration(vars.DAYLOG_POLL_INTERVAL)!,
    metricsPort,
  };
}
