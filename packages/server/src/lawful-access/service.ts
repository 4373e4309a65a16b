/**
 * Lawful-authority access to data kept under legal hold (issue 4 item 7, docs/rights.md).
 *
 * After an account cancellation or a deletion, the operator's datasets keep what the law requires
 * (`legalRetention`, the `legal-hold` strategy: docs/connectors.md). Those rows are restricted: this is
 * the only way pipa reads them. Each access
 * - names the authority, the legal basis and the reason (all required, bounded), and optionally the
 *   authority's reference;
 * - is refused for a subject that is not erased (ordinary reads exist for them) and for an unknown one;
 * - is recorded (`lawful_accesses`) with its `legal-hold.read` audit event in one transaction, before any
 *   held value is read (if the record or the audit fails, nothing is read);
 * - reads the held rows the erasure recorded in the hold manifest (rights/hold-manifest.ts) by primary
 *   key (`collectRows`), which reaches tables found only by phone, e-mail or the external id (the
 *   example's `orders`, joined through `merchants` by phone); a held table without manifest rows that
 *   pipa's subject id reaches (an erasure from before the manifest) is read by the subject id
 *   (`collect`); and returns only what the erasure kept: the tables under legal hold, and in them only
 *   the held columns (the whole row when `legalRetention.columns` is absent);
 * - leaves out rows whose hold has ended but that the retention sweep has not removed yet, and says so
 *   (`expired`: table, day, row count);
 * - when a dataset cannot be read (database down, endpoint timing out …) fails with 503 `unavailable`
 *   naming the dataset and tables; the access stays recorded, marked `failed`, with a
 *   `legal-hold.read-failed` audit event. A successful read is marked `disclosed` with the row counts
 *   returned (`legal-hold.disclosed`).
 */
import { randomBytes } from 'node:crypto';
import type { DatasetDecl } from '@pipa/policy';
import type { JsonValue } from '../audit/types.js';
import { PipaError, pathStep } from '../errors.js';
import {
  type CellValue,
  type Connector,
  type ConnectorOptions,
  createConnector,
  isConnectorError,
  type RowSelection,
  type TableDescription,
  type UnreachedTable,
} from '../rights/connectors/index.js';
import { type HeldRowEntry, heldRows, type ManifestHeader, manifestHeaders } from '../rights/hold-manifest.js';
import { newId } from '../rights/internal.js';
import type { ServiceContext } from '../service/context.js';
import { withTransaction } from '../store/transaction.js';
import type { SubjectService } from '../subjects/index.js';

export const MAX_AUTHORITY = 200;
export const MAX_LEGAL_BASIS = 500;
export const MAX_REASON = 2000;
export const MAX_REFERENCE = 200;
export const MAX_ACCESS_PAGE = 200;

export interface LawfulAccessInput {
  /** The authority that asks (`某市公安局`, a court). */
  authority: string;
  /** The legal provision the request rests on. */
  legalBasis: string;
  /** Why the data is needed. */
  reason: string;
  /** The authority's document number, when there is one. */
  reference?: string | null;
  /** The staff credential carrying the access out (`key_…`). */
  actor: string;
  requestId?: string | null;
}

export interface HeldTable {
  table: string;
  /** Held column -> category id. */
  categories: Record<string, string>;
  rows: Record<string, CellValue>[];
  legalHold: { basis: { zh: string; en?: string | undefined } | string; period: string };
}

/** Held rows whose hold has ended, not yet removed by the retention sweep: not returned. */
export interface ExpiredHold {
  table: string;
  /** The day the hold ended (YYYY-MM-DD). */
  until: string;
  rows: number;
}

export interface HeldDataset {
  dataset: string;
  tables: HeldTable[];
  /**
   * Held tables that could not be read: found by phone, e-mail or the external id only, and with no
   * rows in the hold manifest (an erasure from before the manifest, or an HTTP endpoint that did not
   * report its held rows).
   */
  unreached: UnreachedTable[];
  /** Holds that have ended (the rows are due for the retention sweep): left out of the answer. */
  expired: ExpiredHold[];
}

/** `attempted`: recorded, being read; `disclosed`: the answer was given; `failed`: a dataset could not be read. Null: before outcomes were recorded. */
export type LawfulAccessOutcome = 'attempted' | 'disclosed' | 'failed';

export interface LawfulAccessRecord {
  id: string;
  appId: string;
  subjectId: string;
  authority: string;
  legalBasis: string;
  reason: string;
  reference: string | null;
  actor: string;
  at: number;
  outcome: LawfulAccessOutcome | null;
  /**
   * `disclosed`: `{ datasets: [{ dataset, tables: [{ table, rows }], expired, unreached }] }`;
   * `failed`: `{ code, dataset, tables }`. Counts and names, never a value.
   */
  result: Record<string, JsonValue> | null;
}

export interface LawfulAccessResult {
  access: LawfulAccessRecord;
  datasets: HeldDataset[];
}

export type LawfulConnectorFactory = (appId: string, dataset: DatasetDecl) => Connector;

export interface LawfulAccessDeps {
  subjects: SubjectService;
  /** Where the connectors read their connection variables. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  connectors?: LawfulConnectorFactory;
}

export interface LawfulAccessService {
  request(appId: string, subjectId: string, input: LawfulAccessInput): Promise<LawfulAccessResult>;
  list(appId: string, options?: { subjectId?: string; limit?: number; before?: number }): Promise<{ accesses: LawfulAccessRecord[] }>;
}

function required(value: unknown, field: string, max: number): string {
  const path = `$.body.${field}`;
  if (typeof value !== 'string' || value.trim() === '')
    throw new PipaError('validation_failed', `${field} is required for a lawful-authority access`, [
      { path, message: `${field} is required and may not be empty`, messageZh: `${field} 为必填项，不能为空` },
    ]);
  const trimmed = value.trim();
  if (trimmed.length > max)
    throw new PipaError('validation_failed', `${field} is too long`, [
      { path, message: `${field} may have at most ${max} characters`, messageZh: `${field} 最多 ${max} 个字符` },
    ]);
  return trimmed;
}

/** The held columns of a table, or undefined when nothing in it is kept under legal hold. */
function heldColumns(table: TableDescription): Set<string> | 'row' | undefined {
  const held = new Set(table.fields.filter((f) => f.held).map((f) => f.column));
  if (table.legalRetention !== undefined) {
    if (table.legalRetention.columns === undefined) return 'row';
    for (const c of table.legalRetention.columns) held.add(c);
  }
  return held.size > 0 ? held : undefined;
}

/** A dataset that could not be read during a lawful access: where, and the connector's error. */
class ReadFailure extends Error {
  constructor(
    readonly dataset: string,
    readonly tables: string[],
    override readonly cause: unknown,
  ) {
    super(`dataset ${dataset} could not be read`);
    this.name = 'ReadFailure';
  }
}

export function createLawfulAccessService(ctx: ServiceContext, deps: LawfulAccessDeps): LawfulAccessService {
  const env = deps.env ?? process.env;
  const connectorOptions: ConnectorOptions = { env, now: () => new Date(ctx.clock()) };
  const connectors: LawfulConnectorFactory = deps.connectors ?? ((_appId, dataset) => createConnector(dataset, connectorOptions));

  /** The rows of `t` kept, held columns only. */
  function heldTable(
    table: TableDescription,
    columns: Set<string> | 'row',
    collected: { categories: Readonly<Record<string, string>>; rows: readonly Readonly<Record<string, CellValue>>[] },
  ): HeldTable | undefined {
    const keep = Object.keys(collected.categories).filter((c) => columns === 'row' || columns.has(c));
    if (keep.length === 0 || collected.rows.length === 0) return undefined;
    const categories: Record<string, string> = {};
    for (const c of keep) categories[c] = collected.categories[c] ?? '';
    const retention = table.legalRetention;
    return {
      table: table.name,
      categories,
      rows: collected.rows.map((r) => Object.fromEntries(keep.map((c) => [c, r[c] ?? null])) as Record<string, CellValue>),
      legalHold: { basis: retention?.basis ?? '', period: retention?.period ?? '' },
    };
  }

  /**
   * Whether the hold manifest accounts for every row the dataset's last erasure held in `table`: the
   * erasure searched the table and recorded every row it held. With no manifest row left, nothing of
   * the person is held there (nothing was held, or the retention sweep removed it after its hold).
   */
  function manifestComplete(header: ManifestHeader | undefined, table: string): boolean {
    if (header === undefined || header.unreached.some((u) => u.table === table)) return false;
    const t = header.tables.find((x) => x.table === table);
    return t !== undefined && t.recorded >= t.held;
  }

  async function readHeld(appId: string, subjectId: string, datasets: readonly DatasetDecl[], today: string): Promise<HeldDataset[]> {
    // Unsealing may create the service key (its own transaction): before any connector is opened.
    const manifest = await heldRows(ctx, appId, { subjectId });
    const headers = await manifestHeaders(ctx.db, appId, subjectId);
    const out: HeldDataset[] = [];
    for (const dataset of datasets) {
      if (dataset.engine === 'vault') continue;
      const connector = connectors(appId, dataset);
      try {
        const description = connector.describe();
        const held = new Map<string, { table: TableDescription; columns: Set<string> | 'row' }>();
        for (const table of description.tables) {
          const columns = heldColumns(table);
          if (columns !== undefined) held.set(table.name, { table, columns });
        }
        if (held.size === 0) continue;
        const recorded = new Map<string, HeldRowEntry[]>();
        for (const r of manifest) {
          if (r.dataset !== description.id || !held.has(r.table)) continue;
          recorded.set(r.table, [...(recorded.get(r.table) ?? []), r]);
        }
        const header = headers.get(description.id)?.[0];
        const byManifest: RowSelection[] = [];
        const bySubjectId: string[] = [];
        const unreached: UnreachedTable[] = [];
        const expired = new Map<string, ExpiredHold>();
        for (const [name, { table }] of held) {
          const rows = recorded.get(name);
          if (rows !== undefined) {
            const live = rows.filter((r) => r.heldUntil > today);
            for (const r of rows.filter((x) => x.heldUntil <= today)) {
              const id = `${name}\u0000${r.heldUntil}`;
              const e = expired.get(id) ?? { table: name, until: r.heldUntil, rows: 0 };
              e.rows++;
              expired.set(id, e);
            }
            if (live.length > 0) byManifest.push({ table: name, keys: live.map((r) => r.key) });
          } else if (table.subject.key === 'subject-id') bySubjectId.push(name);
          else if (!manifestComplete(header, name)) unreached.push({ table: name, key: table.subject.key });
        }
        const tables: HeldTable[] = [];
        const reading = [...bySubjectId, ...byManifest.map((x) => x.table)];
        try {
          if (bySubjectId.length > 0) {
            const collected = await connector.collect({ 'subject-id': subjectId });
            for (const t of collected.tables) {
              const h = held.get(t.table);
              if (h === undefined || !bySubjectId.includes(t.table)) continue;
              const ht = heldTable(h.table, h.columns, t);
              if (ht !== undefined) tables.push(ht);
            }
          }
          if (byManifest.length > 0) {
            const collected = await connector.collectRows(byManifest);
            for (const t of collected.tables) {
              const h = held.get(t.table);
              if (h === undefined) continue;
              const ht = heldTable(h.table, h.columns, t);
              if (ht !== undefined) tables.push(ht);
            }
          }
        } catch (err) {
          throw new ReadFailure(description.id, reading, err);
        }
        const order = new Map(description.tables.map((t, i) => [t.name, i]));
        tables.sort((a, b) => (order.get(a.table) ?? 0) - (order.get(b.table) ?? 0));
        const expiredList = [...expired.values()].sort((a, b) => a.table.localeCompare(b.table) || a.until.localeCompare(b.until));
        if (tables.length > 0 || unreached.length > 0 || expiredList.length > 0)
          out.push({ dataset: description.id, tables, unreached, expired: expiredList });
      } finally {
        await connector.close().catch(() => undefined);
      }
    }
    return out;
  }

  /**
   * Record how an access ended (`disclosed` with counts, or `failed` with the code and place; never a
   * value) and its audit event (`legal-hold.disclosed` / `legal-hold.read-failed`): one transaction.
   */
  async function settle(
    access: LawfulAccessRecord,
    outcome: 'disclosed' | 'failed',
    result: Record<string, JsonValue>,
    requestId: string | null,
    categories?: string[],
  ): Promise<void> {
    await withTransaction(ctx.db, async (trx) => {
      await trx
        .updateTable('lawful_accesses')
        .set({ outcome, result: JSON.stringify(result) })
        .where('id', '=', access.id)
        .execute();
      await ctx.audit.append(trx, {
        actor: access.actor,
        action: outcome === 'disclosed' ? 'legal-hold.disclosed' : 'legal-hold.read-failed',
        appId: access.appId,
        subject: access.subjectId,
        ...(categories !== undefined ? { categories } : {}),
        ...(outcome === 'failed' ? { outcome: 'failed' as const } : {}),
        requestId,
        details: { access: access.id, ...result },
      });
    });
  }

  /** Mark the access done, with what was disclosed (counts), and audit it: one transaction. */
  async function disclosed(
    access: LawfulAccessRecord,
    datasets: readonly HeldDataset[],
    requestId: string | null,
  ): Promise<LawfulAccessRecord> {
    const result: Record<string, JsonValue> = {
      datasets: datasets.map((d) => ({
        dataset: d.dataset,
        tables: d.tables.map((t) => ({ table: t.table, rows: t.rows.length })),
        expired: d.expired.map((e) => ({ table: e.table, until: e.until, rows: e.rows })),
        unreached: d.unreached.map((u) => u.table),
      })),
    };
    await settle(access, 'disclosed', result, requestId, [
      ...new Set(datasets.flatMap((d) => d.tables.flatMap((t) => Object.values(t.categories)))),
    ]);
    return { ...access, outcome: 'disclosed', result };
  }

  /** Mark the access failed (code and place, no value) and audit it, then say why as a PipaError. */
  async function failed(access: LawfulAccessRecord, err: unknown, requestId: string | null): Promise<PipaError | unknown> {
    const failure = err instanceof ReadFailure ? err : undefined;
    const cause = failure?.cause ?? err;
    const code = isConnectorError(cause) ? cause.code : 'internal';
    const table = isConnectorError(cause) && cause.table !== undefined ? cause.table : undefined;
    const tables = table !== undefined ? [table] : (failure?.tables ?? []);
    const result: Record<string, JsonValue> = { code, dataset: failure?.dataset ?? null, tables };
    await settle(access, 'failed', result, requestId);
    if (failure === undefined || !isConnectorError(cause)) return err;
    const where = `dataset ${failure.dataset}${tables.length > 0 ? ` (table${tables.length > 1 ? 's' : ''} ${tables.join(', ')})` : ''}`;
    const whereZh = `数据集 ${failure.dataset}${tables.length > 0 ? `（表 ${tables.join('、')}）` : ''}`;
    return new PipaError(
      'unavailable',
      `the held data in ${where} cannot be read now (${cause.code}): ${cause.message}; access ${access.id} is recorded as failed, nothing was returned`,
      [
        {
          path: `$.datasets${pathStep(failure.dataset)}`,
          message: `${cause.message} (${cause.code}${cause.retryable ? ', try again later' : ''})`,
          messageZh: `${whereZh}暂时无法读取：${cause.messageZh}`,
          dataset: failure.dataset,
          tables,
          ...(table !== undefined ? { table } : {}),
          connectorCode: cause.code,
          retryable: cause.retryable,
          access: access.id,
        },
      ],
    );
  }

  return {
    async request(appId, subjectId, input) {
      const authority = required(input.authority, 'authority', MAX_AUTHORITY);
      const legalBasis = required(input.legalBasis, 'legalBasis', MAX_LEGAL_BASIS);
      const reason = required(input.reason, 'reason', MAX_REASON);
      const reference =
        input.reference === undefined || input.reference === null || input.reference.trim() === ''
          ? null
          : required(input.reference, 'reference', MAX_REFERENCE);
      const policy = ctx.policies.require(appId);
      const subject = await deps.subjects.require(ctx.db, appId, subjectId);
      if (subject.status !== 'erased')
        throw new PipaError(
          'forbidden',
          `subject ${subjectId} is ${subject.status}: legal-hold access is only for cancelled or erased subjects (use the ordinary reads)`,
          [
            {
              path: '$.params.subject',
              message: `the subject is ${subject.status}, not erased; its data is read through the ordinary vault and rights routes`,
              messageZh: `该主体状态为 ${subject.status}，未被删除；其数据应通过常规保管库和权利接口读取`,
            },
          ],
        );
      const at = ctx.clock();
      const access: LawfulAccessRecord = {
        id: newId('lha', randomBytes),
        appId,
        subjectId,
        authority,
        legalBasis,
        reason,
        reference,
        actor: input.actor,
        at,
        outcome: 'attempted',
        result: null,
      };
      const datasets = policy.declaration.datasets ?? [];
      await withTransaction(ctx.db, async (trx) => {
        await trx
          .insertInto('lawful_accesses')
          .values({
            id: access.id,
            app_id: appId,
            subject_id: subjectId,
            authority,
            legal_basis: legalBasis,
            reason,
            reference,
            actor: input.actor,
            created_at: at,
            outcome: 'attempted',
          })
          .execute();
        await ctx.audit.append(trx, {
          actor: input.actor,
          action: 'legal-hold.read',
          appId,
          subject: subjectId,
          requestId: input.requestId ?? null,
          details: {
            access: access.id,
            authority,
            legalBasis,
            reason,
            reference,
            datasets: datasets.filter((d) => d.engine !== 'vault').map((d) => d.id),
          },
        });
      });
      const requestId = input.requestId ?? null;
      let held: HeldDataset[];
      try {
        held = await readHeld(appId, subjectId, datasets, new Date(ctx.clock()).toISOString().slice(0, 10));
      } catch (err) {
        throw await failed(access, err, requestId);
      }
      return { access: await disclosed(access, held, requestId), datasets: held };
    },

    async list(appId, options = {}) {
      ctx.policies.require(appId);
      const limit = Math.min(Math.max(options.limit ?? 50, 1), MAX_ACCESS_PAGE);
      let q = ctx.db.selectFrom('lawful_accesses').selectAll().where('app_id', '=', appId);
      if (options.subjectId !== undefined) q = q.where('subject_id', '=', options.subjectId);
      if (options.before !== undefined) q = q.where('created_at', '<', options.before);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return {
        accesses: rows.map((r) => ({
          id: r.id,
          appId: r.app_id,
          subjectId: r.subject_id,
          authority: r.authority,
          legalBasis: r.legal_basis,
          reason: r.reason,
          reference: r.reference,
          actor: r.actor,
          at: Number(r.created_at),
          outcome: r.outcome as LawfulAccessOutcome | null,
          result: r.result === null ? null : (JSON.parse(r.result) as Record<string, JsonValue>),
        })),
      };
    },
  };
}
