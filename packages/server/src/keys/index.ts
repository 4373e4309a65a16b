/**
 * @pipa/server keys: API keys (create once-shown, list, revoke, expiry, lazy last-used), the HTTP
 * authenticator with its cross-node cache invalidation, operators' subject-token public keys, the
 * first-start admin key and master key rotation.
 */
export { createKeyAuthenticator, type KeyAuthenticator, type KeyAuthenticatorOptions } from './authenticator.js';
export {
  kekVersionOf,
  type RewrapFailure,
  type RewrapSummary,
  rewrapRequestKeys,
  rewrapSystemKeys,
  rewrapWebhookSecrets,
  type TableRewrapOptions,
  type TableRewrapReport,
  type TableUsage,
  type VersionCount,
  WRAPPED_COLUMNS,
  type WrappedTable,
  wrappedKeyUsage,
} from './rewrap.js';
export {
  type DataKeyRewrap,
  type MasterKeyStatus,
  type MasterKeyVersionStatus,
  masterKeyStatus,
  pendingRewraps,
  type RotateOptions,
  type RotationProgress,
  type RotationReport,
  retireMasterKeyVersion,
  rotateMasterKey,
  vaultDataKeyRewrap,
} from './rotate.js';
export { keyRoutes } from './routes.js';
export {
  type ApiKeyRecord,
  type CreatedApiKey,
  type CreateKeyInput,
  createKeyService,
  isScope,
  type KeyService,
  normaliseEd25519PublicKey,
  type SubjectTokenKeyRecord,
} from './service.js';
