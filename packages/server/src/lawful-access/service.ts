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
 * - reads each dataset through its connector's `collect` with the only key that still reaches an erased
 *   person: pipa's subject id (`subject-id`), and returns only what the erasure kept: the tables under
 *   legal hold, and in them only the held columns (the whole row when `legalRetention.columns` is absent).
 */
import { randomBytes } from 'node:crypto';
import type { DatasetDecl } from '@pipa/policy';
import { PipaError } from '../errors.js';
import {
  type CellValue,
  type Connector,
  type ConnectorOptions,
  createConnector,
  type TableDescription,
  type UnreachedTable,
} from '../rights/connectors/index.js';
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

export interface HeldDataset {
  dataset: string;
  tables: HeldTable[];
  /** Held tables the subject id cannot reach (found by phone, e-mail or the external id only). */
  unreached: UnreachedTable[];
}

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

export function createLawfulAccessService(ctx: ServiceContext, deps: LawfulAccessDeps): LawfulAccessService {
  const env = deps.env ?? process.env;
  const connectorOptions: ConnectorOptions = { env, now: () => new Date(ctx.clock()) };
  const connectors: LawfulConnectorFactory = deps.connectors ?? ((_appId, dataset) => createConnector(dataset, connectorOptions));

  async function readHeld(appId: string, subjectId: string, datasets: readonly DatasetDecl[]): Promise<HeldDataset[]> {
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
        const collected = await connector.collect({ 'subject-id': subjectId });
        const tables: HeldTable[] = [];
        for (const t of collected.tables) {
          const h = held.get(t.table);
          if (h === undefined || t.rows.length === 0) continue;
          const keep = Object.keys(t.categories).filter((c) => h.columns === 'row' || h.columns.has(c));
          if (keep.length === 0) continue;
          const categories: Record<string, string> = {};
          for (const c of keep) categories[c] = t.categories[c] ?? '';
          const rows = t.rows.map((r) => Object.fromEntries(keep.map((c) => [c, r[c] ?? null])) as Record<string, CellValue>);
          const retention = h.table.legalRetention;
          tables.push({
            table: t.table,
            categories,
            rows,
            legalHold: { basis: retention?.basis ?? '', period: retention?.period ?? '' },
          });
        }
        const unreached = (collected.unreached ?? []).filter((u) => held.has(u.table));
        if (tables.length > 0 || unreached.length > 0) out.push({ dataset: description.id, tables, unreached: [...unreached] });
      } finally {
        await connector.close();
      }
    }
    return out;
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
      return { access, datasets: await readHeld(appId, subjectId, datasets) };
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
        })),
      };
    },
  };
}
