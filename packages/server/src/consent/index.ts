/**
 * @pipa/server consent: the in-memory consent projection and the purpose-bound decision engine (the
 * hot path: no I/O). Design: docs/decisions.md.
 */
export { ageInYears, ageOn, chinaYmd, formatYmd, isUnder, parseYmd } from './age.js';
export {
  type CompiledCategory,
  type CompiledMinors,
  type CompiledPolicy,
  type CompiledPurpose,
  type CompiledRecipient,
  type CompilePolicyOptions,
  compilePolicy,
  type PurposeCore,
  type SeparateRule,
} from './compile.js';
export { decide, decideBatch } from './decide.js';
export {
  ageFromIdNumber,
  birthDateFromIdNumber,
  type IdNumberProblem,
  type IdNumberResult,
  idNumberCheckChar,
  parseIdNumber,
} from './id-number.js';
export {
  type ConsentHistoryPage,
  type ConsentItem,
  type ConsentLedger,
  type ConsentService,
  type ConsentStateView,
  type ConsentWriteOptions,
  type CurrentConsent,
  createConsentLedger,
  createConsentService,
  type LedgerEvent,
  MAX_CONSENT_ITEMS,
  newConsentEventId,
  type RecordConsentInput,
  type WithdrawInput,
} from './ledger.js';
export {
  CONSENT_CHAIN,
  CONSENT_HASH_FORMAT,
  type ConsentVerifyProblem,
  type ConsentVerifyResult,
  consentHashInput,
  verifyConsentChain,
} from './ledger-chain.js';
export { type ConsentLoadStats, type ConsentSync, loadConsentProjection, startConsentSync } from './ledger-sync.js';
export {
  type AppConsentState,
  type ConsentProjection,
  type ConsentView,
  createConsentProjection,
  type ProjectionStats,
  type ReconsentMark,
  type SubjectEntry,
  type SubjectView,
} from './projection.js';
export { consentRoutes } from './routes.js';
export {
  CONSENT_ACTIONS,
  CONSENT_METHODS,
  type ConsentAction,
  type ConsentEvent,
  type ConsentMethod,
  type ConsentState,
  DECISION_NEEDS,
  type Decision,
  type DecisionNeeds,
  type DecisionRequest,
  type GuardianInfo,
  REASON_CODES,
  type Reason,
  type ReasonCode,
  SUBJECT_STATUSES,
  type SubjectInfo,
  type SubjectStatus,
} from './types.js';
