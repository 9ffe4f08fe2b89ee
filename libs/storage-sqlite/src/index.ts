export { CURSOR_KEY_FILE } from './cursor-key-file';
export { SqliteLogStore, SqliteLogStoreOptions } from './sqlite-log-store';
export { openSqliteStorage } from './sqlite-storage';
export { SearchThreads } from './search-threads';
export { TextSearchFunctions } from './text-search-functions';
