/**
 * Subjects: accounts and devices (ids `sub_…`), their status and date of birth, device-to-account
 * links, their last activity (activity.ts). Owned by the consent area; used by the vault and rights
 * services. See service.ts.
 */

export {
  ACTIVITY_CLOCK_SKEW_MS,
  advanceLastActivity,
  MAX_ACTIVITY_BATCH,
  recordSeenActivity,
  type SeenActivity,
} from './activity.js';
export { BIRTH_DATE, EXTERNAL_ID, inRequest, SUBJECT_ID, Subject, subjectOut, subjectRoutes } from './routes.js';
export {
  type ActivityEntry,
  type ActivityResult,
  checkBirthDate,
  createSubjectIdGenerator,
  createSubjectService,
  type EnsureSubjectInput,
  isSubjectId,
  newSubjectId,
  SUBJECT_KIND_VALUES,
  SUBJECT_STATUS_NAMES,
  type SubjectKindName,
  type SubjectRecord,
  type SubjectService,
  type SubjectStatusName,
  type SubjectWriteOptions,
  subjectFromRow,
} from './service.js';
export {
  applySubjectRow,
  ensureSubjectSync,
  loadSubjectsIntoProjection,
  refreshAfterCommit,
  type SubjectSyncState,
  subjectSyncState,
} from './sync.js';
