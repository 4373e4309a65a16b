/**
 * Everything the keyring wraps under the master key (KEK), table by table, and the re-wrap of each
 * table during master key rotation (`pipa keys rotate`, rotate.ts; docs/crypto.md §8).
 *
 *   table            column          what it holds                                     version read from
 *   system_keys      wrapped         blind-index root, audit and sharing pseudonym     kek_version column
 *                                    keys, audit checkpoint key, rights secrets
 *   data_keys        wrapped_dek     one data key per subject (the vault's rotation)   kek_version column
 *   rights_requests  key_wrapped     each request's own key (package, corrections)     record header
 *   rights_webhooks  secret_wrapped  each webhook endpoint's signing secret            record header
 *
 * The two rights tables have no version column: the version is read from bytes 2..6 of the wrapped
 * record (crypto/keyring.ts), in SQL with `substr(column, 3, 4)` (the same on SQLite and PostgreSQL),
 * so finding and counting rows needs no migration and no writer has to keep a second column in step.
 *
 * The re-wrap of a table reads rows under another version than the target in pages (keyset on the
 * table's key), unwraps and wraps each under the current version (the key or secret inside does not
 * change, so nothing sealed under it changes), and writes each page back in one transaction with a
 * compare-and-set on the old wrapped value: a row changed meanwhile (a request shredded, a webhook
 * given a new secret, a row re-wrapped by another run) is left alone and counted as changed. Failures
 * are collected with the row and the reason, never thrown. A run stopped anywhere leaves every row
 * either old or new, both readable while the old version is held; the next run picks up what is left.
 */
import { type Kysely, sql } from 'kysely';
import type { Keyring, RewrapResult } from '../crypto/keyring.js';
import { requestKeyOwner, webhookSecretPurpose } from '../rights/internal.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';

/** Every column holding material wrapped by the master key. */
export const WRAPPED_COLUMNS = [
  { table: 'system_keys', column: 'wrapped' },
  { table: 'data_keys', column: 'wrapped_dek' },
  { table: 'rights_requests', column: 'key_wrapped' },
  { table: 'rights_webhooks', column: 'secret_wrapped' },
] as const;

export type WrappedTable = (typeof WRAPPED_COLUMNS)[number]['table'];

export interface RewrapSummary {
  rewrapped: number;
  /** Already under the target version, or changed by someone else between read and write. */
  alreadyCurrent: number;
  failed: number;
}

export interface RewrapFailure {
  table: WrappedTable;
  /** The row's key: a purpose, subject id, request id or `app/kind/recipient` (never personal data). */
  row: string;
  fromVersion: number;
  code: string;
  message: string;
}

export interface TableRewrapReport extends RewrapSummary {
  table: WrappedTable;
  scanned: number;
  failures: RewrapFailure[];
  /** False when stopped by the signal. */
  complete: boolean;
}

export interface TableRewrapOptions {
  /** The master key version to re-wrap to. Default: the provider's current version. */
  toVersion?: number;
  /** Rows per page (and per write transaction). Default 500. */
  batchSize?: number;
  /** Unwrap/wrap calls in flight. Default 4. */
  concurrency?: number;
  /** Stop after the current page. */
  signal?: AbortSignal;
  /** After each page. */
  onProgress?: (progress: RewrapSummary & { table: WrappedTable; scanned: number }) => void;
}

export interface VersionCount {
  version: number;
  rows: number;
}

export interface TableUsage {
  table: WrappedTable;
  column: string;
  /** Rows per master key version, ascending. Version 0: a record too short to name one. */
  versions: VersionCount[];
}

/** The KEK version a wrapped record names (0 when it is too short to name one). */
export function kekVersionOf(wrapped: Uint8Array): number {
  return wrapped.length >= 6 ? Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).readUInt32BE(2) : 0;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

/** Bytes 2..6 of a wrapped record: the KEK version, as SQL (1-based `substr`, same on SQLite and PostgreSQL). */
const headerVersion = (column: 'key_wrapped' | 'secret_wrapped') => sql<Buffer>`substr(${sql.ref(column)}, 3, 4)`;

const toCounts = (rows: { v: Buffer | number | null; n: number | string | bigint }[]): VersionCount[] => {
  const out = new Map<number, number>();
  for (const r of rows) {
    if (r.v === null) continue;
    const version = typeof r.v === 'number' ? r.v : r.v.length === 4 ? r.v.readUInt32BE(0) : 0;
    out.set(version, (out.get(version) ?? 0) + Number(r.n));
  }
  return [...out].map(([version, rows]) => ({ version, rows })).sort((a, b) => a.version - b.version);
};

/** Rows per master key version in every wrapped column (`pipa keys status`, the retirement check). */
export async function wrappedKeyUsage(db: Kysely<Schema>): Promise<TableUsage[]> {
  const system = await db
    .selectFrom('system_keys')
    .select((eb) => [eb.ref('kek_version').as('v'), eb.fn.countAll<number>().as('n')])
    .groupBy('kek_version')
    .execute();
  const data = await db
    .selectFrom('data_keys')
    .select((eb) => [eb.ref('kek_version').as('v'), eb.fn.countAll<number>().as('n')])
    .groupBy('kek_version')
    .execute();
  const requests = await db
    .selectFrom('rights_requests')
    .select((eb) => [headerVersion('key_wrapped').as('v'), eb.fn.countAll<number>().as('n')])
    .where('key_wrapped', 'is not', null)
    .groupBy(headerVersion('key_wrapped'))
    .execute();
  const webhooks = await db
    .selectFrom('rights_webhooks')
    .select((eb) => [headerVersion('secret_wrapped').as('v'), eb.fn.countAll<number>().as('n')])
    .groupBy(headerVersion('secret_wrapped'))
    .execute();
  const counts: Record<WrappedTable, VersionCount[]> = {
    system_keys: toCounts(system),
    data_keys: toCounts(data),
    rights_requests: toCounts(requests),
    rights_webhooks: toCounts(webhooks),
  };
  return WRAPPED_COLUMNS.map((c) => ({ table: c.table, column: c.column, versions: counts[c.table] }));
}

/** Rows wrapped under another version than `version`, over every table. */
export function rowsNotUnder(usage: readonly TableUsage[], version: number): number {
  let n = 0;
  for (const t of usage) for (const v of t.versions) if (v.version !== version) n += v.rows;
  return n;
}

/** Rows wrapped under exactly `version`, per table (tables without any left out). */
export function rowsUnder(usage: readonly TableUsage[], version: number): { table: WrappedTable; column: string; rows: number }[] {
  const out: { table: WrappedTable; column: string; rows: number }[] = [];
  for (const t of usage) {
    const rows = t.versions.find((v) => v.version === version)?.rows ?? 0;
    if (rows > 0) out.push({ table: t.table, column: t.column, rows });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Re-wrap, one table at a time

/** How one table is paged, re-wrapped and written back. */
interface RewrapSource<R> {
  table: WrappedTable;
  /** Rows not under `toVersion`, after `after` in key order. */
  page(db: Kysely<Schema>, toVersion: number, after: R | undefined, limit: number): Promise<R[]>;
  key(row: R): string;
  wrapped(row: R): Buffer;
  rewrap(keyring: Keyring, row: R): Promise<RewrapResult>;
  /** Compare-and-set on the old wrapped value; true when the row was replaced. */
  write(db: Kysely<Schema>, row: R, wrapped: Buffer, toVersion: number): Promise<boolean>;
}

interface SystemKeyRow {
  purpose: string;
  wrapped: Buffer;
}

const systemKeysSource: RewrapSource<SystemKeyRow> = {
  table: 'system_keys',
  page: (db, toVersion, after, limit) =>
    db
      .selectFrom('system_keys')
      .select(['purpose', 'wrapped'])
      .where((eb) => eb.or([eb('kek_version', '<', toVersion), eb('kek_version', '>', toVersion)]))
      .where('purpose', '>', after?.purpose ?? '')
      .orderBy('purpose')
      .limit(limit)
      .execute(),
  key: (r) => r.purpose,
  wrapped: (r) => r.wrapped,
  rewrap: (keyring, r) => keyring.rewrapSecret(r.wrapped, r.purpose),
  write: async (db, r, wrapped, toVersion) => {
    const u = await db
      .updateTable('system_keys')
      .set({ wrapped, kek_version: toVersion })
      .where('purpose', '=', r.purpose)
      .where('wrapped', '=', r.wrapped)
      .executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  },
};

export interface DataKeyRow {
  subject_id: string;
  app_id: string;
  kek_version: number;
  wrapped_dek: Buffer;
}

/** The subjects' data keys (the vault's; `rotated_at` records when a key was re-wrapped). */
const dataKeysSource = (clock: () => number): RewrapSource<DataKeyRow> => ({
  table: 'data_keys',
  page: (db, toVersion, after, limit) =>
    db
      .selectFrom('data_keys')
      .select(['subject_id', 'app_id', 'kek_version', 'wrapped_dek'])
      .where((eb) => eb.or([eb('kek_version', '<', toVersion), eb('kek_version', '>', toVersion)]))
      .where('subject_id', '>', after?.subject_id ?? '')
      .orderBy('subject_id')
      .limit(limit)
      .execute(),
  key: (r) => r.subject_id,
  wrapped: (r) => r.wrapped_dek,
  rewrap: (keyring, r) => keyring.rewrapDataKey(r.wrapped_dek, { app: r.app_id, subject: r.subject_id }),
  write: async (db, r, wrapped, toVersion) => {
    const u = await db
      .updateTable('data_keys')
      .set({ wrapped_dek: wrapped, kek_version: toVersion, rotated_at: clock() })
      .where('subject_id', '=', r.subject_id)
      .where('wrapped_dek', '=', r.wrapped_dek)
      .executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  },
});

interface RequestKeyRow {
  id: string;
  app_id: string;
  key_wrapped: Buffer;
}

const requestKeysSource: RewrapSource<RequestKeyRow> = {
  table: 'rights_requests',
  page: async (db, toVersion, after, limit) => {
    const rows = await db
      .selectFrom('rights_requests')
      .select(['id', 'app_id', 'key_wrapped'])
      .where('key_wrapped', 'is not', null)
      .where(headerVersion('key_wrapped'), '<>', u32(toVersion))
      .where('id', '>', after?.id ?? '')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.flatMap((r) => (r.key_wrapped === null ? [] : [{ id: r.id, app_id: r.app_id, key_wrapped: r.key_wrapped }]));
  },
  key: (r) => r.id,
  wrapped: (r) => r.key_wrapped,
  rewrap: (keyring, r) => keyring.rewrapDataKey(r.key_wrapped, requestKeyOwner(r.app_id, r.id)),
  write: async (db, r, wrapped) => {
    const u = await db
      .updateTable('rights_requests')
      .set({ key_wrapped: wrapped })
      .where('id', '=', r.id)
      .where('key_wrapped', '=', r.key_wrapped)
      .executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  },
};

interface WebhookRow {
  app_id: string;
  kind: string;
  recipient: string;
  secret_wrapped: Buffer;
}

const webhookSecretsSource: RewrapSource<WebhookRow> = {
  table: 'rights_webhooks',
  page: (db, toVersion, after, limit) => {
    let q = db
      .selectFrom('rights_webhooks')
      .select(['app_id', 'kind', 'recipient', 'secret_wrapped'])
      .where(headerVersion('secret_wrapped'), '<>', u32(toVersion));
    if (after !== undefined) {
      q = q.where(({ eb, refTuple, tuple }) =>
        eb(refTuple('app_id', 'kind', 'recipient'), '>', tuple(after.app_id, after.kind, after.recipient)),
      );
    }
    return q.orderBy('app_id').orderBy('kind').orderBy('recipient').limit(limit).execute();
  },
  key: (r) => `${r.app_id}/${r.kind}/${r.recipient}`,
  wrapped: (r) => r.secret_wrapped,
  rewrap: (keyring, r) => keyring.rewrapSecret(r.secret_wrapped, webhookSecretPurpose(r.app_id, r.kind, r.recipient)),
  write: async (db, r, wrapped) => {
    const u = await db
      .updateTable('rights_webhooks')
      .set({ secret_wrapped: wrapped })
      .where('app_id', '=', r.app_id)
      .where('kind', '=', r.kind)
      .where('recipient', '=', r.recipient)
      .where('secret_wrapped', '=', r.secret_wrapped)
      .executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  },
};

/** `onFailure` also receives each failing row itself (the report names it by its key only). */
async function rewrapTable<R>(
  ctx: ServiceContext,
  source: RewrapSource<R>,
  options: TableRewrapOptions,
  onFailure?: (row: R, failure: RewrapFailure) => void,
): Promise<TableRewrapReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const toVersion = options.toVersion ?? (await ctx.provider.currentVersion());
  const report: TableRewrapReport = {
    table: source.table,
    scanned: 0,
    rewrapped: 0,
    alreadyCurrent: 0,
    failed: 0,
    failures: [],
    complete: false,
  };
  let after: R | undefined;
  for (;;) {
    if (options.signal?.aborted === true) return report;
    const page = await source.page(ctx.db, toVersion, after, batchSize);
    if (page.length === 0) break;
    after = page[page.length - 1];
    report.scanned += page.length;
    const updates: { row: R; wrapped: Buffer; toVersion: number }[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < page.length; i = next++) {
        const row = page[i] as R;
        try {
          const r = await source.rewrap(ctx.keyring, row);
          if (r.changed) updates.push({ row, wrapped: r.wrapped, toVersion: r.toVersion });
          else report.alreadyCurrent++;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          report.failed++;
          const failure: RewrapFailure = {
            table: source.table,
            row: source.key(row),
            fromVersion: kekVersionOf(source.wrapped(row)),
            code: typeof code === 'string' ? code : 'error',
            message: err instanceof Error ? err.message : String(err),
          };
          report.failures.push(failure);
          onFailure?.(row, failure);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, page.length) }, worker));
    if (updates.length > 0) {
      const written = await withTransaction(ctx.db, async (trx) => {
        let n = 0;
        for (const u of updates) if (await source.write(trx, u.row, u.wrapped, u.toVersion)) n++;
        return n;
      });
      report.rewrapped += written;
      report.alreadyCurrent += updates.length - written;
    }
    options.onProgress?.({
      table: source.table,
      scanned: report.scanned,
      rewrapped: report.rewrapped,
      alreadyCurrent: report.alreadyCurrent,
      failed: report.failed,
    });
    if (page.length < batchSize) break;
  }
  report.complete = true;
  return report;
}

/** Re-wrap the system keys (blind index, pseudonym, checkpoint and rights secrets) under the current KEK version. */
export const rewrapSystemKeys = (ctx: ServiceContext, options: TableRewrapOptions = {}) => rewrapTable(ctx, systemKeysSource, options);

/** Re-wrap every rights request's own key (it seals the request's package, artifacts and corrections). */
export const rewrapRequestKeys = (ctx: ServiceContext, options: TableRewrapOptions = {}) => rewrapTable(ctx, requestKeysSource, options);

/** Re-wrap every webhook endpoint's signing secret (the secret itself, which receivers hold, does not change). */
export const rewrapWebhookSecrets = (ctx: ServiceContext, options: TableRewrapOptions = {}) =>
  rewrapTable(ctx, webhookSecretsSource, options);

/**
 * Re-wrap every subject data key (the vault's `rewrapDataKeys` reports it in its own terms);
 * `onFailure` receives each failing row with its app and subject.
 */
export const rewrapDataKeyRows = (
  ctx: ServiceContext,
  options: TableRewrapOptions = {},
  onFailure?: (row: DataKeyRow, failure: RewrapFailure) => void,
) => rewrapTable(ctx, dataKeysSource(ctx.clock), options, onFailure);
