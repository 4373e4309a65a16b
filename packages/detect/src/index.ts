export * from './checksums.js';
export { CONTEXT_WORDS, NEGATIVE_WORDS } from './context.js';
export { candidates, DEFAULT_MIN_SCORE, detect, resolveOverlaps } from './detect.js';
export { type AddressComponent, parseAddressAt, splitAddress } from './detectors/address.js';
export type { Candidate } from './detectors/env.js';
export { alnumUpper, digitsOnly, hasFullWidth, normalizeWidth } from './normalize.js';
export {
  applyOperator,
  generaliseValue,
  isOperatorName,
  keyedHash,
  OPERATORS,
  type OperatorContext,
  OperatorError,
  type OperatorName,
  operatorFor,
  pseudonym,
  type RedactionPlan,
  redactText,
  typeTag,
} from './operators/apply.js';
export { cardToken, feistelDigits, feistelDigitsInverse, landlineToken, phoneToken } from './operators/fpe.js';
export { generaliseAddress, generaliseAge, generaliseBirthDate } from './operators/generalise.js';
export { maskAddress, maskEmail, maskMiddle, maskName, maskValue } from './operators/mask.js';
export { hmacSha256, sha256, toBase32, toHex, utf8 } from './sha256.js';
export {
  createRedactor,
  createTextScanner,
  type Redactor,
  type StreamDetection,
  type StreamOptions,
  scanTextChunks,
  type TextScanner,
} from './stream.js';
export {
  type CsvOptions,
  createCsvScanner,
  createNdjsonScanner,
  type FieldFinding,
  parseJson,
  type RecordScanner,
  StructuredError,
  scanJson,
  scanJsonValue,
} from './structured.js';
export * from './types.js';
