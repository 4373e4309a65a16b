/**
 * Subjects: accounts and devices (ids `sub_…`), their status and date of birth, device-to-account
 * links. Owned by the consent area; used by the vault and rights services. See service.ts.
 */

export { BIRTH_DATE, EXTERNAL_ID, inRequest, SUBJECT_ID, Subject, subjectOut, subjectRoutes } from './routes.js';
export {
  checkBirthDate,
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
export { applySubjectRow, ensureSubjectSync, loadSubjectsIntoProjection, type SubjectSyncState, subjectSyncState } from './sync.js';
