import 'reflect-metadata';
import { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, DaylogConfig, ensureDataDir, loadConfig } from '@daylog/config';
import { systemClock } from './clock/clock';
import { createAggregator } from './configure-app';
import { aggregatorLogger } from './logging/aggregator-logger';

/** A bad setting is said as one plain line: the log format may be the setting that is wrong. */
function configOrExit(): DaylogConfig {
  try {
    const config = loadConfig(process.env);
    if (config.postgres === null) ensureDataDir(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * Closing by hand rather than with enableShutdownHooks, which re-raises the signal (exit 143): the server stops
 * accepting, requests in flight are answered (their connections closed once the grace period is over), SQLite is
 * closed, and the exit status is 0. A second signal ends the process at once.
 */
function closeOnSignals(app: NestFastifyApplication, graceMs: number, logger: Logger): void {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const stop = (signal: NodeJS.Signals): void => {
    for (const other of signals) process.removeListener(other, stop);
    logger.log('stopping: answering the requests in flight', { signal, graceMs });
    const deadline = setTimeout(() => {
      logger.warn('grace period over: closing the connections still open');
      app.getHttpServer().closeAllConnections();
    }, graceMs).unref();
    app.close().then(
      () => {
        clearTimeout(deadline);
        logger.log('stopped');
        process.exit(0);
      },
      (error: Error) => {
        logger.fatal('could not stop cleanly', error.stack);
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, stop);
}

/**
 * What the server is bound to, as `host:port`: `0.0.0.0:8080` means every interface. Nest's getUrl()
 * names 127.0.0.1 for a wildcard address, which reads as "only this machine".
 */
function boundAddress(app: NestFastifyApplication): string {
  const { address, port, family } = app.getHttpServer().address() as AddressInfo;
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

async function main(): Promise<void> {
  const config = configOrExit();
  const consoleLogger = aggregatorLogger(config);
  Logger.overrideLogger(consoleLogger);
  const logger = new Logger('Daylog');
  const cannotStart = (error: Error): never => {
    logger.fatal(`cannot start: ${error.message}`);
    process.exit(1);
  };

  if (config.postgres !== null && config.ignoredSettings.length > 0) {
    const names = config.ignoredSettings.join(', ');
    logger.warn(`ignored, as SQLite's settings while ${config.postgres.variable} chooses PostgreSQL: ${names}`, { ignored: config.ignoredSettings });
  }

  const app = await createAggregator(config, systemClock, consoleLogger).catch(cannotStart);
  closeOnSignals(app, config.shutdownGraceMs, logger);
  await app.listen({ host: config.host, port: config.port }).catch(cannotStart);
  const storage = config.postgres === null ? { dataDir: config.dataDir } : { database: config.postgres.shownUrl };
  logger.log('listening', { address: boundAddress(app), ...storage });
  if (config.ingestTokens === null) logger.warn('ingest is OPEN: anyone who can reach this port can write lines; set DAYLOG_INGEST_TOKENS');
  if (config.readTokens === null) logger.warn('reads are OPEN: anyone who can reach this port can read every line; set DAYLOG_READ_TOKENS');
}

void main();
