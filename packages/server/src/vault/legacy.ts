/**
 * Conversion of the first storage layout (0001 `vault_fields`: one envelope per field, AAD naming the
 * category) to one record per subject (0011 `vault_records` + `vault_index`, record.ts). Runs when the
 * vault service starts, in batches of subjects, each batch in one transaction: read the subject's
 * field rows, decrypt each under its data key (keys loaded before the transaction), merge them into
 * the subject's record (a value already in the record is newer and wins), seal the record, copy the
 * blind indexes, delete the field rows. Idempotent and resumable: a batch that fails leaves its rows
 * for the next start, and several nodes converting at once only repeat work (rows are deleted in the
 * transaction that writes the record; a record written meanwhile is merged, not overwritten).
 *
 * Rows that cannot be decrypted (key shredded, envelope altered) are left in place and counted: they
 * are evidence of something, not data to drop silently.
 */
import type { ServiceContext } from '../service/context.js';
import { withTransaction } from '../store/transaction.js';
import { envelopeSuite, loadDataKeys, manifestOf, openRecord, type RecordFields, sealRecord } from './record.js';

export interface ConversionResult {
  subjects: number;
  fields: number;
  /** Field rows left because they could not be decrypted. */
  unreadable: number;
}

const BATCH = 200;

export async function convertLegacyFields(ctx: ServiceContext): Promise<ConversionResult> {
  const result: ConversionResult = { subjects: 0, fields: 0, unreadable: 0 };
  let after = '';
  for (;;) {
    const batch = await ctx.db
      .selectFrom('vault_fields')
      .select(['subject_id', 'app_id'])
      .distinct()
      .where('subject_id', '>', after)
      .orderBy('subject_id')
      .limit(BATCH)
      .execute();
    if (batch.length === 0) return result;
    after = batch[batch.length - 1]?.subject_id ?? after;
    const byApp = new Map<string, string[]>();
    for (const r of batch) byApp.set(r.app_id, [...(byApp.get(r.app_id) ?? []), r.subject_id]);
    for (const [appId, ids] of byApp) {
      const keys = await loadDataKeys(ctx, appId, ids);
      await withTransaction(ctx.db, async (trx) => {
        const rows = await trx
          .selectFrom('vault_fields')
          .selectAll()
          .where('app_id', '=', appId)
          .where('subject_id', 'in', ids)
          .orderBy('subject_id')
          .execute();
        const records = new Map(
          (await trx.selectFrom('vault_records').selectAll().where('subject_id', 'in', ids).execute()).map((r) => [r.subject_id, r]),
        );
        const bySubject = new Map<string, typeof rows>();
        for (const r of rows) bySubject.set(r.subject_id, [...(bySubject.get(r.subject_id) ?? []), r]);
        for (const [subjectId, own] of bySubject) {
          const dek = keys.get(subjectId);
          if (dek === undefined) {
            result.unreadable += own.length;
            continue;
          }
          const existing = records.get(subjectId);
          let fields: RecordFields;
          const converted: typeof own = [];
          try {
            fields = existing === undefined ? new Map() : openRecord(ctx, dek, appId, subjectId, existing.envelope);
          } catch {
            result.unreadable += own.length;
            continue;
          }
          let suite = existing === undefined ? undefined : envelopeSuite(existing.envelope);
          for (const f of own) {
            let value: string;
            try {
              value = ctx.cipher(ctx.suite).decryptString(dek, f.ciphertext, { app: appId, subject: subjectId, field: f.category });
            } catch {
              result.unreadable++;
              continue;
            }
            suite ??= envelopeSuite(f.ciphertext);
            converted.push(f);
            if (!fields.has(f.category)) {
              fields.set(f.category, { value, createdAt: Number(f.created_at), updatedAt: Number(f.updated_at) });
              if (f.blind_index !== null) {
                await trx
                  .insertInto('vault_index')
                  .values({ subject_id: subjectId, category: f.category, app_id: appId, blind_index: f.blind_index })
                  .onConflict((oc) => oc.columns(['subject_id', 'category']).doNothing())
                  .execute();
              }
            }
          }
          if (converted.length === 0 || suite === undefined) continue;
          const at = ctx.clock();
          const row = {
            envelope: sealRecord(ctx, suite, dek, appId, subjectId, fields),
            fields: manifestOf(fields),
            key_version: dek.version,
            updated_at: at,
          };
          if (existing === undefined) {
            await trx
              .insertInto('vault_records')
              .values({ subject_id: subjectId, app_id: appId, created_at: at, ...row })
              .execute();
          } else await trx.updateTable('vault_records').set(row).where('subject_id', '=', subjectId).execute();
          await trx
            .deleteFrom('vault_fields')
            .where('subject_id', '=', subjectId)
            .where(
              'category',
              'in',
              converted.map((f) => f.category),
            )
            .execute();
          result.subjects++;
          result.fields += converted.length;
        }
      });
    }
  }
}
