/**
 * The job model. A job is one unit of work (one rights-request task: "erase subject S in table
 * orders"), persisted in `jobs` so that it survives restarts and crashes.
 *
 * States:
 * ```
 *   waiting ──(every dependency succeeded)──▶ queued ──(claimed)──▶ running ──▶ succeeded
 *                                              ▲  ▲                   │  │
 *                                              │  └──(fails, attempts left: backoff)
 *                                              │  └──(lease expired, attempts left)
 *                                              │                      └──▶ dead (attempts used up, or a permanent error)
 *                                              └──────(staff retry)────────────┘
 *   cancelled: staff cancelled it (or a job it depended on), from any state but succeeded.
 * ```
 */

export const JOB_STATES = ['waiting', 'queued', 'running', 'succeeded', 'dead', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** States a job never leaves by itself (`dead` leaves only through staff retry or cancel). */
export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'dead', 'cancelled'];

/** The notification channel the queue announces new and released jobs on (payload: the job kind). */
export const JOBS_CHANNEL = 'pipa_jobs';

/** Anything with a `now()` in ms since the epoch (injected so tests control time). */
export interface JobClock {
  now(): number;
}

export const systemJobClock: JobClock = { now: () => Date.now() };

export type JobJson = null | boolean | number | string | JobJson[] | { [key: string]: JobJson };

/** How an attempt failed. */
export const JOB_FAILURE_KINDS = ['error', 'permanent', 'timeout', 'lease_expired', 'invalid_result'] as const;
export type JobFailureKind = (typeof JOB_FAILURE_KINDS)[number];

/** The record of the last failed attempt, shown to staff. Never personal information. */
export interface JobFailure {
  kind: JobFailureKind;
  /** What went wrong. */
  message: string;
  /** Where: the handler's `JobHandlerError.where`, else the first frame of the error's stack, else the worker. */
  where: string | null;
  /** The error's class name (`JobHandlerError`, `StoreError`, `DatabaseError`…). */
  name: string;
  /** The error's `code`, when it has a string one (`ECONNREFUSED`, `23505`). */
  code: string | null;
  attempt: number;
  worker: string | null;
  at: number;
}

export interface Job {
  /** `job_…` */
  id: string;
  kind: string;
  /** The payload as enqueued (parsed JSON). Validate it in the handler (zod): it crossed a process boundary. */
  payload: unknown;
  state: JobState;
  priority: number;
  /** Attempts started so far (the current one included while running). */
  attempts: number;
  maxAttempts: number;
  /** Not before this time (ms). */
  runAt: number;
  timeoutMs: number;
  /** The worker that holds (or last held) the job. */
  lockedBy: string | null;
  /** The running attempt's lease ends at this time; another worker may take the job after it. */
  lockedUntil: number | null;
  lastError: JobFailure | null;
  /** What the job returned, once succeeded. */
  result: unknown;
  dedupeKey: string | null;
  groupId: string | null;
  /** Dependencies not yet succeeded. */
  pendingDeps: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface EnqueueSpec {
  /** Which handler runs it: lower case, `[a-z][a-z0-9_.:-]*`, at most 100 characters (`rights.erase-table`). */
  kind: string;
  /** JSON-serialisable, at most 64 KiB. Ids, not personal information: the table is not encrypted. Default `{}`. */
  payload?: unknown;
  /** Not before this time (ms since the epoch). Default: now. */
  runAt?: number;
  /** Not before now + this (ms). Give `runAt` or `delayMs`, not both. */
  delayMs?: number;
  /** Higher first among due jobs. Integer in [-1000, 1000]. Default 0. */
  priority?: number;
  /** Attempts before the job is `dead`. Integer in [1, 100]. Default: the queue's (5). */
  maxAttempts?: number;
  /** One attempt may take this long (ms, [1, 86 400 000]) before it is aborted and counted as failed. Default: the queue's (5 min). */
  timeoutMs?: number;
  /**
   * At most one job per key, ever (until the job is pruned): enqueueing again returns the existing job
   * (`created: false`) and changes nothing. 1 to 200 characters.
   */
  dedupeKey?: string;
  /** Jobs that belong together (one rights request). 1 to 200 characters. */
  groupId?: string;
  /** Run only after all of these jobs succeeded (they must exist and not be cancelled). At most 1000. */
  after?: readonly string[];
}

export interface EnqueueResult {
  job: Job;
  /** False when a job with the same `dedupeKey` existed (and is returned instead). */
  created: boolean;
}

/** Proof that a worker holds a job: every write of a running attempt is fenced by it. */
export interface JobLease {
  jobId: string;
  workerId: string;
  /** The attempt number (the job's `attempts` when it was claimed). */
  attempt: number;
}

export interface ClaimedJob {
  job: Job;
  lease: JobLease;
}
