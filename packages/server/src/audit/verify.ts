/**
 * Verification: recompute the chain and name the first sequence number where it breaks.
 *
 * What it detects, and how it is reported (`firstBrokenSeq`, `reason`):
 * - a changed field of any row (including `hash` or `seq`) → that row, `hash` (or `prev_hash` when
 *   the row's link to its predecessor no longer holds, e.g. rows swapped);
 * - a deleted row → its sequence number, `missing`;
 * - rows cut off the end with the head row rewound → caught by any checkpoint beyond the new end
 *   (`missing` at the first absent seq), and in any case by a checkpoint the auditor kept;
 * - a head row that disagrees with the last row → `head`; rows beyond the head → `beyond_head`;
 * - a checkpoint whose hash differs from the recomputed chain → its seq, `checkpoint_hash`; a bad
 *   signature, or a key not among `trustedKeys` → its seq, `checkpoint_signature`.
 *
 * Rows are read in windows of `pageSize` sequence numbers by primary key, so memory stays flat and
 * the work is linear.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { AUDIT_HASH_FORMAT, computeAuditHash, GENESIS_HASH, sha256Hex } from './chain.js';
import { type Checkpoint, type CheckpointProblem, checkCheckpoint, checkpointKeyId, parseTrustedKeys } from './checkpoint.js';
import { AuditError } from './errors.js';
import { AUDIT_CHAIN, type ChainHead } from './records.js';
import type { AuditRecord } from './types.js';

export const VERIFY_PROBLEMS = ['missing', 'prev_hash', 'hash', 'head', 'beyond_head', 'checkpoint_hash', 'checkpoint_signature'] as const;
export type VerifyProblem = (typeof VERIFY_PROBLEMS)[number];

export interface VerifyOptions {
  /** First sequence number to check. Default 1. */
  from?: number;
  /**
   * Last sequence number to check. Default: the head. A `to` beyond the last event, or a `from` beyond
   * the last event + 1, is `invalid_argument` (never a broken chain).
   */
  to?: number;
  /** Rows read per query. Default 2000. */
  pageSize?: number;
  /**
   * Checkpoint public keys the auditor trusts: the base64 of the raw 32-byte Ed25519 key each (what
   * `CheckpointSigner.publicKey` gives); anything else is `invalid_key` before anything is read.
   * Given, a checkpoint signed by another key is a failure; not given, signatures are checked against
   * the key stored with the checkpoint.
   */
  trustedKeys?: readonly string[];
  /** Called after each page. */
  onProgress?: (progress: { checked: number; seq: number; to: number }) => void;
}

export interface VerifyResult {
  ok: boolean;
  /** Events recomputed. */
  checked: number;
  from: number;
  to: number;
  /** The chain head when verification started. */
  head: ChainHead;
  /** False when `from` > 1 and the event before it is absent: the first event's `prev_hash` was taken on trust. */
  anchored: boolean;
  /** Checkpoints in the range whose hash and signature were checked. */
  checkpoints: number;
  /** Highest checkpoint in the range that verified: history up to it is vouched for by a signature. */
  signedThrough: number | null;
  firstBrokenSeq?: number;
  reason?: VerifyProblem;
  /** English explanation of `reason`. */
  message?: string;
}

export interface Problem {
  seq: number;
  reason: VerifyProblem;
  message: string;
}

const SIGNATURE_TEXT: Record<Exclude<CheckpointProblem, 'untrusted_key'>, string> = {
  bad_signature: 'the signature does not verify',
  key_id_mismatch: 'its key id does not match its public key',
  malformed: 'its public key is malformed',
};

/** Why a checkpoint failed; for a well-formed signature by another key, which key, and which were trusted. */
function checkpointText(cp: Checkpoint, problem: CheckpointProblem, trusted: readonly Buffer[]): string {
  if (problem !== 'untrusted_key') return `checkpoint at seq ${cp.seq}: ${SIGNATURE_TEXT[problem]}`;
  const ids = trusted.map((k) => checkpointKeyId(k)).join(', ');
  return (
    `checkpoint at seq ${cp.seq} is not signed by a trusted key: its key is ${checkpointKeyId(Buffer.from(cp.publicKey, 'base64'))}, ` +
    `the trusted ${trusted.length === 1 ? 'key is' : 'keys are'} ${ids === '' ? 'none' : ids}`
  );
}

/**
 * Checks records fed in order; shared by database verification and offline export verification.
 */
export class ChainChecker {
  #expectedSeq: number;
  #prev: string;
  #checked = 0;
  #checkpoints = new Map<number, Checkpoint>();
  #checkpointsOk = 0;
  #signedThrough: number | null = null;
  #problem: Problem | null = null;

  constructor(from: number, anchorHash: string, checkpoints: readonly Checkpoint[], trustedKeys?: readonly string[]) {
    this.#expectedSeq = from;
    this.#prev = anchorHash;
    const trusted = trustedKeys === undefined ? [] : parseTrustedKeys(trustedKeys);
    for (const cp of [...checkpoints].sort((a, b) => a.seq - b.seq)) {
      const bad = checkCheckpoint(cp, trustedKeys);
      if (bad !== null) {
        this.#fail({ seq: cp.seq, reason: 'checkpoint_signature', message: checkpointText(cp, bad, trusted) });
        break;
      }
      this.#checkpoints.set(cp.seq, cp);
    }
  }

  get problem(): Problem | null {
    return this.#problem;
  }
  get checked(): number {
    return this.#checked;
  }
  get lastHash(): string {
    return this.#prev;
  }
  get nextSeq(): number {
    return this.#expectedSeq;
  }
  get checkpointsVerified(): number {
    return this.#checkpointsOk;
  }
  get signedThrough(): number | null {
    return this.#signedThrough;
  }

  #fail(problem: Problem): void {
    if (this.#problem === null || problem.seq < this.#problem.seq) this.#problem = problem;
  }

  /** Feed the next record; false once the chain is broken (stop feeding). */
  push(r: AuditRecord): boolean {
    return this.#link(Number(r.seq), r.prev_hash, r.hash, () => computeAuditHash(r));
  }

  /** Feed the next event as the database assembled it: seq, prev_hash, hash and the full hash input text. */
  pushAssembled(seq: number, prevHash: string, storedHash: string, hashInput: string): boolean {
    return this.#link(seq, prevHash, storedHash, () => sha256Hex(hashInput));
  }

  #link(seq: number, prevHash: string, storedHash: string, recompute: () => string): boolean {
    if (this.#problem !== null && this.#problem.seq <= seq) return false;
    if (seq !== this.#expectedSeq) {
      this.#fail({
        seq: this.#expectedSeq,
        reason: 'missing',
        message: seq > this.#expectedSeq ? `event ${this.#expectedSeq} is missing` : `event ${seq} is out of order`,
      });
      return false;
    }
    if (prevHash !== this.#prev) {
      this.#fail({ seq, reason: 'prev_hash', message: `event ${seq} does not link to the event before it (prev_hash differs)` });
      return false;
    }
    const hash = recompute();
    if (hash !== storedHash) {
      this.#fail({ seq, reason: 'hash', message: `event ${seq} was altered (its hash does not match its content)` });
      return false;
    }
    const cp = this.#checkpoints.get(seq);
    if (cp !== undefined) {
      if (cp.hash !== hash) {
        this.#fail({ seq, reason: 'checkpoint_hash', message: `the chain at ${seq} differs from the signed checkpoint` });
        return false;
      }
      this.#checkpointsOk++;
      this.#signedThrough = seq;
    }
    this.#prev = hash;
    this.#expectedSeq = seq + 1;
    this.#checked++;
    return true;
  }

  /** After the last record: everything up to `to` must have been seen, and checkpoints beyond it explained. */
  finish(to: number): void {
    if (this.#expectedSeq <= to) {
      this.#fail({ seq: this.#expectedSeq, reason: 'missing', message: `event ${this.#expectedSeq} is missing` });
    }
  }

  /** Checkpoints that lie beyond the end of the chain (its tail was cut off). */
  checkpointsBeyond(seq: number): Checkpoint[] {
    return [...this.#checkpoints.values()].filter((cp) => cp.seq > seq);
  }
}

/** F(column) of chain.ts, computed by the database. */
function fieldSql(column: keyof AuditRecord, kind: 'int' | 'text' | 'nullable'): RawBuilder<string> {
  const c = sql.ref(column);
  const nullable = kind === 'nullable';
  const value = kind === 'int' ? sql`cast(${c} as text)` : c;
  const encoded = sql`cast(octet_length(${value}) as text) || ':' || ${value}`;
  return nullable ? sql<string>`case when ${c} is null then '-' else ${encoded} end` : sql<string>`${encoded}`;
}

/**
 * The hash input of chain.ts, assembled by the database (SQLite and PostgreSQL alike): one string per
 * row crosses into JS instead of fourteen values, which more than doubles verification speed. The
 * database must use UTF-8 (octet_length counts UTF-8 bytes). Tests verify it agrees with
 * `auditHashInput` on both dialects: any difference would fail every event.
 */
const hashInputSql: RawBuilder<string> = sql<string>`cast(${`${AUDIT_HASH_FORMAT}\n`} as text) || ${sql.join(
  (
    [
      ['seq', 'int'],
      ['at', 'int'],
      ['actor', 'text'],
      ['action', 'text'],
      ['app_id', 'nullable'],
      ['subject_pseudonym', 'nullable'],
      ['categories', 'text'],
      ['purpose', 'nullable'],
      ['outcome', 'text'],
      ['count', 'int'],
      ['request_id', 'nullable'],
      ['details', 'nullable'],
      ['prev_hash', 'text'],
    ] as const
  ).map(([c, kind]) => fieldSql(c, kind)),
  sql` || `,
)}`;

/** One string per row: fewer values to cross into JS (each costs more than the bytes in it). */
const packedSql: RawBuilder<string> = sql<string>`${sql.ref('hash')} || ${sql.ref('prev_hash')} || ${hashInputSql}`;

const INPUT_PREFIX = `${AUDIT_HASH_FORMAT}\n`;
const INPUT_PREFIX_LENGTH = INPUT_PREFIX.length;

/** The seq written at the start of a hash input (`pipa-audit-v1\n<len>:<seq>…`). */
function seqOfInput(input: string): number {
  const colon = input.indexOf(':', INPUT_PREFIX_LENGTH);
  const length = Number(input.slice(INPUT_PREFIX_LENGTH, colon));
  return Number(input.slice(colon + 1, colon + 1 + length));
}

/** `verify: <name> <value> <problem>`, with the option and the problem apart for callers that name the option their way. */
function badArgument(name: string, value: unknown, problem: string, problemZh: string): AuditError {
  return new AuditError(
    'invalid_argument',
    `verify: ${name} ${String(value)} ${problem}`,
    `verify：${name} ${String(value)} ${problemZh}`,
    {
      argument: { name, problem, problemZh },
    },
  );
}

/** An optional integer option of at least `min`. */
function integerOption(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw badArgument(name, value, `must be an integer >= ${min}`, `必须是不小于 ${min} 的整数`);
  }
  return value;
}

export async function verifyAuditChain(db: Kysely<Schema>, options: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = integerOption('pageSize', options.pageSize, 1) ?? 2000;
  const fromOption = integerOption('from', options.from, 1);
  const toOption = integerOption('to', options.to, 1);
  if (toOption !== undefined && toOption < (fromOption ?? 1)) {
    throw badArgument('to', toOption, `is before from (${fromOption ?? 1})`, `小于 from（${fromOption ?? 1}）`);
  }
  // Before anything is read: a key that is not one would otherwise report every checkpoint as untrusted.
  if (options.trustedKeys !== undefined) parseTrustedKeys(options.trustedKeys);
  // Head, last row and checkpoints from one snapshot, so appends during verification do not look like tampering.
  const snapshot = await withTransaction(
    db,
    async (trx) => {
      const head = await trx.selectFrom('chain_heads').select(['seq', 'hash']).where('chain', '=', AUDIT_CHAIN).executeTakeFirst();
      const max = await trx
        .selectFrom('audit_events')
        .select((eb) => eb.fn.max('seq').as('max'))
        .executeTakeFirst();
      const checkpoints = await trx.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
      return { head, max: max?.max === null || max?.max === undefined ? 0 : Number(max.max), checkpoints };
    },
    { readOnly: true, isolation: 'repeatable read' },
  );
  if (snapshot.head === undefined) throw new Error('chain head "audit" is missing: run the migrations');
  const head: ChainHead = { seq: Number(snapshot.head.seq), hash: snapshot.head.hash };
  const lastRow = Math.max(head.seq, snapshot.max);
  // A range must lie within the log: a start beyond it has no anchor (the chain head would be compared
  // with nothing and look broken), an end beyond it was cut short silently. Either is the caller's
  // mistake, not a finding about the log. `from` = the end + 1 is an empty range that still checks the
  // head against the last event (an incremental check with nothing new).
  const end =
    lastRow === head.seq
      ? { en: `the head (${head.seq})`, zh: `链头（${head.seq}）` }
      : { en: `the last event (${lastRow})`, zh: `最后一个事件（${lastRow}）` };
  if (fromOption !== undefined && fromOption > lastRow + 1) {
    throw badArgument('from', fromOption, `is beyond ${end.en}`, `超出${end.zh}`);
  }
  if (toOption !== undefined && toOption > lastRow) {
    throw badArgument('to', toOption, `is beyond ${end.en}`, `超出${end.zh}`);
  }
  const from = fromOption ?? 1;
  const to = toOption ?? lastRow;
  // Checkpoints beyond the last row count only when the range runs to the end (they reveal a cut-off tail).
  const checkpoints: Checkpoint[] = snapshot.checkpoints
    .filter((c) => c.seq >= from && (to === lastRow || c.seq <= to))
    .map((c) => ({ seq: Number(c.seq), hash: c.hash, at: Number(c.at), keyId: c.key_id, publicKey: c.public_key, signature: c.signature }));

  let anchor = GENESIS_HASH;
  let anchored = true;
  if (from > 1) {
    const before = await db
      .selectFrom('audit_events')
      .select(['hash'])
      .where('seq', '=', from - 1)
      .executeTakeFirst();
    if (before !== undefined) anchor = before.hash;
    else {
      const first = await db.selectFrom('audit_events').select(['prev_hash']).where('seq', '=', from).executeTakeFirst();
      anchor = first?.prev_hash ?? GENESIS_HASH;
      anchored = false;
    }
  }

  const checker = new ChainChecker(from, anchor, checkpoints, options.trustedKeys);
  let cursor = from;
  // A checkpoint with a bad signature is a problem at its seq; events before it are still checked.
  while (cursor <= to && (checker.problem === null || checker.problem.seq > cursor)) {
    // A window of sequence numbers, not just a LIMIT: with `seq <= to` alone, PostgreSQL without fresh
    // statistics reads the whole rest of the range for every page and sorts it (quadratic).
    const rows = await db
      .selectFrom('audit_events')
      .select(packedSql.as('x'))
      .where('seq', '>=', cursor)
      .where('seq', '<=', Math.min(to, cursor + pageSize - 1))
      .orderBy('seq')
      .execute();
    if (rows.length === 0) break;
    let last = cursor;
    for (const { x } of rows) {
      // hash (64) || prev_hash (64) || hash input. A hash or prev_hash of another length (tampered)
      // misaligns the slices: read that row's columns one by one, so the right reason is named.
      if (x.startsWith(INPUT_PREFIX, 128)) {
        const input = x.slice(128);
        last = seqOfInput(input);
        if (!checker.pushAssembled(last, x.slice(64, 128), x.slice(0, 64), input)) break;
        continue;
      }
      const start = x.indexOf(INPUT_PREFIX);
      const input = start < 0 ? '' : x.slice(start);
      last = start < 0 ? Number.NaN : seqOfInput(input);
      const stored = Number.isSafeInteger(last)
        ? await db.selectFrom('audit_events').select(['hash', 'prev_hash']).where('seq', '=', last).executeTakeFirst()
        : undefined;
      if (!checker.pushAssembled(last, stored?.prev_hash ?? '', stored?.hash ?? '', input)) break;
    }
    cursor = last + 1;
    options.onProgress?.({ checked: checker.checked, seq: cursor - 1, to });
  }
  checker.finish(to);

  let problem = checker.problem;
  if (problem === null && to === lastRow) {
    if (snapshot.max > head.seq) {
      problem = {
        seq: head.seq + 1,
        reason: 'beyond_head',
        message: `event ${head.seq + 1} exists but the chain head stops at ${head.seq}`,
      };
    } else if (head.seq > 0 && checker.lastHash !== head.hash) {
      problem = { seq: head.seq, reason: 'head', message: `the chain head does not match event ${head.seq}` };
    } else {
      const beyond = checker.checkpointsBeyond(head.seq);
      if (beyond.length > 0) {
        problem = {
          seq: head.seq + 1,
          reason: 'missing',
          message: `a signed checkpoint vouches for event ${beyond[0]?.seq} but the chain ends at ${head.seq}: events were removed`,
        };
      }
    }
  }
  const result: VerifyResult = {
    ok: problem === null,
    checked: checker.checked,
    from,
    to,
    head,
    anchored,
    checkpoints: checker.checkpointsVerified,
    signedThrough: checker.signedThrough,
  };
  if (problem !== null) {
    result.firstBrokenSeq = problem.seq;
    result.reason = problem.reason;
    result.message = problem.message;
  }
  return result;
}
