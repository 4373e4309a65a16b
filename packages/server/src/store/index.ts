/**
 * @pipa/server store: the database factory (SQLite | PostgreSQL), capabilities, transactions,
 * migrations and the schema. Design: docs/storage.md. The test helper `test-dialects.ts` is imported
 * by tests directly (it depends on vitest) and is not exported here.
 */
export {
  type Capabilities,
  capabilitiesOf,
  capabilitiesOfKysely,
  DIALECTS,
  type DialectName,
  forUpdate,
  type LockOptions,
} from './capabilities.js';
export {
  type DatabaseConfig,
  DEFAULT_DATA_DIR,
  DEFAULT_SQLITE_FILE,
  DEFAULT_SQLITE_MMAP_SIZE,
  DURABILITIES,
  type Durability,
  describeDatabase,
  dialectOfUrl,
  type PostgresResolved,
  type ResolvedDatabaseConfig,
  resolveDatabaseConfig,
  type SqliteResolved,
} from './config.js';
export { createDatabase, type Database, type ListenEvent, type ListenHandler } from './database.js';
export { isStoreError, STORE_ERROR_CODES, StoreError, type StoreErrorCode } from './errors.js';
export { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type MigrateOptions, type MigrationState, migrate, migrationStatus } from './migrate.js';
export { MIGRATIONS } from './migrations/index.js';
export {
  type ApiKeysTable,
  type AppsTable,
  type AuditCheckpointsTable,
  type AuditEventsTable,
  type ChainHeadsTable,
  type ConsentEventsTable,
  type DataKeysTable,
  type Flag,
  type JobDependenciesTable,
  type JobsTable,
  type JsonText,
  type Millis,
  type NewRow,
  type PolicyVersionsTable,
  type Row,
  type RowUpdate,
  SCHEMA_COLUMNS,
  type Schema,
  SUBJECT_KINDS,
  SUBJECT_STATUS_VALUES,
  type SubjectKind,
  type SubjectStatusValue,
  type SubjectsTable,
  type SystemKeysTable,
  type TableName,
  type VaultFieldsTable,
} from './schema.js';
export { isTransientError, type TransactionOptions, withTransaction } from './transaction.js';
