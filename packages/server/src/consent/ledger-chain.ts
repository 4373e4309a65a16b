/**
 * The consent ledger's hash chain, `pipa-consent-v1` (chain `consent` in `chain_heads`). Like the audit
 * log's chain (audit/chain.ts), simple enough to re-implement from this comment alone:
 *
 *   hash(n) = lower-case hex SHA-256 of the UTF-8 bytes of
 *     "pipa-consent-v1\n" || F(seq) || F(id) || F(app_id) || F(subject_id) || F(purpose) || F(recipient)
 *       || F(action) || F(separate) || F(method) || F(guardian) || F(policy_version) || F(evidence_hash)
 *       || F(at) || F(prev_hash)
 *   F(null)  = "-"
 *   F(value) = <length of value in UTF-8 bytes, decimal> ":" <value>
 *
 * Integers (seq, separate 0/1, at) in decimal; `guardian` is canonical JSON (sorted keys, no spaces;
 * PostgreSQL's jsonb may store it reformatted, so it is re-canonicalised before hashing); prev_hash of
 * the first event is 64 zeros.
 *
 * `verifyConsentChain` recomputes the chain in pages by seq and names the first broken sequence
 * number: a changed field → `hash`; a row whose link to its predecessor no longer holds → `prev_hash`;
 * a deleted row → `missing`; a head that disagrees with the last row → `head`; rows beyond the head →
 * `beyond_head`.
 */
import type { Kysely } from 'kysely';
import { canonicalJson, GENESIS_HASH, sha256Hex } from '../audit/chain.js';
import { type ChainHead, moveHead, readHead } from '../audit/records.js';
import type { Capabilities } from '../store/capabilities.js';
import type { Row, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';

export const CONSENT_CHAIN = 'consent';
export const CONSENT_HASH_FORMAT = 'pipa-consent-v1';
const PREFIX = `${CONSENT_HASH_FORMAT}\n`;

function field(value: string | null): string {
  return value === null ? '-' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

export type ConsentRow = Row<'consent_events'>;

/** The stored guardian JSON in canonical form (null stays null). */
export function canonicalGuardian(stored: string | null): string | null {
  if (stored === null) return null;
  return canonicalJson(JSON.parse(stored) as unknown);
}

export function consentHashInput(r: Omit<ConsentRow, 'hash'>): string {
  return (
    PREFIX +
    field(String(r.seq)) +
    field(r.id) +
    field(r.app_id) +
    field(r.subject_id) +
    field(r.purpose) +
    field(r.recipient) +
    field(r.action) +
    field(String(r.separate)) +
    field(r.method) +
    field(canonicalGuardian(r.guardian)) +
    field(r.policy_version) +
    field(r.evidence_hash) +
    field(String(r.at)) +
    field(r.prev_hash)
  );
}

export function computeConsentHash(r: Omit<ConsentRow, 'hash'>): string {
  return sha256Hex(consentHashInput(r));
}

/** The consent chain's head: a chain head like the audit log's (`chain_heads`, audit/records.ts). */
export type ConsentHead = ChainHead;

/**
 * Number, hash and insert rows at the end of the chain, and move the head. Must run inside the
 * caller's transaction; on PostgreSQL the head row stays locked until it ends, so appends from any
 * number of processes form one chain and commit in sequence order.
 */
export async function appendConsentRows(
  trx: Kysely<Schema>,
  caps: Capabilities,
  rows: readonly Omit<ConsentRow, 'seq' | 'prev_hash' | 'hash'>[],
  now: number,
): Promise<ConsentRow[]> {
  const head = await readHead(trx, caps, CONSENT_CHAIN, true);
  let seq = head.seq;
  let prev = head.hash;
  const out: ConsentRow[] = [];
  for (const r of rows) {
    seq++;
    const guardian = r.guardian === null ? null : canonicalGuardian(r.guardian);
    const base = { ...r, guardian, seq, prev_hash: prev };
    const hash = computeConsentHash(base);
    out.push({ ...base, hash });
    prev = hash;
  }
  if (out.length > 0) {
    await trx.insertInto('consent_events').values(out).execute();
    await moveHead(trx, caps, CONSENT_CHAIN, { seq, hash: prev }, now);
  }
  return out;
}

export const CONSENT_VERIFY_PROBLEMS = ['missing', 'prev_hash', 'hash', 'head', 'beyond_head'] as const;
export type ConsentVerifyProblem = (typeof CONSENT_VERIFY_PROBLEMS)[number];

export interface ConsentVerifyResult {
  ok: boolean;
  /** Events recomputed. */
  checked: number;
  head: ConsentHead;
  firstBrokenSeq?: number;
  reason?: ConsentVerifyProblem;
  /** English explanation. */
  message?: string;
}

/** Recompute the whole consent chain; name the first broken sequence number. */
export async function verifyConsentChain(db: Kysely<Schema>, options: { pageSize?: number } = {}): Promise<ConsentVerifyResult> {
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? 2000));
  // Head and last row from one snapshot, so appends during verification do not look like tampering.
  const snapshot = await withTransaction(
    db,
    async (trx) => {
      const head = await trx.selectFrom('chain_heads').select(['seq', 'hash']).where('chain', '=', CONSENT_CHAIN).executeTakeFirst();
      const max = await trx
        .selectFrom('consent_events')
        .select((eb) => eb.fn.max('seq').as('max'))
        .executeTakeFirst();
      return { head, max: max?.max === null || max?.max === undefined ? 0 : Number(max.max) };
    },
    { readOnly: true, isolation: 'repeatable read' },
  );
  if (snapshot.head === undefined) throw new Error(`chain head "${CONSENT_CHAIN}" is missing: run the migrations`);
  const head: ConsentHead = { seq: Number(snapshot.head.seq), hash: snapshot.head.hash };
  const to = Math.max(head.seq, snapshot.max);
  let expected = 1;
  let prev = GENESIS_HASH;
  let checked = 0;
  const broken = (seq: number, reason: ConsentVerifyProblem, message: string): ConsentVerifyResult => ({
    ok: false,
    checked,
    head,
    firstBrokenSeq: seq,
    reason,
    message,
  });
  while (expected <= to) {
    const rows = await db
      .selectFrom('consent_events')
      .selectAll()
      .where('seq', '>=', expected)
      .where('seq', '<=', to)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expected) return broken(expected, 'missing', `consent event ${expected} is missing`);
      if (r.prev_hash !== prev) return broken(seq, 'prev_hash', `consent event ${seq} does not link to event ${seq - 1}`);
      let recomputed: string;
      try {
        recomputed = computeConsentHash({ ...r, seq, at: Number(r.at) });
      } catch {
        return broken(seq, 'hash', `consent event ${seq} holds a guardian field that is not JSON`);
      }
      if (recomputed !== r.hash) return broken(seq, 'hash', `consent event ${seq} was changed after it was written`);
      prev = r.hash;
      checked++;
      expected++;
    }
  }
  if (expected <= head.seq) return broken(expected, 'missing', `consent event ${expected} is missing`);
  if (snapshot.max > head.seq) {
    return broken(head.seq + 1, 'beyond_head', `consent events after ${head.seq} exist but the chain head does not include them`);
  }
  if (head.seq > 0 && prev !== head.hash) return broken(head.seq, 'head', `the consent chain head does not match event ${head.seq}`);
  return { ok: true, checked, head };
}
