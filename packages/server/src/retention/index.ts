/**
 * @pipa/server retention: scheduled sweeps that delete or anonymise what the declaration no longer
 * allows to keep (PIPL 47, GB/T 35273 6.1): vault fields whose retention ended or whose consent was
 * withdrawn with no other basis covering them, and legally held dataset rows whose hold ended. Every
 * sweep reports what it removed. Design: docs/retention.md.
 */

export { datasetLimits } from './datasets.js';
export { RetentionReportSchema, retentionRoutes } from './routes.js';
export {
  addRetentionPeriod,
  compileRetention,
  coverageEnd,
  evaluateField,
  type FieldFacts,
  type FieldVerdict,
  type RetentionModel,
  type RetentionPurpose,
  type RetentionRule,
  type SubjectFacts,
} from './rules.js';
export {
  DEFAULT_SWEEP_OFFSET_MS,
  nextSweepSlot,
  RETENTION_JOB_ACTOR,
  RETENTION_JOB_KIND,
  type RetentionScheduleConfig,
  type RetentionScheduleOptions,
  retentionJobHandlers,
  scheduleRetentionSweep,
  startRetentionScheduler,
} from './schedule.js';
export { createRetentionService, MAX_REPORT_PAGE, type ReportPage, type RetentionService } from './service.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_DATASET_SUBJECTS,
  DEFAULT_MISSING_CONSENT_GRACE_MS,
  newSweepId,
  planSweep,
  retentionModelOf,
  runSweep,
} from './sweep.js';
export {
  DATASET_LIMIT_CODES,
  type DatasetLimit,
  type DatasetLimitCode,
  type DatasetSweep,
  type DatasetTableSweep,
  REMOVAL_REASONS,
  RETENTION_ACTIONS,
  type RemovalReason,
  type RetentionAction,
  type RetentionConnectorFactory,
  type RetentionDeps,
  type RetentionError,
  type RetentionRemoval,
  type RetentionReport,
  type RetentionReportSummary,
  type RetentionUnevaluated,
  type RunSweepOptions,
  SWEEP_TRIGGERS,
  type SweepOptions,
  type SweepTrigger,
} from './types.js';
