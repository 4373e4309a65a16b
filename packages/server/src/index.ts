export * from './audit/index.js';
export { auditRoutes } from './audit-routes/index.js';
export * from './consent/index.js';
export * from './crypto/index.js';
export * from './errors.js';
export { makeDirectories } from './fs.js';
export { createHttpApp, type HttpOptions } from './http/app.js';
export * from './http/route.js';
export * from './jobs/index.js';
export * from './keys/index.js';
export {
  type AppRecord,
  createPolicyService,
  type LintSummaryRecord,
  type PolicyService,
  type PolicySync,
  type PolicyVersionDetail,
  type PolicyVersionRecord,
  type PublishInput,
  type PublishResult,
  policyRoutes,
  type StoredDiff,
  startPolicySync,
} from './policies/index.js';
export * from './retention/index.js';
export * from './rights/index.js';
export * from './server/index.js';
export {
  CACHE_LIMITS,
  CHANNELS,
  DECISION_AUDIT_MODES,
  DEFAULT_CACHES,
  type DecisionAuditMode,
  openServiceContext,
  type ServiceCaches,
  type ServiceContext,
  type ServiceOptions,
} from './service/context.js';
export * from './store/index.js';
export { createSubjectService, type SubjectService } from './subjects/index.js';
export { createVaultService, type VaultActor, type VaultService } from './vault/index.js';
export { heldCategories, recordCategories } from './vault/record.js';
