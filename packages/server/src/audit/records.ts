/** Reading audit rows back: stored record ↔ API event, and the chain head. */
import type { Kysely } from 'kysely';
import { type Capabilities, forUpdate } from '../store/capabilities.js';
import { type Prepared, param, prepare } from '../store/prepared.js';
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

interface HeadStatements {
  read: Prepared<'chain'>;
  lock: Prepared<'chain'>;
  move: Prepared<'seq' | 'hash' | 'at' | 'chain'>;
}

/**
 * The statements on `chain_heads` (the audit log's and the consent ledger's chains), compiled once
 * per engine: every append reads the head locked and moves it, and building these with Kysely cost
 * more than running them. One capability set per engine, and the SQL depends on nothing else (a
 * PostgreSQL schema is the connection's search_path).
 */
const headStatements = new WeakMap<Capabilities, HeadStatements>();

function headStatementsFor(db: Kysely<Schema>, caps: Capabilities): HeadStatements {
  let s = headStatements.get(caps);
  if (s === undefined) {
    const read = db.selectFrom('chain_heads').select(['seq', 'hash']).where('chain', '=', param('chain'));
    s = {
      read: prepare(read.compile(), ['chain']),
      lock: prepare(forUpdate(read, caps).compile(), ['chain']),
      move: prepare(
        db
          .updateTable('chain_heads')
          .set({ seq: param('seq') as unknown as number, hash: param('hash'), updated_at: param('at') as unknown as number })
          .where('chain', '=', param('chain'))
          .compile(),
        ['seq', 'hash', 'at', 'chain'],
      ),
    };
    headStatements.set(caps, s);
  }
  return s;
}

/** The head of a chain; with `lock`, locked until the transaction ends (PostgreSQL `FOR UPDATE`). */
export async function readHead(db: Kysely<Schema>, caps: Capabilities, chain: string, lock: boolean): Promise<ChainHead> {
  const s = headStatementsFor(db, caps);
  const row = (await db.executeQuery<{ seq: number | string; hash: string }>((lock ? s.lock : s.read).bind({ chain }))).rows[0];
  if (row === undefined) throw new Error(`chain head "${chain}" is missing: run the migrations`);
  return { seq: Number(row.seq), hash: row.hash };
}

/** Move a chain's head (inside the transaction that read it locked and appended up to it). */
export async function moveHead(db: Kysely<Schema>, caps: Capabilities, chain: string, head: ChainHead, at: number): Promise<void> {
  await db.executeQuery(headStatementsFor(db, caps).move.bind({ seq: head.seq, hash: head.hash, at, chain }));
}
