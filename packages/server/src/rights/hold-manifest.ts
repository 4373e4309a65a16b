/**
 * The hold manifest: the rows of the operator's datasets that an erasure kept under legal hold
 * (`legalRetention`, the `legal-hold` strategy), recorded so that they can be found again once the
 * person's keys are gone. After an account cancellation pipa keeps only its own subject id; a held
 * table found by phone, e-mail or the external id (the example's `orders`, joined through `merchants`
 * by phone) can then no longer be reached through the person. The manifest keeps, per held row, what
 * finds exactly that row again without any personal information of the person: the table's primary key.
 *
 * - A primary key that is itself personal information (the table declares its primary key column in
 *   `fields`, e.g. a phone number as key) is sealed under a service key (`rights-hold-key` in
 *   `system_keys`, wrapped by the master key; AES-256-GCM or SM4 per the deployment's suite, bound to
 *   the app, dataset and table), and the row is referred to by a keyed hash of it. Other keys are
 *   stored as they are (JSON: `12`, `"A-12"`).
 * - Each row has the erased subject (pipa's `sub_…`), the request whose erasure held it, when the hold
 *   started (the erasure) and the day it ends (`held_until`).
 * - One header per erasure of a dataset (`legal_hold_manifests`) says how many rows each table held and
 *   how many of them were recorded (an HTTP endpoint may not report its held rows' keys), and which
 *   tables the erasure could not search.
 *
 * Used by the erasure task (rights/executor.ts: written with the task's completion), lawful access
 * (read the held rows by primary key) and the retention sweep (expire them when their hold ends).
 */
import { createHmac } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { DataKey } from '../crypto/data-key.js';
import { deriveKey } from '../crypto/kdf.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import type { DatasetDescription, EraseReport, RowKey, UnreachedTable } from './connectors/types.js';
import { rightsSecret } from './internal.js';

/** The `system_keys` purpose of the service key that seals primary keys holding personal information. */
export const HOLD_KEY_PURPOSE = 'rights-hold-key';

/** One held row, as the manifest gives it back (the key unsealed). */
export interface HeldRowEntry {
  dataset: string;
  table: string;
  /** The manifest's reference of the row (not the key when the key is personal information). */
  ref: string;
  key: RowKey;
  subjectId: string;
  requestId: string;
  /** When the hold started: the erasure (ms). */
  heldSince: number;
  /** The day the hold ends (YYYY-MM-DD); expired from that day on. */
  heldUntil: string;
}

export interface ManifestTable {
  table: string;
  /** Rows the erasure kept under legal hold. */
  held: number;
  /** Of those, rows whose key was recorded. */
  recorded: number;
}

export interface ManifestHeader {
  requestId: string;
  dataset: string;
  subjectId: string;
  tables: ManifestTable[];
  /** Tables the erasure could not search (no subject key of their kind). */
  unreached: UnreachedTable[];
  at: number;
}

/** What one erasure of one dataset held, ready to be written in a transaction (keys already sealed). */
export interface ManifestWrite {
  appId: string;
  requestId: string;
  subjectId: string;
  dataset: string;
  at: number;
  rows: { table: string; ref: string; sealed: Buffer | null; until: string }[];
  tables: ManifestTable[];
  unreached: UnreachedTable[];
}

interface HoldKeys {
  dek: DataKey;
  refKey: Buffer;
}

const keysCache = new WeakMap<ServiceContext, Promise<HoldKeys>>();

/** The service key's two working keys (sealing, references). Opens its own transaction on first use: never call it inside one. */
function holdKeys(ctx: ServiceContext): Promise<HoldKeys> {
  let p = keysCache.get(ctx);
  if (p === undefined) {
    p = (async () => {
      const secret = await rightsSecret(ctx, HOLD_KEY_PURPOSE);
      const digest = ctx.suite === 'sm4' ? 'sm3' : 'sha256';
      return {
        dek: new DataKey(deriveKey(digest, secret, 'pipa/legal-hold/seal', []), 1),
        refKey: deriveKey(digest, secret, 'pipa/legal-hold/ref', []),
      };
    })();
    p.catch(() => keysCache.delete(ctx));
    keysCache.set(ctx, p);
  }
  return p;
}

const aad = (appId: string, dataset: string, table: string) => ({ app: appId, subject: 'legal-hold', field: `${dataset}/${table}` });

/** Whether the table's primary key column is declared personal information. */
export function keyIsPersonal(description: DatasetDescription, table: string): boolean {
  const t = description.tables.find((x) => x.name === table);
  return t?.fields.some((f) => f.column === t.primaryKey) === true;
}

/** The report without the held rows' keys: what is stored as a task's result or shown. */
export function withoutHeldRows(report: EraseReport): EraseReport {
  return { ...report, tables: report.tables.map(({ heldRows: _held, ...t }) => t) };
}

/**
 * The manifest of one erasure of one dataset: every row the report says is held, in a table the
 * declaration holds (`legalRetention`). Seals personal keys (async: call outside a transaction).
 */
export async function prepareManifest(
  ctx: ServiceContext,
  input: { appId: string; requestId: string; subjectId: string; description: DatasetDescription; report: EraseReport; at: number },
): Promise<ManifestWrite> {
  const { appId, description, report } = input;
  const rows: ManifestWrite['rows'] = [];
  const tables: ManifestTable[] = [];
  let keys: HoldKeys | undefined;
  for (const t of report.tables) {
    const decl = description.tables.find((x) => x.name === t.table);
    if (decl?.legalRetention === undefined) continue;
    const held = t.actions.filter((a) => a.strategy === 'legal-hold').reduce((n, a) => n + a.rows, 0);
    const personal = keyIsPersonal(description, t.table);
    const seen = new Set<string>();
    for (const h of t.heldRows ?? []) {
      let ref: string;
      let sealed: Buffer | null = null;
      const json = JSON.stringify(h.key);
      if (personal) {
        keys ??= await holdKeys(ctx);
        ref = `h:${hmacRef(keys.refKey, appId, description.id, t.table, json)}`;
        sealed = ctx.cipher(ctx.suite).encrypt(keys.dek, json, aad(appId, description.id, t.table));
      } else ref = json;
      if (seen.has(ref)) continue;
      seen.add(ref);
      rows.push({ table: t.table, ref, sealed, until: h.until });
    }
    tables.push({ table: t.table, held, recorded: seen.size });
  }
  return {
    appId,
    requestId: input.requestId,
    subjectId: input.subjectId,
    dataset: description.id,
    at: input.at,
    rows,
    tables,
    unreached: [...(report.unreached ?? [])],
  };
}

/** HMAC-SHA256 over the app, dataset, table and key (NUL-separated). */
function hmacRef(key: Buffer, appId: string, dataset: string, table: string, json: string): string {
  return createHmac('sha256', key).update([appId, dataset, table, json].join('\u0000'), 'utf8').digest('hex');
}

/** Rows per INSERT statement (12 parameters each). */
const INSERT_CHUNK = 200;

/**
 * Write (or complete) the manifest: upsert every row (a row recorded again gets the later end), and,
 * with `header`, the erasure's header. Inside the caller's transaction.
 */
export async function writeManifest(trx: Kysely<Schema> | Transaction<Schema>, w: ManifestWrite, header: boolean): Promise<void> {
  for (let i = 0; i < w.rows.length; i += INSERT_CHUNK) {
    const part = w.rows.slice(i, i + INSERT_CHUNK);
    await trx
      .insertInto('legal_hold_rows')
      .values(
        part.map((r) => ({
          app_id: w.appId,
          dataset: w.dataset,
          table_name: r.table,
          row_ref: r.ref,
          key_sealed: r.sealed,
          subject_id: w.subjectId,
          request_id: w.requestId,
          held_since: w.at,
          held_until: r.until,
          created_at: w.at,
          updated_at: w.at,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['app_id', 'dataset', 'table_name', 'row_ref']).doUpdateSet((eb) => ({
          held_until: eb.ref('excluded.held_until'),
          subject_id: eb.ref('excluded.subject_id'),
          request_id: eb.ref('excluded.request_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
  if (!header) return;
  const tables = JSON.stringify({ tables: w.tables, unreached: w.unreached });
  await trx
    .insertInto('legal_hold_manifests')
    .values({
      request_id: w.requestId,
      dataset: w.dataset,
      app_id: w.appId,
      subject_id: w.subjectId,
      tables,
      created_at: w.at,
    })
    .onConflict((oc) => oc.columns(['request_id', 'dataset']).doUpdateSet({ tables, created_at: w.at }))
    .execute();
}

/** The erasures' headers of a subject, per dataset (newest first). */
export async function manifestHeaders(db: Kysely<Schema>, appId: string, subjectId: string): Promise<Map<string, ManifestHeader[]>> {
  const rows = await db
    .selectFrom('legal_hold_manifests')
    .selectAll()
    .where('app_id', '=', appId)
    .where('subject_id', '=', subjectId)
    .orderBy('created_at', 'desc')
    .execute();
  const out = new Map<string, ManifestHeader[]>();
  for (const r of rows) {
    const parsed = JSON.parse(r.tables) as { tables: ManifestTable[]; unreached: UnreachedTable[] };
    const list = out.get(r.dataset) ?? [];
    list.push({
      requestId: r.request_id,
      dataset: r.dataset,
      subjectId: r.subject_id,
      tables: parsed.tables,
      unreached: parsed.unreached,
      at: Number(r.created_at),
    });
    out.set(r.dataset, list);
  }
  return out;
}

/**
 * Held rows of the manifest, keys unsealed: of one subject, and/or of one dataset, and/or whose hold
 * ended by `dueBy` (YYYY-MM-DD, inclusive), oldest end first, at most `limit`. Never inside a transaction
 * (unsealing may create the service key on first use).
 */
export async function heldRows(
  ctx: ServiceContext,
  appId: string,
  where: { subjectId?: string; dataset?: string; tables?: readonly string[]; dueBy?: string; limit?: number },
): Promise<HeldRowEntry[]> {
  if (where.tables !== undefined && where.tables.length === 0) return [];
  let q = ctx.db.selectFrom('legal_hold_rows').selectAll().where('app_id', '=', appId);
  if (where.subjectId !== undefined) q = q.where('subject_id', '=', where.subjectId);
  if (where.dataset !== undefined) q = q.where('dataset', '=', where.dataset);
  if (where.tables !== undefined) q = q.where('table_name', 'in', [...where.tables]);
  if (where.dueBy !== undefined) q = q.where('held_until', '<=', where.dueBy);
  q = q.orderBy('held_until').orderBy('dataset').orderBy('table_name').orderBy('row_ref');
  if (where.limit !== undefined) q = q.limit(where.limit);
  const rows = await q.execute();
  let keys: HoldKeys | undefined;
  const out: HeldRowEntry[] = [];
  for (const r of rows) {
    let json = r.row_ref;
    if (r.key_sealed !== null) {
      keys ??= await holdKeys(ctx);
      json = ctx.cipher(ctx.suite).decryptString(keys.dek, r.key_sealed, aad(appId, r.dataset, r.table_name));
    }
    out.push({
      dataset: r.dataset,
      table: r.table_name,
      ref: r.row_ref,
      key: JSON.parse(json) as RowKey,
      subjectId: r.subject_id,
      requestId: r.request_id,
      heldSince: Number(r.held_since),
      heldUntil: r.held_until,
    });
  }
  return out;
}

/** How many rows of these tables of a dataset's manifest have a hold that ended by `dueBy`. */
export async function countDue(
  db: Kysely<Schema>,
  appId: string,
  dataset: string,
  tables: readonly string[],
  dueBy: string,
): Promise<number> {
  if (tables.length === 0) return 0;
  const r = await db
    .selectFrom('legal_hold_rows')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .where('dataset', '=', dataset)
    .where('table_name', 'in', [...tables])
    .where('held_until', '<=', dueBy)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Tables of a dataset's manifest, other than `tables`, with rows due by `dueBy`, and their subjects. */
export async function dueElsewhere(
  db: Kysely<Schema>,
  appId: string,
  dataset: string,
  tables: readonly string[],
  dueBy: string,
): Promise<Map<string, string[]>> {
  let q = db
    .selectFrom('legal_hold_rows')
    .select(['table_name', 'subject_id'])
    .distinct()
    .where('app_id', '=', appId)
    .where('dataset', '=', dataset)
    .where('held_until', '<=', dueBy);
  if (tables.length > 0) q = q.where('table_name', 'not in', [...tables]);
  const out = new Map<string, string[]>();
  for (const r of await q.orderBy('table_name').orderBy('subject_id').execute())
    out.set(r.table_name, [...(out.get(r.table_name) ?? []), r.subject_id]);
  return out;
}

/** Rows per DELETE statement. */
const DELETE_CHUNK = 300;

/** Remove finished rows from the manifest (inside the caller's transaction). Returns how many went. */
export async function removeHeldRows(
  trx: Kysely<Schema> | Transaction<Schema>,
  appId: string,
  dataset: string,
  rows: readonly { table: string; ref: string }[],
): Promise<number> {
  let removed = 0;
  const byTable = new Map<string, string[]>();
  for (const r of rows) byTable.set(r.table, [...(byTable.get(r.table) ?? []), r.ref]);
  for (const [table, refs] of byTable) {
    for (let i = 0; i < refs.length; i += DELETE_CHUNK) {
      const res = await trx
        .deleteFrom('legal_hold_rows')
        .where('app_id', '=', appId)
        .where('dataset', '=', dataset)
        .where('table_name', '=', table)
        .where('row_ref', 'in', refs.slice(i, i + DELETE_CHUNK))
        .executeTakeFirst();
      removed += Number(res.numDeletedRows);
    }
  }
  return removed;
}

/** A row the dataset still holds: its new end (inside the caller's transaction). */
export async function extendHeldRow(
  trx: Kysely<Schema> | Transaction<Schema>,
  appId: string,
  dataset: string,
  row: { table: string; ref: string; until: string },
  at: number,
): Promise<void> {
  await trx
    .updateTable('legal_hold_rows')
    .set({ held_until: row.until, updated_at: at })
    .where('app_id', '=', appId)
    .where('dataset', '=', dataset)
    .where('table_name', '=', row.table)
    .where('row_ref', '=', row.ref)
    .execute();
}
