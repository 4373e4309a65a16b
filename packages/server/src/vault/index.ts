/**
 * The vault: personal information by category, encrypted per field under a per-subject data key,
 * masked by default, plain for a declared purpose, looked up by blind index, erased by
 * crypto-shredding. Design: docs/vault.md.
 */
export {
  type CategoryRule,
  categoryRule,
  checkValue,
  LOOKUP_KINDS,
  type LookupKind,
  MAX_VALUE_LENGTH,
  type MaskKind,
  maskFor,
  type ValueKind,
  type ValueProblem,
} from './categories.js';
export { type RewrapDataKeysOptions, type RewrapDataKeysProgress, type RewrapDataKeysReport, rewrapDataKeys } from './rotation.js';
export { vaultRoutes } from './routes.js';
export {
  createVaultService,
  type ErasureReceipt,
  type FieldValues,
  type LookupMatch,
  type LookupQuery,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  type ReadView,
  type VaultActor,
  type VaultCategory,
  type VaultField,
  type VaultRecord,
  type VaultService,
  type VaultServiceDeps,
  type VaultServiceOptions,
  type VaultSubjects,
  vaultCategories,
} from './service.js';
