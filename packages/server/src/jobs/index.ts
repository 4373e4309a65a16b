/**
 * @pipa/server jobs: the durable job queue and runner (rights-request tasks, retention sweeps, key
 * rotation). Enqueue inside the caller's transaction, idempotent by key, with dependencies; claim
 * with a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite one writer), heartbeat, timeout,
 * retries with exponential backoff and jitter, `dead` jobs for staff, recovery of jobs whose worker
 * died, graceful stop, exactly-once effects through `ctx.complete`. Design: docs/jobs.md.
 */
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, type ResolvedBackoff, resolveBackoff } from './backoff.js';
export { isJobError, JOB_ERROR_CODES, JobError, type JobErrorCode, JobHandlerError, type JobHandlerErrorOptions } from './errors.js';
export {
  type ClaimOptions,
  createJobQueue,
  type FailOptions,
  type FailOutcome,
  type GroupStatus,
  JOB_LIMITS,
  type JobCounts,
  type JobPage,
  type JobQueue,
  type JobQueueOptions,
  type ListJobsQuery,
} from './queue.js';
export {
  createJobRunner,
  describeFailure,
  type JobContext,
  type JobHandler,
  type JobHandlerDefinition,
  type JobHandlers,
  type JobRunner,
  type JobRunnerEvent,
  type JobRunnerOptions,
  type JobRunnerStats,
  type StopOnSignalsOptions,
  stopOnSignals,
} from './runner.js';
export {
  type ClaimedJob,
  type EnqueueResult,
  type EnqueueSpec,
  FINAL_JOB_STATES,
  JOB_FAILURE_KINDS,
  JOB_STATES,
  JOBS_CHANNEL,
  type Job,
  type JobClock,
  type JobFailure,
  type JobFailureKind,
  type JobJson,
  type JobLease,
  type JobState,
  systemJobClock,
} from './types.js';
