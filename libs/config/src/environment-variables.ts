import { IsIn, IsNotEmpty, Matches, ValidateBy, ValidationOptions } from 'class-validator';
import { DURATION_HINT, parseDuration } from '@daylog/log-model';

function IsDuration(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDuration',
      validator: { validate: (value) => typeof value === 'string' && parseDuration(value) !== undefined },
    },
    { message: `expected ${DURATION_HINT}`, ...options },
  );
}

function IsPositiveInteger(max: number): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPositiveInteger',
      validator: {
        validate: (value) => typeof value === 'string' && /^\d{1,15}$/.test(value) && +value > 0 && +value <= max,
      },
    },
    { message: `expected a whole number from 1 to ${max}` },
  );
}

export const ENV_DEFAULTS = {
  DAYLOG_HOST: '0.0.0.0',
  DAYLOG_PORT: '8080',
  DAYLOG_DATA_DIR: './data',
  DAYLOG_RETENTION: '24h',
  DAYLOG_PARTITION: '1h',
  DAYLOG_PRUNE_INTERVAL: '1m',
  DAYLOG_MAX_BODY_BYTES: '16777216',
  DAYLOG_MAX_LINE_BYTES: '65536',
  DAYLOG_MAX_QUEUED_LINES: '200000',
  DAYLOG_MAX_LINES_PER_REQUEST: '100000',
  DAYLOG_SYNCHRONOUS: 'full',
  DAYLOG_LOG_FORMAT: 'json',
  DAYLOG_SHUTDOWN_GRACE: '10s',
  DAYLOG_FULL_TEXT: 'on',
  DAYLOG_COMPRESSION: 'on',
  DAYLOG_METRICS_AUTH: 'open',
  DAYLOG_RATE_LIMIT: 'off',
  DAYLOG_QUERY_TIMEOUT: '10s',
  DAYLOG_QUERY_MAX_SCANNED_LINES: '10000000',
  DAYLOG_MAX_DISK: 'off',
  DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE: '5000',
  // Each tail's filter runs on every stored batch, in turns of the event loop shared by all tails: about 0.1 ms
  // (a text filter) to 0.3 ms (a regex) a tail per 1,000-line batch on two cores. 20 covers a person's terminals
  // or a dashboard's panels; 500 in all, each with its own filter, is 0.05 to 0.15 s of work a batch.
  DAYLOG_MAX_TAILS_PER_CLIENT: '20',
  DAYLOG_MAX_TAILS: '500',
  DAYLOG_POSTGRES_CONNECT_TIMEOUT: '60s',
} as const;

export type EnvName = keyof typeof ENV_DEFAULTS;

/** The environment as text, each variable checked on its own; cross-checks follow in load-config. */
export class EnvironmentVariables implements Record<EnvName, string> {
  @IsNotEmpty({ message: 'expected a host name or IP address to listen on' })
  DAYLOG_HOST!: string;

  @Matches(/^\d{1,5}$/, { message: 'expected a port from 0 to 65535' })
  DAYLOG_PORT!: string;

  @IsNotEmpty({ message: 'expected a directory path' })
  DAYLOG_DATA_DIR!: string;

  @IsDuration()
  DAYLOG_RETENTION!: string;

  @IsDuration()
  DAYLOG_PARTITION!: string;

  @IsDuration()
  DAYLOG_PRUNE_INTERVAL!: string;

  @IsPositiveInteger(1024 ** 3)
  DAYLOG_MAX_BODY_BYTES!: string;

  @IsPositiveInteger(16 * 1024 ** 2)
  DAYLOG_MAX_LINE_BYTES!: string;

  @IsPositiveInteger(10_000_000)
  DAYLOG_MAX_QUEUED_LINES!: string;

  @IsPositiveInteger(10_000_000)
  DAYLOG_MAX_LINES_PER_REQUEST!: string;

  @IsIn(['full', 'normal'], { message: 'expected full (every acknowledged batch is fsynced) or normal' })
  DAYLOG_SYNCHRONOUS!: string;

  @IsIn(['json', 'text'], { message: 'expected json (one object a line) or text' })
  DAYLOG_LOG_FORMAT!: string;

  @IsDuration()
  DAYLOG_SHUTDOWN_GRACE!: string;

  @IsIn(['on', 'off'], { message: 'expected on (a word index for match=, about 40 B a line) or off' })
  DAYLOG_FULL_TEXT!: string;

  @IsIn(['on', 'off'], { message: 'expected on (closed hours rewritten into compressed blocks, about a tenth of the disk) or off' })
  DAYLOG_COMPRESSION!: string;

  @IsIn(['open', 'read'], { message: 'expected open (anyone may scrape) or read (a read token is needed)' })
  DAYLOG_METRICS_AUTH!: string;

  @Matches(/^(off|\d{1,9}\/[sm])$/, { message: 'expected off, or requests per token as 50/s or 600/m' })
  DAYLOG_RATE_LIMIT!: string;

  @IsDuration()
  DAYLOG_QUERY_TIMEOUT!: string;

  @IsPositiveInteger(1e12)
  DAYLOG_QUERY_MAX_SCANNED_LINES!: string;

  @Matches(/^(off|\d{1,15}(|k|m|g|t)(|i)(|b))$/i, { message: 'expected off, or a size in bytes such as 500000000, 500M or 2G' })
  DAYLOG_MAX_DISK!: string;

  @IsPositiveInteger(1_000_000)
  DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE!: string;
  @IsPositiveInteger(100_000)
  DAYLOG_MAX_TAILS_PER_CLIENT!: string;

  @IsPositiveInteger(100_000)
  DAYLOG_MAX_TAILS!: string;

  @IsDuration()
  DAYLOG_POSTGRES_CONNECT_TIMEOUT!: string;
}
