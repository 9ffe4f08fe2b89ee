export * from './batch-key';
export * from './cursor-codec';
export * from './log-store';
export { MigrationError } from './migrator';
export { SqliteLogStore, SqliteLogStoreOptions } from './sqlite-log-store';
export { lineMatcher } from './line-matcher';
export { TextSearchFunctions } from './text-search-functions';
export { LinesTest, sharedClockNow } from './search-protocol';
export { SearchThreads } from './search-threads';
