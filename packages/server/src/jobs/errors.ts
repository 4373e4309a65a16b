/**
 * Errors of the job queue and runner. Callers branch on `code`. `message` is English (logs, tests);
 * `messageZh` is the zh-CN text for operators (CLI, console). `path` names the argument a bad input
 * was found in (`spec.maxAttempts`).
 *
 * Handlers throw what they like; `JobHandlerError` lets them say where a failure is (`where`) and
 * that retrying cannot help (`retryable: false`, the job goes straight to `dead`).
 */

export const JOB_ERROR_CODES = [
  /** An argument outside the documented range (bad kind, negative timeout, payload not JSON…). */
  'invalid_argument',
  /** No job with that id. */
  'unknown_job',
  /** The job is not in a state that allows the operation (retry of a job that is not dead…). */
  'invalid_state',
  /** The worker no longer holds the job: its lease expired and another worker took it, or staff cancelled it. */
  'lease_lost',
  /** The attempt ran longer than the job's `timeoutMs` and was abandoned. */
  'timed_out',
  /** The runner is stopping; the job was handed back to the queue. */
  'shutting_down',
] as const;

export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

export class JobError extends Error {
  readonly code: JobErrorCode;
  readonly messageZh: string;
  /** The argument the error is about (`spec.after[2]`), when there is one. */
  readonly path: string | undefined;
  constructor(code: JobErrorCode, message: string, messageZh: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobError';
    this.code = code;
    this.messageZh = messageZh;
    this.path = options?.path;
  }
}

export function isJobError(err: unknown, code?: JobErrorCode): err is JobError {
  return err instanceof JobError && (code === undefined || err.code === code);
}

export interface JobHandlerErrorOptions {
  /** Where the failure is: `connector orders`, `table orders column phone`, `POST https://…/erase`. Never personal information. */
  where?: string;
  /** False: retrying cannot help (a declared column does not exist); the job becomes `dead` at once. Default true. */
  retryable?: boolean;
  cause?: unknown;
}

/** What a handler throws to describe its failure. The message is stored and shown to staff: no personal information. */
export class JobHandlerError extends Error {
  readonly where: string | undefined;
  readonly retryable: boolean;
  constructor(message: string, options: JobHandlerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobHandlerError';
    this.where = options.where;
    this.retryable = options.retryable ?? true;
  }
}
