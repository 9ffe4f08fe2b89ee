export { POSTGRES_MIGRATIONS_DIR, migratePostgres } from './migrator';
export { PARTITIONED_TABLES, dropPartitionsEndingBy, ensurePartition, livePartitions, partitionTable } from './partition-tables';
export { DatabaseUnreachable, PostgresStorageOptions, openPostgresStorage } from './postgres-storage';
