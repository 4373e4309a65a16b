/**
 * @pipa/server crypto: master key providers, the keyring of wrapped data keys, cipher suites, the
 * ciphertext envelope, per-field encryption, blind indexes, pseudonyms. Design: docs/crypto.md.
 */
export {
  BLIND_INDEX_LABEL,
  type BlindIndex,
  type BlindIndexOptions,
  createBlindIndex,
  NORMALISER_KINDS,
  type NormaliserKind,
  normalise,
  normaliseEmail,
  normaliseIdNumber,
  normalisePhone,
  normaliseText,
  type PhoneNormaliseOptions,
} from './blind-index.js';
export {
  createDataKeyCache,
  DATA_KEY_LENGTH,
  DataKey,
  type DataKeyCache,
  type DataKeyCacheOptions,
  shredDataKey,
} from './data-key.js';
export { base32, decodeKeyMaterial, encodeContext } from './encoding.js';
export {
  asBuffer,
  describeEnvelope,
  ENVELOPE_FIXED_HEADER_LENGTH,
  ENVELOPE_FORMAT_VERSION,
  type EnvelopeDescription,
  type EnvelopeHeader,
  parseEnvelope,
  sealEnvelope,
} from './envelope.js';
export { CRYPTO_ERROR_CODES, CryptoError, type CryptoErrorCode, isCryptoError } from './errors.js';
export {
  createFieldCipher,
  FIELD_CONTEXT_LABEL,
  type FieldAad,
  type FieldCipher,
  type FieldCipherOptions,
  fieldContext,
  type SubjectCipher,
} from './field-cipher.js';
export { deriveKey, hkdf, type KdfDigest } from './kdf.js';
export {
  createFileKeyProvider,
  type FileKeyProvider,
  type FileKeyProviderOptions,
  KEY_FILE_FORMAT,
  KEY_FILE_NAME,
  type KeyFileDocument,
  keyFilePath,
  parseKeyFile,
} from './key-file.js';
export {
  createKeyring,
  generateSystemKeys,
  inspectWrappedKey,
  type KeyOwner,
  type Keyring,
  type KeyringOptions,
  openSystemKeys,
  type RewrapResult,
  SYSTEM_KEY_PURPOSES,
  type SystemKeyPurpose,
  type SystemKeys,
  WRAPPED_KEY_FORMAT,
  WRAPPED_KEY_HEADER_LENGTH,
  type WrappedKeyInfo,
  type WrappedSystemKeys,
} from './keyring.js';
export {
  createKmsKeyProvider,
  createLocalKmsClient,
  createLocalKmsProvider,
  type KmsClient,
  type KmsKeyProviderOptions,
  type KmsKeyVersion,
  type LocalKmsClientOptions,
} from './kms.js';
export {
  createEnvKeyProvider,
  createLocalKek,
  ENV_MASTER_KEY,
  ENV_MASTER_KEY_VERSION,
  type EnvKeyProviderOptions,
  generateMasterKey,
  type KeyEncryptionKey,
  type LocalKekOptions,
  type MasterKeyProvider,
  type MasterKeyProviderKind,
  type MasterKeyVersionInfo,
} from './master-key.js';
export {
  type MasterKeyConfig,
  type OpenMasterKeyOptions,
  openMasterKeyProvider,
  type PreparedMasterKey,
  prepareMasterKeyProvider,
} from './provider.js';
export {
  createPseudonymizer,
  isPseudonym,
  PSEUDONYM_PREFIX,
  type Pseudonymizer,
  type PseudonymOptions,
} from './pseudonym.js';
export { createSeededRandom, type RandomSource, randomInto, systemRandom } from './random.js';
export { type RewrapAllOptions, type RewrapProgress, type RewrapReport, rewrapAll, type WrappedKeyRow } from './rotation.js';
export {
  aes256GcmDecrypt,
  aes256GcmEncrypt,
  type CipherSuite,
  getSuite,
  hmacSm3,
  isSuiteAvailable,
  isSuiteName,
  SUITE_NAMES,
  type SuiteKey,
  type SuiteName,
  sm4Ctr,
  suiteById,
} from './suites.js';
