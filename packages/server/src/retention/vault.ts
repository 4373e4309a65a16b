/**
 * The vault part of a sweep: every field of the app (from the records' manifests: categories and
 * last-write times, no key needed), in batches of holders (subjects with a record), judged by
 * `evaluateField` with the person's facts read from the store (status, cancellation time, the consent
 * ledger folded per purpose, the last activity of the account and its devices, open rights requests).
 * A write run rewrites the records without the fields whose coverage ended (vault/record.ts
 * `removeFromRecords`) in one transaction per batch, with one `retention.remove` audit event per
 * subject that lost fields (categories, purposes, actions, reasons: never a value); a field written
 * again since it was read is left for the next sweep.
 */
import type { Kysely } from 'kysely';
import type { AuditEventInput } from '../audit/types.js';
import type { ConsentAction } from '../consent/types.js';
import type { DataKey } from '../crypto/data-key.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { loadDataKeys, parseManifest, removeFromRecords } from '../vault/record.js';
import { evaluateField, type RetentionModel, type SubjectFacts } from './rules.js';
import type { RemovalReason, RetentionAction, RetentionError } from './types.js';

export interface VaultRemoval {
  /** The subject holding the field (an account or a device). */
  holder: string;
  /** The person: the account a device is linked to, else the holder. */
  person: string;
  category: string;
  purpose: string | null;
  action: RetentionAction;
  reason: RemovalReason;
  rule: string | null;
}

export interface VaultSweepResult {
  persons: number;
  fields: number;
  deferred: number;
  removals: VaultRemoval[];
  errors: RetentionError[];
  aborted: boolean;
}

export interface VaultSweepInput {
  appId: string;
  model: RetentionModel;
  now: number;
  graceMs: number;
  batchSize: number;
  write: boolean;
  actor: string;
  sweepId: string | null;
  requestId: string | null;
  signal: AbortSignal | undefined;
  onError: ((err: unknown, where: string) => void) | undefined;
}

interface SubjectRow {
  id: string;
  linked_to: string | null;
  status: 'active' | 'frozen' | 'erased';
  frozen_at: number | null;
  erased_at: number | null;
  updated_at: number;
  /** The later of its creation and its last recorded activity. */
  active_at: number;
}

interface FieldRow {
  subject_id: string;
  category: string;
  updated_at: number;
}

interface BatchOutcome {
  persons: Set<string>;
  fields: number;
  deferred: Set<string>;
  removals: VaultRemoval[];
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A subject's last sign of life: its last recorded activity, or its creation when none was recorded. */
function activeAt(r: { created_at: unknown; last_active_at: unknown }): number {
  return Math.max(num(r.created_at), numOrNull(r.last_active_at) ?? 0);
}

function cancelledAt(r: SubjectRow): number | null {
  if (r.status === 'active') return null;
  if (r.status === 'frozen') return r.frozen_at ?? r.updated_at;
  return r.erased_at ?? r.frozen_at ?? r.updated_at;
}

async function subjectRows(db: Kysely<Schema>, appId: string, ids: readonly string[]): Promise<SubjectRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('subjects')
    .select(['id', 'linked_to', 'status', 'frozen_at', 'erased_at', 'updated_at', 'created_at', 'last_active_at'])
    .where('app_id', '=', appId)
    .where('id', 'in', [...ids])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    linked_to: r.linked_to,
    status: r.status,
    frozen_at: numOrNull(r.frozen_at),
    erased_at: numOrNull(r.erased_at),
    updated_at: num(r.updated_at),
    active_at: activeAt(r),
  }));
}

/** Read one batch of holders and judge their fields; remove them when `write` (inside `db`'s transaction). */
async function judgeBatch(
  db: Kysely<Schema>,
  ctx: ServiceContext,
  input: VaultSweepInput,
  holderIds: readonly string[],
  keys: ReadonlyMap<string, DataKey>,
): Promise<BatchOutcome> {
  const { appId, model, now, graceMs } = input;
  // What each record holds and when each field was last written: the manifest, no key needed.
  const fields: FieldRow[] = [];
  const records = await db
    .selectFrom('vault_records')
    .select(['subject_id', 'fields'])
    .where('app_id', '=', appId)
    .where('subject_id', 'in', [...holderIds])
    .orderBy('subject_id')
    .execute();
  for (const r of records) {
    for (const [category, updatedAt] of [...parseManifest(r.fields)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      fields.push({ subject_id: r.subject_id, category, updated_at: updatedAt });
    }
  }

  const subjects = new Map((await subjectRows(db, appId, holderIds)).map((r) => [r.id, r]));
  const personOf = (id: string): string => subjects.get(id)?.linked_to ?? id;
  const persons = new Set<string>();
  for (const id of holderIds) if (subjects.has(id)) persons.add(personOf(id));
  const missing = [...persons].filter((p) => !subjects.has(p));
  for (const r of await subjectRows(db, appId, missing)) subjects.set(r.id, r);

  // The persons' devices: their consent history and their activity are the person's (consent/ledger.ts `state`).
  const family = new Map<string, string>();
  const lastActive = new Map<string, number>();
  const active = (person: string, at: number) => {
    if (at > (lastActive.get(person) ?? Number.NEGATIVE_INFINITY)) lastActive.set(person, at);
  };
  for (const p of persons) family.set(p, p);
  for (const id of holderIds) if (subjects.has(id)) family.set(id, personOf(id));
  for (const [id, person] of family) {
    const row = subjects.get(id);
    if (row !== undefined) active(person, row.active_at);
  }
  if (persons.size > 0) {
    const devices = await db
      .selectFrom('subjects')
      .select(['id', 'linked_to', 'created_at', 'last_active_at'])
      .where('app_id', '=', appId)
      .where('linked_to', 'in', [...persons])
      .execute();
    for (const d of devices) {
      if (d.linked_to === null) continue;
      family.set(d.id, d.linked_to);
      active(d.linked_to, activeAt(d));
    }
  }
  const familyIds = [...family.keys()];

  // Latest state per (person, purpose): later `at` wins, equal times the later event (the ledger's fold).
  const consents = new Map<string, Map<string, { action: ConsentAction; at: number }>>();
  const deferred = new Set<string>();
  if (familyIds.length > 0) {
    const events = await db
      .selectFrom('consent_events')
      .select(['subject_id', 'purpose', 'action', 'at'])
      .where('app_id', '=', appId)
      .where('recipient', 'is', null)
      .where('subject_id', 'in', familyIds)
      .orderBy('seq')
      .execute();
    for (const e of events) {
      const person = family.get(e.subject_id);
      if (person === undefined) continue;
      let m = consents.get(person);
      if (m === undefined) {
        m = new Map();
        consents.set(person, m);
      }
      const at = num(e.at);
      const cur = m.get(e.purpose);
      if (cur === undefined || at >= cur.at) m.set(e.purpose, { action: e.action, at });
    }
    const open = await db
      .selectFrom('rights_requests')
      .select('subject_id')
      .distinct()
      .where('app_id', '=', appId)
      .where('closed_at', 'is', null)
      .where('subject_id', 'in', familyIds)
      .execute();
    for (const r of open) {
      const person = family.get(r.subject_id);
      if (person !== undefined) deferred.add(person);
    }
  }

  const facts = new Map<string, SubjectFacts>();
  const factsOf = (person: string): SubjectFacts | undefined => {
    let f = facts.get(person);
    if (f !== undefined) return f;
    const row = subjects.get(person);
    if (row === undefined) return undefined;
    f = {
      status: row.status,
      cancelledAt: cancelledAt(row),
      consents: consents.get(person) ?? new Map(),
      lastActiveAt: lastActive.get(person) ?? row.active_at,
    };
    facts.set(person, f);
    return f;
  };

  const removals: VaultRemoval[] = [];
  const planned: { removal: VaultRemoval; updatedAt: number }[] = [];
  let scanned = 0;
  for (const f of fields) {
    const holder = subjects.get(f.subject_id);
    if (holder === undefined) continue;
    const person = personOf(f.subject_id);
    const sf = factsOf(person);
    if (sf === undefined) continue;
    scanned++;
    if (deferred.has(person)) continue;
    // An erased device still linked to a live account is erased on its own.
    const own: SubjectFacts =
      holder.status === 'erased' && sf.status !== 'erased' ? { ...sf, status: 'erased', cancelledAt: cancelledAt(holder) } : sf;
    const v = evaluateField(model, { category: f.category, collectedAt: f.updated_at }, own, now, graceMs);
    if (v.keep) continue;
    planned.push({
      removal: { holder: f.subject_id, person, category: f.category, purpose: v.purpose, action: v.action, reason: v.reason, rule: v.rule },
      updatedAt: f.updated_at,
    });
  }

  if (!input.write) {
    removals.push(...planned.map((p) => p.removal));
  } else {
    // Only the values that were judged (subject, category, last write): one written since stays for the next sweep.
    // The records are rewritten without them (keys loaded before the transaction: `keys`).
    const deleted = await removeFromRecords(
      ctx,
      db,
      appId,
      planned.map((p) => ({ subjectId: p.removal.holder, category: p.removal.category, updatedAt: p.updatedAt })),
      keys,
    );
    for (const p of planned) if (deleted.has(`${p.removal.holder}\u0000${p.removal.category}`)) removals.push(p.removal);
    const byHolder = new Map<string, VaultRemoval[]>();
    for (const r of removals) byHolder.set(r.holder, [...(byHolder.get(r.holder) ?? []), r]);
    const events: AuditEventInput[] = [...byHolder].map(([holder, list]) => ({
      actor: input.actor,
      action: 'retention.remove',
      appId,
      subject: holder,
      categories: list.map((r) => r.category),
      requestId: input.requestId,
      details: {
        sweep: input.sweepId,
        fields: list.length,
        removed: list.map((r) => ({ category: r.category, purpose: r.purpose, action: r.action, reason: r.reason, rule: r.rule })),
      },
    }));
    if (events.length > 0) await ctx.audit.appendMany(db, events);
  }
  return { persons, fields: scanned, deferred, removals };
}

/** Sweep every vault field of the app. Errors of one batch are reported and the sweep goes on. */
export async function sweepVault(ctx: ServiceContext, input: VaultSweepInput): Promise<VaultSweepResult> {
  const persons = new Set<string>();
  const deferred = new Set<string>();
  const removals: VaultRemoval[] = [];
  const errors: RetentionError[] = [];
  let fields = 0;
  let after = '';
  let aborted = false;
  for (;;) {
    if (input.signal?.aborted === true) {
      aborted = true;
      break;
    }
    const holders = (
      await ctx.db
        .selectFrom('vault_records')
        .select('subject_id')
        .where('app_id', '=', input.appId)
        .where('subject_id', '>', after)
        .orderBy('subject_id')
        .limit(input.batchSize)
        .execute()
    ).map((r) => r.subject_id);
    if (holders.length === 0) break;
    after = holders[holders.length - 1] ?? after;
    try {
      // A write run rewrites records: their keys are loaded first (unwrapping may call a KMS, which no
      // transaction should wait for).
      const keys = input.write ? await loadDataKeys(ctx, input.appId, holders) : new Map<string, DataKey>();
      const out = input.write
        ? await withTransaction(ctx.db, (trx) => judgeBatch(trx, ctx, input, holders, keys))
        : await judgeBatch(ctx.db, ctx, input, holders, keys);
      for (const p of out.persons) persons.add(p);
      for (const p of out.deferred) deferred.add(p);
      fields += out.fields;
      removals.push(...out.removals);
    } catch (err) {
      errors.push(errorOf('vault', err, holders));
      input.onError?.(err, 'vault');
    }
    if (holders.length < input.batchSize) break;
  }
  // The removed values' old page images leave the SQLite log too (store/database.ts scrubLog).
  if (input.write && removals.length > 0) void ctx.database.scrubLog();
  return { persons: persons.size, fields, deferred: deferred.size, removals, errors, aborted };
}

/** A failure as the report shows it: code and message of pipa's own errors, a generic text otherwise. */
export function errorOf(where: string, err: unknown, subjects?: readonly string[]): RetentionError {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; messageZh?: unknown; retryable?: unknown };
  const known = typeof e.name === 'string' && ['PipaError', 'StoreError', 'ConnectorError', 'AuditError', 'CryptoError'].includes(e.name);
  return {
    where,
    code: known && typeof e.code === 'string' ? e.code : 'internal',
    message:
      known && typeof e.message === 'string'
        ? e.message
        : `an unexpected ${err instanceof Error ? err.name : 'error'} (its message is not copied: it may quote data; onError receives it)`,
    ...(known && typeof e.messageZh === 'string' ? { messageZh: e.messageZh } : {}),
    ...(subjects !== undefined && subjects.length > 0 ? { subjects: [...subjects] } : {}),
    ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
  };
}
