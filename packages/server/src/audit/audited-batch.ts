/**
 * The transaction of a group commit whose items are audited writes (store/group-commit.ts batches
 * them): the items' work in order, their audit events appended together.
 */
import type { Kysely } from 'kysely';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import type { AuditEventInput } from './types.js';

export interface AuditedBatchOptions<O> {
  /** Run last in the transaction, after the audit append (a notification, say). */
  finish?: (trx: Kysely<Schema>, results: readonly O[]) => Promise<void>;
  /** Where to run: the service's database (default, a transaction of its own) or a caller's transaction (joined). */
  db?: Kysely<Schema>;
}

/**
 * A batch's transaction for audited writes: `each` runs for every item in order, in one transaction,
 * collecting its audit events in `audits`; they are appended together (in order) before `finish`
 * and the commit. Returns the items' results; a retried transaction starts over with none.
 */
export async function auditedBatch<I, O>(
  ctx: Pick<ServiceContext, 'db' | 'audit'>,
  items: readonly I[],
  each: (trx: Kysely<Schema>, item: I, audits: AuditEventInput[]) => Promise<O>,
  options: AuditedBatchOptions<O> = {},
): Promise<O[]> {
  const { finish, db = ctx.db } = options;
  const results: O[] = [];
  await withTransaction(db, async (trx) => {
    results.length = 0;
    const audits: AuditEventInput[] = [];
    for (const item of items) results.push(await each(trx, item, audits));
    if (audits.length > 0) await ctx.audit.appendMany(trx, audits);
    await finish?.(trx, results);
  });
  return results;
}
