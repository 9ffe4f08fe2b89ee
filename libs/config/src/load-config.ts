import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parseDuration } from '@daylog/log-model';
import { DaylogConfig } from './daylog-config';
import { ENV_DEFAULTS, EnvName, EnvironmentVariables } from './environment-variables';

const DAY_MS = 86_400_000;

/** A bad setting, said in one line: the variable, its value, and what is accepted. */
export class ConfigError extends Error {
  constructor(name: string, value: string, expected: string) {
    super(`${name}=${JSON.stringify(value)} is not valid: ${expected}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv): DaylogConfig {
  const names = Object.keys(ENV_DEFAULTS) as EnvName[];
  const raw = Object.fromEntries(names.map((name) => [name, env[name] ?? ENV_DEFAULTS[name]]));
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
  if (DAY_MS % partitionMs !== 0 || partitionMs > retentionMs) {
    throw new ConfigError(
      'DAYLOG_PARTITION',
      vars.DAYLOG_PARTITION,
      `expected a duration that divides a day (1h, 30m, 15m, …) and is no longer than DAYLOG_RETENTION (${vars.DAYLOG_RETENTION})`,
    );
  }

  return {
    host: vars.DAYLOG_HOST,
    port,
    dataDir: vars.DAYLOG_DATA_DIR,
    retentionMs,
    partitionMs,
    pruneIntervalMs: parseDuration(vars.DAYLOG_PRUNE_INTERVAL)!,
    maxBodyBytes: Number(vars.DAYLOG_MAX_BODY_BYTES),
    maxLineBytes: Number(vars.DAYLOG_MAX_LINE_BYTES),
    maxQueuedLines: Number(vars.DAYLOG_MAX_QUEUED_LINES),
    synchronous: vars.DAYLOG_SYNCHRONOUS as DaylogConfig['synchronous'],
  };
}
