/**
 * @pipa/server audit: the hash-chained audit log (append inside the caller's transaction, fail
 * closed), verification naming the first broken sequence number, signed checkpoints, export/import
 * as JSON lines, subject access history. Design: docs/storage.md.
 */
export {
  type AppendResult,
  type AuditBatcher,
  type AuditBatcherOptions,
  type AuditLog,
  type AuditLogOptions,
  countAuditEvents,
  createAuditLog,
  type EventsQuery,
  type HistoryPage,
  type HistoryQuery,
} from './audit-log.js';
export { AUDIT_HASH_FORMAT, auditHashInput, canonicalCategories, canonicalJson, computeAuditHash, GENESIS_HASH } from './chain.js';
export {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointProblem,
  type CheckpointSigner,
  checkCheckpoint,
  checkpointKeyId,
  checkpointMessage,
  createCheckpointSigner,
  generateCheckpointKey,
  parseCheckpointPublicKey,
  parseTrustedKeys,
  TRUSTED_KEY_FORM,
} from './checkpoint.js';
export { AUDIT_ERROR_CODES, AuditError, type AuditErrorArgument, type AuditErrorCode, isAuditError } from './errors.js';
export {
  AUDIT_EXPORT_TYPE,
  AUDIT_EXPORT_VERSION,
  type AuditExportHeader,
  type AuditExportOptions,
  type ExportInput,
  type ExportVerifyOptions,
  type ExportVerifyResult,
  exportAuditRange,
  type ImportResult,
  importAuditExport,
  verifyAuditExport,
} from './export.js';
export { AUDIT_CHAIN, type ChainHead } from './records.js';
export {
  AUDIT_OUTCOMES,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
  type AuditRecord,
  type Clock,
  type JsonValue,
} from './types.js';
export { VERIFY_PROBLEMS, type VerifyOptions, type VerifyProblem, type VerifyResult, verifyAuditChain } from './verify.js';
