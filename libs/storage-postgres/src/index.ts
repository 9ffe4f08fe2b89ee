export { LineToCopy, copyRows, copyStatement } from './copy-rows';
export { storedMessage } from './line-rows';
export { POSTGRES_MIGRATIONS_DIR, migratePostgres } from './migrator';
export { PARTITIONED_TABLES, dropPartitionsEndingBy, ensurePartition, livePartitions, partitionTable } from './partition-tables';
export { CommittedLinesOptions, PgCommittedLines } from './pg-committed-lines';
export { PgDatabase, PgDatabaseOptions } from './pg-database';
export { ChunkLines, PgPartitions } from './pg-partitions';
export { DatabaseUnreachable, PostgresStorageOptions, openPostgresStorage, replicaDatabase } from './postgres-storage';
export { BuiltWordIndex, WordIndexBuilder, WordIndexPace } from './word-index-builder';
