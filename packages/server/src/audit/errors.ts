/**
 * Errors of the audit log. Callers branch on `code`. `message` is English; `messageZh` is the zh-CN
 * text for operators (CLI, console), shown first. An `AuditError` thrown by `append` inside a
 * transaction makes the caller's transaction roll back: audit fails closed.
 */

export const AUDIT_ERROR_CODES = [
  /** An event that cannot be recorded as given (missing actor, bad action name, details too large…). */
  'invalid_event',
  /** A raw subject id was given but the log has no pseudonymiser (the log never stores raw ids). */
  'no_pseudonymiser',
  /** `checkpoint()` without a signing key. */
  'no_signing_key',
  /** Key material that is not an Ed25519 key. */
  'invalid_key',
  /** An export file that is not a pipa audit export, with the line it fails at. */
  'invalid_export',
  /** An import that does not continue the target chain. */
  'import_conflict',
  /** The group-commit buffer is full: the database cannot keep up. */
  'overloaded',
  /** A caller passed an argument outside the documented range. */
  'invalid_argument',
] as const;

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number];

/**
 * The option an `invalid_argument` (or `invalid_key`) error is about, and what is wrong with it
 * without the option's name, so that a caller can name the option its own way (`--from`, `$.body.from`).
 */
export interface AuditErrorArgument {
  /** The option as the function takes it (`from`, `to`, `trustedKeys`). */
  name: string;
  /** E.g. "is beyond the head (16)". */
  problem: string;
  problemZh: string;
}

export class AuditError extends Error {
  readonly code: AuditErrorCode;
  readonly messageZh: string;
  readonly argument: AuditErrorArgument | undefined;
  constructor(code: AuditErrorCode, message: string, messageZh: string, options?: { cause?: unknown; argument?: AuditErrorArgument }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'AuditError';
    this.code = code;
    this.messageZh = messageZh;
    this.argument = options?.argument;
  }
}

export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
