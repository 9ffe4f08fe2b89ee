import { StorageBackend } from '@daylog/storage';
import { cursorKeyOfDataDir } from './cursor-key-file';
import { SearchThreads } from './search-threads';
import { SqliteLogStore, SqliteLogStoreOptions } from './sqlite-log-store';

/** The embedded engine: SQLite files under one data directory, text searches and tails' regexes on search threads. */
export async function openSqliteStorage(options: Omit<SqliteLogStoreOptions, 'searchThreads'>): Promise<StorageBackend> {
  const searchThreads = new SearchThreads();
  try {
    const store = await SqliteLogStore.open({ ...options, searchThreads });
    return {
      store,
      committedLines: null,
      cursorKey: cursorKeyOfDataDir(options.dataDir),
      lineTester: searchThreads,
      close: async () => {
        await store.close();
        await searchThreads.stop();
      },
    };
  } catch (error) {
    await searchThreads.stop();
    throw error;
  }
}
