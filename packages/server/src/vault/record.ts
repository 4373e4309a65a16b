/**
 * A subject's vault record: every category it holds, each with its value and the times it was first
 * and last written, sealed as ONE envelope under the subject's data key (docs/vault.md "Storage
 * layout", docs/crypto.md §4).
 *
 *   plaintext = JSON { "<category>": [value, createdAt, updatedAt], ... }
 *   AAD       = envelope header || encodeContext("pipa/field/v1", [app, subject, "#record/v1"])
 *
 * One authenticated decryption per read and one encryption per write, instead of one per field: the
 * per-call cost of an AEAD (not the bytes) dominated both. The binding is as strict as before: an
 * envelope moved to another subject or app fails authentication, and the categories are inside the
 * authenticated plaintext, so nothing can be swapped between fields (`#record/v1` cannot collide with
 * a category id: those are lower-case ids without `#` or `/`).
 *
 * Beside the envelope, `vault_records.fields` lists the categories held and when each was last
 * written, without values, for what must run without the keys: the retention sweep's judgement, the
 * rights request's plan, the erasure receipt.
 */
import type { Kysely } from 'kysely';
import type { DataKey } from '../crypto/data-key.js';
import { parseEnvelope } from '../crypto/envelope.js';
import { isCryptoError } from '../crypto/errors.js';
import type { SuiteName } from '../crypto/suites.js';
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';

/** The AAD field name of a record envelope. */
export const RECORD_FIELD = '#record/v1';

export interface RecordField {
  value: string;
  createdAt: number;
  updatedAt: number;
}

/** Category -> field, in no particular order. */
export type RecordFields = Map<string, RecordField>;

/** Seal a record (fields in category order, so equal records give equal plaintexts). */
export function sealRecord(
  ctx: Pick<ServiceContext, 'cipher'>,
  suite: SuiteName,
  dek: DataKey,
  appId: string,
  subjectId: string,
  fields: RecordFields,
): Buffer {
  const out: Record<string, [string, number, number]> = {};
  for (const category of [...fields.keys()].sort()) {
    const f = fields.get(category) as RecordField;
    out[category] = [f.value, f.createdAt, f.updatedAt];
  }
  return ctx.cipher(suite).encrypt(dek, JSON.stringify(out), { app: appId, subject: subjectId, field: RECORD_FIELD });
}

/** The suite an envelope was sealed with (a rewrite keeps it). */
export function envelopeSuite(envelope: Uint8Array): SuiteName {
  return parseEnvelope(envelope).suite.name;
}

/** Why a record cannot be read, as an error that names the subject and says what happened. */
export function recordError(subjectId: string, reason: string, detail: string): PipaError {
  return new PipaError('internal', `the vault record of subject ${subjectId} cannot be decrypted: ${detail}`, [
    { path: '$.fields', message: detail, reason },
  ]);
}

/**
 * Open a record. Throws a PipaError (`internal`, naming the subject and the reason) when the key is
 * missing or destroyed or the envelope fails authentication.
 */
export function openRecord(
  ctx: Pick<ServiceContext, 'cipher' | 'suite'>,
  dek: DataKey | undefined,
  appId: string,
  subjectId: string,
  envelope: Uint8Array,
): RecordFields {
  if (dek === undefined) {
    throw recordError(
      subjectId,
      'key_missing',
      'its data key is gone (the subject was crypto-shredded, or the row was restored without its key)',
    );
  }
  let text: string;
  try {
    // The envelope names its suite; any field cipher opens it.
    text = ctx.cipher(ctx.suite).decryptString(dek, envelope, { app: appId, subject: subjectId, field: RECORD_FIELD });
  } catch (err) {
    if (isCryptoError(err)) {
      const detail =
        err.code === 'authentication_failed'
          ? 'the ciphertext failed authentication: it was altered, or moved from another subject'
          : err.code === 'key_destroyed'
            ? 'its data key was destroyed (crypto-shredded)'
            : `the ciphertext is unreadable (${err.code})`;
      throw recordError(subjectId, err.code, detail);
    }
    throw err;
  }
  const parsed = JSON.parse(text) as Record<string, [string, number, number]>;
  const fields: RecordFields = new Map();
  for (const category in parsed) {
    const f = parsed[category] as [string, number, number];
    fields.set(category, { value: f[0], createdAt: f[1], updatedAt: f[2] });
  }
  return fields;
}

/** The `fields` column: category -> last written, no values. */
export function manifestOf(fields: RecordFields): string {
  const out: Record<string, number> = {};
  for (const category of [...fields.keys()].sort()) out[category] = (fields.get(category) as RecordField).updatedAt;
  return JSON.stringify(out);
}

/** Parse the `fields` column. */
export function parseManifest(text: string): Map<string, number> {
  const parsed = JSON.parse(text) as Record<string, number>;
  return new Map(Object.entries(parsed).map(([c, at]) => [c, Number(at)]));
}

/** Categories held by these subjects (from the manifests: no key needed), sorted, distinct. */
export async function heldCategories(db: Kysely<Schema>, appId: string, subjectIds: readonly string[]): Promise<string[]> {
  if (subjectIds.length === 0) return [];
  const rows = await db
    .selectFrom('vault_records')
    .select('fields')
    .where('app_id', '=', appId)
    .where('subject_id', 'in', [...subjectIds])
    .execute();
  const out = new Set<string>();
  for (const r of rows) for (const c of parseManifest(r.fields).keys()) out.add(c);
  return [...out].sort();
}

/**
 * The data keys of these subjects (from the in-memory cache, else unwrapped from `data_keys` and
 * cached), for work outside the request path (retention, conversion). Subjects without a key are
 * absent. Call it before opening a transaction: unwrapping may call a KMS.
 */
export async function loadDataKeys(ctx: ServiceContext, appId: string, subjectIds: readonly string[]): Promise<Map<string, DataKey>> {
  const out = new Map<string, DataKey>();
  const missing: string[] = [];
  for (const s of new Set(subjectIds)) {
    const hit = ctx.dataKeys.get(appId, s);
    if (hit !== undefined) out.set(s, hit);
    else missing.push(s);
  }
  for (let i = 0; i < missing.length; i += 500) {
    const rows = await ctx.db
      .selectFrom('data_keys')
      .select(['subject_id', 'wrapped_dek'])
      .where('app_id', '=', appId)
      .where('subject_id', 'in', missing.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      const dek = await ctx.keyring.unwrapDataKey(r.wrapped_dek, { app: appId, subject: r.subject_id });
      ctx.dataKeys.set(appId, r.subject_id, dek);
      out.set(r.subject_id, dek);
    }
  }
  return out;
}

export interface RecordRemoval {
  subjectId: string;
  category: string;
  /** Removed only if the field was last written at exactly this time (else it was written again since). */
  updatedAt: number;
}

/**
 * Remove fields from records inside the caller's transaction (retention): open each record, drop the
 * fields whose last write is the one judged, seal the rest (same suite), delete their blind indexes;
 * a record left empty is deleted. Returns the removals done, as `subject\0category`. Keys come from
 * `loadDataKeys`, loaded before the transaction; a subject whose key is missing is skipped (its
 * record cannot be rewritten; its fields are reported as not removed).
 */
export async function removeFromRecords(
  ctx: ServiceContext,
  trx: Kysely<Schema>,
  appId: string,
  removals: readonly RecordRemoval[],
  keys: ReadonlyMap<string, DataKey>,
): Promise<Set<string>> {
  const done = new Set<string>();
  const bySubject = new Map<string, RecordRemoval[]>();
  for (const r of removals) bySubject.set(r.subjectId, [...(bySubject.get(r.subjectId) ?? []), r]);
  const ids = [...bySubject.keys()];
  const at = ctx.clock();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await trx
      .selectFrom('vault_records')
      .select(['subject_id', 'envelope', 'key_version'])
      .where('app_id', '=', appId)
      .where('subject_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const row of rows) {
      const dek = keys.get(row.subject_id);
      if (dek === undefined) continue;
      const fields = openRecord(ctx, dek, appId, row.subject_id, row.envelope);
      const gone: string[] = [];
      for (const r of bySubject.get(row.subject_id) ?? []) {
        const f = fields.get(r.category);
        if (f === undefined || f.updatedAt !== r.updatedAt) continue;
        fields.delete(r.category);
        gone.push(r.category);
      }
      if (gone.length === 0) continue;
      if (fields.size === 0) {
        await trx.deleteFrom('vault_records').where('subject_id', '=', row.subject_id).execute();
      } else {
        await trx
          .updateTable('vault_records')
          .set({
            envelope: sealRecord(ctx, envelopeSuite(row.envelope), dek, appId, row.subject_id, fields),
            fields: manifestOf(fields),
            key_version: dek.version,
            updated_at: at,
          })
          .where('subject_id', '=', row.subject_id)
          .execute();
      }
      await trx.deleteFrom('vault_index').where('subject_id', '=', row.subject_id).where('category', 'in', gone).execute();
      for (const c of gone) done.add(`${row.subject_id}\u0000${c}`);
    }
  }
  return done;
}

/** The categories one subject's record holds, sorted (no key needed; tests and tools). */
export async function recordCategories(db: Kysely<Schema>, subjectId: string): Promise<string[]> {
  const row = await db.selectFrom('vault_records').select('fields').where('subject_id', '=', subjectId).executeTakeFirst();
  return row === undefined ? [] : [...parseManifest(row.fields).keys()].sort();
}
