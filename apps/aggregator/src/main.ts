import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, DaylogConfig, ensureDataDir, loadConfig } from '@daylog/config';
import { systemClock } from './clock/clock';
import { createAggregator } from './configure-app';

function configOrExit(): DaylogConfig {
  try {
    const config = loadConfig(process.env);
    ensureDataDir(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

function cannotStart(error: Error): never {
  console.error(`daylog cannot start: ${error.message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config = configOrExit();
  const app = await createAggregator(config, systemClock).catch(cannotStart);
  // Closing by hand rather than with enableShutdownHooks, which re-raises the signal (exit 143):
  // in-flight batches are answered, SQLite is closed, and the exit status is 0.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void app.close().then(() => process.exit(0));
    });
  }
  await app.listen({ host: config.host, port: config.port }).catch(cannotStart);
  new Logger('Daylog').log(`listening on http://${config.host}:${config.port}, data in ${config.dataDir}`);
}

void main();
