import { DaylogConfig } from '@daylog/config';
import { StorageBackend } from '@daylog/storage';
import { openSqliteStorage } from '@daylog/storage-sqlite';

/** The one place the storage engine is chosen, from the validated configuration. */
export function openStorage(config: DaylogConfig): Promise<StorageBackend> {
  return openSqliteStorage({
    dataDir: config.dataDir,
    partitionMs: config.partitionMs,
    synchronous: config.synchronous,
    fullText: config.fullText,
    maxDiskBytes: config.maxDiskBytes,
    maxLabelSetsPerNamespace: config.maxLabelSetsPerNamespace,
  });
}
