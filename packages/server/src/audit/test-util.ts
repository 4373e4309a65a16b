/**
 * Shared by the audit tests (and the audit bench): a pseudonymiser, a clock, a signer, sample
 * events, and the raw SQL that plays the part of someone with write access to the database.
 * Not exported from the package.
 */
import { type Kysely, sql } from 'kysely';
import { createPseudonymizer, type Pseudonymizer } from '../crypto/pseudonym.js';
import { capabilitiesOfKysely } from '../store/capabilities.js';
import type { Schema } from '../store/schema.js';
import { type AuditLog, type AuditLogOptions, createAuditLog } from './audit-log.js';
import { type CheckpointSigner, createCheckpointSigner } from './checkpoint.js';
import type { AuditEventInput, Clock } from './types.js';

export const T0 = 1_718_000_000_000;

export const testPseudonyms: Pseudonymizer = createPseudonymizer({ auditKey: Buffer.alloc(32, 1), sharingKey: Buffer.alloc(32, 2) });

/** Starts at T0 and moves 1 ms per call: every `at` differs, and tests are deterministic. */
export function steppingClock(start = T0): Clock & { readonly last: number } {
  let t = start;
  return {
    now: () => ++t,
    get last() {
      return t;
    },
  };
}

export function testSigner(fill = 7): CheckpointSigner {
  return createCheckpointSigner(Buffer.alloc(32, fill));
}

export function testAuditLog(db: Kysely<Schema>, options: Partial<AuditLogOptions> = {}): AuditLog {
  return createAuditLog({
    db,
    clock: steppingClock(),
    pseudonymise: (id) => testPseudonyms.audit(id),
    signer: testSigner(),
    ...options,
  });
}

/** A varied event: Chinese and emoji text, nulls, categories, details, other outcomes and counts. */
export function sampleEvent(i: number): AuditEventInput {
  const kinds = ['vault.read', 'vault.write', 'consent.grant', 'decision', 'rights.step'] as const;
  const event: AuditEventInput = {
    actor: i % 7 === 0 ? 'system' : `key_${i % 3}`,
    action: kinds[i % kinds.length] as string,
    appId: i % 5 === 4 ? null : 'xiaopiaopiao',
    subject: i % 4 === 3 ? null : `sub_${i % 6}`,
    categories: i % 2 === 0 ? ['contact.phone', 'basic.name'] : [],
    purpose: i % 3 === 0 ? '购票' : null,
    outcome: i % 11 === 10 ? 'denied' : 'ok',
    count: i % 13 === 12 ? 37 : 1,
    requestId: `req_${i}`,
  };
  if (i % 2 === 1) event.details = { field: 'phone', note: '客服查询 🎫', n: i, nested: { z: 1, a: [true, null, 1.5] } };
  return event;
}

export function sampleEvents(count: number, offset = 0): AuditEventInput[] {
  return Array.from({ length: count }, (_, i) => sampleEvent(offset + i));
}

/** Run one statement as an attacker with database access would. */
export async function tamper(db: Kysely<Schema>, statement: string): Promise<void> {
  await sql.raw(statement).execute(db);
}

/** Empty the audit log (rows, checkpoints, head) so one database serves many tests. */
export async function resetAudit(db: Kysely<Schema>): Promise<void> {
  await db.deleteFrom('audit_events').execute();
  await db.deleteFrom('audit_checkpoints').execute();
  await db
    .updateTable('chain_heads')
    .set({ seq: 0, hash: '0'.repeat(64), updated_at: 0 })
    .where('chain', '=', 'audit')
    .execute();
}

/** Make every insert of an event whose actor is `boom` fail (to make a whole batch fail). */
export async function installFailingTrigger(db: Kysely<Schema>): Promise<void> {
  if (capabilitiesOfKysely(db).dialect === 'sqlite') {
    await tamper(
      db,
      `create trigger audit_boom before insert on audit_events when new.actor = 'boom' begin select raise(abort, 'boom'); end`,
    );
    return;
  }
  await tamper(
    db,
    `create function audit_boom() returns trigger language plpgsql as $$ begin if new.actor = 'boom' then raise exception 'boom'; end if; return new; end $$`,
  );
  await tamper(db, 'create trigger audit_boom before insert on audit_events for each row execute function audit_boom()');
}
