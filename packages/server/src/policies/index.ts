/**
 * @pipa/server policies: apps and their published policy versions (publish with validation, lint,
 * diff and audit; history; one version; the diff against the previous one), the re-consent marks a
 * material change puts on the consent projection, and the cross-node sync of the policy registry.
 */
export { applyReconsentMarks } from './reconsent.js';
export { APP_ID, policyRoutes } from './routes.js';
export {
  type AppRecord,
  createPolicyService,
  type LintSummaryRecord,
  type PolicyService,
  type PolicyVersionDetail,
  type PolicyVersionRecord,
  type PublishInput,
  type PublishResult,
  type StoredDiff,
} from './service.js';
export { type PolicySync, type PolicySyncOptions, startPolicySync } from './sync.js';
