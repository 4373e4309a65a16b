/**
 * Errors of the storage layer. Callers branch on `code`, never on message text. `message` is English
 * (logs, tests); `messageZh` is the zh-CN text for operators (CLI, console), shown first.
 */

export const STORE_ERROR_CODES = [
  /** The database URL or an option is not one pipa understands. */
  'invalid_config',
  /** The database cannot be opened or reached. */
  'connection_failed',
  /** A migration failed; the database stays at the last migration that succeeded. */
  'migration_failed',
  /** The database has migrations this build does not know (it was migrated by a newer pipa). */
  'schema_too_new',
  /** A caller passed an argument outside the documented range (programming error). */
  'invalid_argument',
  /** The database was closed. */
  'closed',
] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** zh-CN text for operators; `message` is the English text. */
  readonly messageZh: string;
  constructor(code: StoreErrorCode, message: string, messageZh: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
    this.messageZh = messageZh;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
