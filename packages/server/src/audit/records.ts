/** Reading audit rows back: stored record ↔ API event, and the chain head. */
import type { Kysely } from 'kysely';
import { type Capabilities, forUpdate } from '../store/capabilities.js';
import type { Schema } from '../store/schema.js';
import type { AuditEvent, AuditRecord, JsonValue } from './types.js';

export const AUDIT_CHAIN = 'audit';

/** Column order of `audit_events` (and of the batch insert). */
export const AUDIT_COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'app_id',
  'subject_pseudonym',
  'categories',
  'purpose',
  'outcome',
  'count',
  'request_id',
  'details',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRecord)[];

export function recordToEvent(r: AuditRecord): AuditEvent {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    appId: r.app_id,
    subjectPseudonym: r.subject_pseudonym,
    categories: JSON.parse(r.categories) as string[],
    purpose: r.purpose,
    outcome: r.outcome,
    count: r.count,
    requestId: r.request_id,
    details: r.details === null ? null : (JSON.parse(r.details) as JsonValue),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The head of a chain; with `lock`, locked until the transaction ends (PostgreSQL `FOR UPDATE`). */
export async function readHead(db: Kysely<Schema>, caps: Capabilities, chain: string, lock: boolean): Promise<ChainHead> {
  const query = db.selectFrom('chain_heads').select(['seq', 'hash']).where('chain', '=', chain);
  const row = await (lock ? forUpdate(query, caps) : query).executeTakeFirst();
  if (row === undefined) throw new Error(`chain head "${chain}" is missing: run the migrations`);
  return { seq: Number(row.seq), hash: row.hash };
}
