/**
 * The migrations, in order. A static list (no directory scanning), so the bundle, the tests and
 * `pipa migrate` see the same set whatever the working directory.
 *
 * To change the schema: add `NNNN_<what>.ts` (next number, frozen once released: it imports nothing
 * from the application) and one line below. Never edit or reorder a released migration.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_jobs.js';
import * as m0005 from './0005_core.js';
import * as m0006 from './0006_rights.js';
import * as m0007 from './0007_retention.js';
import * as m0008 from './0008_lawful_access.js';
import * as m0009 from './0009_legal_hold_manifest.js';
import * as m0010 from './0010_subject_activity.js';
import * as m0011 from './0011_vault_records.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': m0001,
  '0002_jobs': m0002,
  '0005_core': m0005,
  '0006_rights': m0006,
  '0007_retention': m0007,
  '0008_lawful_access': m0008,
  '0009_legal_hold_manifest': m0009,
  '0010_subject_activity': m0010,
  '0011_vault_records': m0011,
});
