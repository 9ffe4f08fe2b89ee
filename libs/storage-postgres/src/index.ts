export { POSTGRES_MIGRATIONS_DIR, migratePostgres } from './migrator';
