/**
 * One error type for the whole service, with a closed set of codes mapped to HTTP status in one
 * place. Domain code throws PipaError; the HTTP layer turns it into the one error shape
 * `{ "error": { "code", "message", "requestId", "details"? } }`. Messages are safe to show: they
 * never contain personal information (ids and field names only).
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  unknown_app: 404,
  unknown_subject: 404,
  unknown_purpose: 422,
  unknown_category: 422,
  unknown_recipient: 422,
  conflict: 409,
  request_timeout: 408,
  precondition_failed: 412,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  lint_errors: 422,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An identifier's shape: letters, digits and single separators, no run of 7 digits (a phone or ID number). */
const SHOWN_ID = /^[A-Za-z0-9]+(?:[._:-][A-Za-z0-9]+)*$/;

/**
 * A client-given identifier (purpose, category, recipient, version) as a message may repeat it:
 * itself when it has an identifier's shape, else a placeholder, because it may be personal
 * information sent in the wrong field (a phone number as a purpose, a name as a category).
 */
export function shownId(value: unknown): string {
  if (typeof value === 'string' && value.length <= 64 && SHOWN_ID.test(value) && !/\d{7}/.test(value)) return value;
  return '(value not shown: not an id)';
}

/**
 * One step of a JSON path, as the policy loader writes them (formatPath): `[2]` for an index, `.kind` for
 * a key that is a plain identifier (letters, digits, `_` and `-`), else the
 * key bracketed and quoted (`["contact.phone"]`: a dotted key read as `.contact.phone` would name a
 * nested field). A key that may be personal information is not repeated (`shownId`).
 */
export function pathStep(key: string | number | symbol): string {
  if (typeof key === 'number') return `[${key}]`;
  const shown = shownId(String(key));
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
}

export interface ErrorDetail {
  /** JSON path (`$.body.fields[2]`) or field name the detail is about. */
  path?: string;
  message: string;
  [key: string]: unknown;
}

export class PipaError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  constructor(code: ErrorCode, message: string, details?: ErrorDetail[]) {
    super(message);
    this.name = 'PipaError';
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** The tail of a message that names only the first of `details`: "; 2 more problems in details", or nothing. */
export function moreInDetails(details: readonly unknown[]): string {
  const more = details.length - 1;
  return more <= 0 ? '' : `; ${more} more problem${more === 1 ? '' : 's'} in details`;
}

export function isPipaError(err: unknown): err is PipaError {
  return err instanceof PipaError;
}
