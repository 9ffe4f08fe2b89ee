import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';

export const DEFAULT_LOG_LEVELS: LogLevel[] = ['log', 'warn', 'error', 'fatal'];

/** Nest's console logger: one JSON object a line (structured params as top-level keys), or text for a terminal. */
export function aggregatorLogger(config: Pick<DaylogConfig, 'logFormat'>, logLevels = DEFAULT_LOG_LEVELS): ConsoleLogger {
  return config.logFormat === 'json' ? new ConsoleLogger({ json: true, flattenParams: true, logLevels }) : new ConsoleLogger({ logLevels, colors: process.stdout.isTTY === true });
}
