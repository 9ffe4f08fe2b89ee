import { DaylogConfig, PostgresSettings } from '@daylog/config';
import { LineTestThreads, StorageBackend } from '@daylog/storage';
import { DatabaseUnreachable, openPostgresStorage } from '@daylog/storage-postgres';
import { openSqliteStorage } from '@daylog/storage-sqlite';

/** The one place the storage engine is chosen, from the validated configuration. */
export async function openStorage(config: DaylogConfig): Promise<StorageBackend> {
  if (config.postgres !== null) return openPostgres(config, config.postgres);
  const backend = await openSqliteStorage({
    dataDir: config.dataDir,
    partitionMs: config.partitionMs,
    synchronous: config.synchronous,
    fullText: config.fullText,
    compression: config.compression,
    maxDiskBytes: config.maxDiskBytes,
    maxLabelSetsPerNamespace: config.maxLabelSetsPerNamespace,
  });
  return config.cursorSecret === null ? backend : { ...backend, cursorKey: config.cursorSecret };
}

/** A database that cannot be reached at boot is named by the variable that gave it, its password left out. */
async function openPostgres(config: DaylogConfig, postgres: PostgresSettings): Promise<StorageBackend> {
  const lineTester = new LineTestThreads();
  try {
    const backend = await openPostgresStorage({
      url: postgres.url,
      partitionMs: config.partitionMs,
      fullText: config.fullText,
      maxLabelSetsPerNamespace: config.maxLabelSetsPerNamespace,
      cursorKey: config.cursorSecret,
      queryTimeoutMs: config.queryTimeoutMs,
      connectTimeoutMs: postgres.connectTimeoutMs,
      lineTester,
    });
    return {
      ...backend,
      close: async () => {
        await backend.close();
        await lineTester.stop();
      },
    };
  } catch (error) {
    await lineTester.stop();
    if (error instanceof DatabaseUnreachable) throw new DatabaseUnreachable(`${postgres.variable} (${postgres.shownUrl}): ${error.message}`);
    throw error;
  }
}
