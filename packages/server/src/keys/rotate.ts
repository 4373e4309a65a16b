/**
 * Master key rotation (`pipa keys rotate`), its status (`pipa keys status`) and the retirement of an
 * old version (`pipa keys retire`); docs/crypto.md §8.
 *
 * Rotation makes a new KEK version current, then re-wraps everything wrapped under another version,
 * table by table (rewrap.ts): the system keys, the subjects' data keys (the vault's `rewrapDataKeys`,
 * vault/rotation.ts, audited as `keys.rewrap`), the rights requests' own keys and the webhook signing
 * secrets. The service stays up meanwhile: a running node unwraps keys of either version (the key file
 * provider re-reads the file when it meets a version it does not know, and picks up the new current
 * version within seconds), and each row is replaced by a compare-and-set on its old value, so a row
 * written concurrently is never overwritten with a stale key.
 *
 * Nodes that have not noticed the new version yet keep wrapping new keys under the old one for a
 * moment (file provider: up to 5 s, KMS: up to 60 s). Rotation therefore makes a first pass at once
 * (the bulk of the rows) and, when that pass began before this settling time after the version was
 * created had passed, waits for it and makes a last pass: when `rotateMasterKey` returns, what it
 * reports as pending is all that is left, and no node wraps under the old version any more.
 *
 * Resumable: when rows under an older version are left (a run was interrupted, or rows failed), the
 * next `rotateMasterKey` continues re-wrapping to the current version instead of adding another
 * version (`newVersion: true` adds one anyway). The old version is retired only by
 * `retireMasterKeyVersion`, which refuses while any row still names it.
 */
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { rewrapDataKeys } from '../vault/rotation.js';
import {
  type RewrapFailure,
  type RewrapSummary,
  rewrapRequestKeys,
  rewrapSystemKeys,
  rewrapWebhookSecrets,
  rowsNotUnder,
  rowsUnder,
  type TableRewrapOptions,
  type TableRewrapReport,
  type TableUsage,
  type WrappedTable,
  wrappedKeyUsage,
} from './rewrap.js';

export type { RewrapFailure, RewrapSummary, TableUsage, WrappedTable } from './rewrap.js';

/** A data-key re-wrap: re-wraps every data key under an older KEK version and reports (default: the vault's). */
export type DataKeyRewrap = (
  ctx: ServiceContext,
  options: { onProgress?: (p: RewrapSummary) => void; signal?: AbortSignal; batchSize?: number; actor: string },
) => Promise<RewrapSummary & { failures: RewrapFailure[]; complete: boolean }>;

/** The vault's re-wrap, summarised (rows changed by someone else in between count as already current). */
export const vaultDataKeyRewrap: DataKeyRewrap = async (ctx, options) => {
  const r = await rewrapDataKeys(ctx, {
    actor: options.actor,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.onProgress !== undefined
      ? { onProgress: (p) => options.onProgress?.({ rewrapped: p.rewrapped, alreadyCurrent: p.skipped, failed: p.failed }) }
      : {}),
  });
  return {
    rewrapped: r.rewrapped,
    alreadyCurrent: r.skipped,
    failed: r.failed,
    complete: r.complete,
    failures: r.failures.map((f) => ({
      table: 'data_keys' as const,
      row: f.subjectId,
      fromVersion: f.fromVersion,
      code: f.code,
      message: f.message,
    })),
  };
};

export interface RotationProgress extends RewrapSummary {
  table: WrappedTable;
  /** 1 for the first pass over the tables. */
  pass: number;
}

export interface RotateOptions {
  dataKeys?: DataKeyRewrap;
  /** After each page of each table. */
  onProgress?: (progress: RotationProgress) => void;
  /** Stop after the current page; the next run resumes. */
  signal?: AbortSignal;
  /** Add a version even when rows under older versions are left from an unfinished rotation. */
  newVersion?: boolean;
  /**
   * How long after the new version was created other nodes may still wrap under an older one
   * (default: file 6 s, KMS 61 s, env 0: every node was restarted with the new key).
   */
  settleMs?: number;
  /** Before waiting for the other nodes to settle on the new version: until when (ms since the epoch). */
  onSettle?: (until: number) => void;
  /** Rows per page. Default 500. */
  batchSize?: number;
  /** Audit actor. Default `system`. */
  actor?: string;
}

export interface RotationReport {
  /** The current version before the run (equal to `toVersion` when `resumed`). */
  fromVersion: number;
  toVersion: number;
  /** No version was added: rows under older versions were left and this run continued re-wrapping them. */
  resumed: boolean;
  /** Per table: `rewrapped` and `alreadyCurrent` over every pass, `failed` in the last pass (rows left failing). */
  systemKeys: RewrapSummary;
  dataKeys: RewrapSummary;
  /** `rights_requests.key_wrapped`. */
  requestKeys: RewrapSummary;
  /** `rights_webhooks.secret_wrapped`. */
  webhookSecrets: RewrapSummary;
  passes: number;
  /** False when stopped by the signal. */
  complete: boolean;
  /** Rows that could not be re-wrapped in the last pass (at most 100). */
  failures: RewrapFailure[];
  /** Rows per version per table after the run. */
  usage: TableUsage[];
  /** Rows still wrapped under another version than `toVersion` after the run (every table). */
  pending: number;
}

const SUMMARY_KEY = {
  system_keys: 'systemKeys',
  data_keys: 'dataKeys',
  rights_requests: 'requestKeys',
  rights_webhooks: 'webhookSecrets',
} as const satisfies Record<WrappedTable, keyof RotationReport>;

const DEFAULT_SETTLE_MS = { file: 6_000, kms: 61_000, env: 0 } as const;
const MAX_FAILURES = 100;

/** Rows wrapped under a KEK version other than the current one, over every wrapped column. */
export async function pendingRewraps(ctx: ServiceContext): Promise<number> {
  return rowsNotUnder(await wrappedKeyUsage(ctx.db), await ctx.provider.currentVersion());
}

/** Wait `ms`, or less when the signal aborts. */
const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted === true || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Rotate the master key: add a version (or continue an unfinished rotation), then re-wrap every
 * wrapped column under it. Never throws for rows that fail: they are reported and left for the next run.
 */
export async function rotateMasterKey(ctx: ServiceContext, options: RotateOptions = {}): Promise<RotationReport> {
  const actor = options.actor ?? 'system';
  const fromVersion = await ctx.provider.currentVersion();
  const before = await wrappedKeyUsage(ctx.db);
  const resumed = options.newVersion !== true && rowsNotUnder(before, fromVersion) > 0;
  const toVersion = resumed ? fromVersion : await ctx.provider.addVersion();
  const created = (await ctx.provider.versions()).find((v) => v.version === toVersion)?.createdAt ?? null;
  const settleMs = Math.max(0, options.settleMs ?? DEFAULT_SETTLE_MS[ctx.provider.kind]);
  const settledAt = created === null ? 0 : created.getTime() + settleMs;

  const report: RotationReport = {
    fromVersion,
    toVersion,
    resumed,
    systemKeys: { rewrapped: 0, alreadyCurrent: 0, failed: 0 },
    dataKeys: { rewrapped: 0, alreadyCurrent: 0, failed: 0 },
    requestKeys: { rewrapped: 0, alreadyCurrent: 0, failed: 0 },
    webhookSecrets: { rewrapped: 0, alreadyCurrent: 0, failed: 0 },
    passes: 0,
    complete: false,
    failures: [],
    usage: before,
    pending: 0,
  };
  // Progress over the whole run: the totals of earlier passes plus the current pass so far (failures: this pass).
  const add = (a: RewrapSummary, b: RewrapSummary): RewrapSummary => ({
    rewrapped: a.rewrapped + b.rewrapped,
    alreadyCurrent: a.alreadyCurrent + b.alreadyCurrent,
    failed: b.failed,
  });
  const dataKeys = options.dataKeys ?? vaultDataKeyRewrap;

  for (;;) {
    report.passes++;
    const pass = report.passes;
    const startedAt = Date.now();
    const failures: RewrapFailure[] = [];
    let complete = true;
    const record = (table: WrappedTable, r: RewrapSummary & { failures: RewrapFailure[]; complete: boolean }) => {
      const key = SUMMARY_KEY[table];
      const prev = report[key];
      report[key] = { rewrapped: prev.rewrapped + r.rewrapped, alreadyCurrent: prev.alreadyCurrent + r.alreadyCurrent, failed: r.failed };
      failures.push(...r.failures);
      if (!r.complete) complete = false;
    };
    const tableOptions = (table: WrappedTable): TableRewrapOptions => {
      const base = report[SUMMARY_KEY[table]];
      return {
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        onProgress: (p) => options.onProgress?.({ table, pass, ...add(base, p) }),
      };
    };
    const steps: [WrappedTable, () => Promise<TableRewrapReport | Awaited<ReturnType<DataKeyRewrap>>>][] = [
      ['system_keys', () => rewrapSystemKeys(ctx, tableOptions('system_keys'))],
      [
        'data_keys',
        () => {
          const base = report.dataKeys;
          return dataKeys(ctx, {
            actor,
            ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
            ...(options.signal !== undefined ? { signal: options.signal } : {}),
            onProgress: (p) => options.onProgress?.({ table: 'data_keys', pass, ...add(base, p) }),
          });
        },
      ],
      ['rights_requests', () => rewrapRequestKeys(ctx, tableOptions('rights_requests'))],
      ['rights_webhooks', () => rewrapWebhookSecrets(ctx, tableOptions('rights_webhooks'))],
    ];
    for (const [table, step] of steps) {
      if (options.signal?.aborted === true) {
        complete = false;
        break;
      }
      record(table, await step());
    }
    report.failures = failures.slice(0, MAX_FAILURES);
    report.usage = await wrappedKeyUsage(ctx.db);
    report.pending = rowsNotUnder(report.usage, toVersion);
    report.complete = complete;
    // Other nodes may have wrapped under an older version while this pass ran: once they cannot any
    // more, one last pass.
    if (!complete || startedAt >= settledAt) break;
    options.onSettle?.(settledAt);
    // A timer can fire a millisecond before the wall clock reads its end: wait until it does, so the
    // last pass starts after settledAt (and is the last one).
    while (Date.now() < settledAt && options.signal?.aborted !== true) await sleep(Math.max(1, settledAt - Date.now()), options.signal);
    if (options.signal?.aborted === true) {
      report.complete = false;
      break;
    }
  }

  await ctx.audit.append(ctx.db, {
    actor,
    action: 'keys.rotate',
    outcome: report.failures.length > 0 ? 'failed' : 'ok',
    details: {
      fromVersion,
      toVersion,
      resumed,
      passes: report.passes,
      complete: report.complete,
      pending: report.pending,
      systemKeys: { ...report.systemKeys },
      dataKeys: { ...report.dataKeys },
      requestKeys: { ...report.requestKeys },
      webhookSecrets: { ...report.webhookSecrets },
    },
  });
  return report;
}

// ---------------------------------------------------------------------------------------------
// Status and retirement

export interface MasterKeyVersionStatus {
  version: number;
  current: boolean;
  /** False for a version rows name but the provider does not hold (those rows cannot be unwrapped). */
  held: boolean;
  createdAt: string | null;
  source: string;
  /** Rows wrapped under this version, over every table. */
  rows: number;
  /** Not current, held, and no row wrapped under it. */
  retirable: boolean;
}

export interface MasterKeyStatus {
  /** The provider, for operators (never key material). */
  provider: string;
  currentVersion: number;
  versions: MasterKeyVersionStatus[];
  /** Rows per version per table. */
  tables: TableUsage[];
  /** Rows wrapped under another version than the current one: a rotation is unfinished while > 0. */
  pending: number;
}

/** What is wrapped under which master key version (`pipa keys status`). */
export async function masterKeyStatus(ctx: ServiceContext): Promise<MasterKeyStatus> {
  const currentVersion = await ctx.provider.currentVersion();
  const held = await ctx.provider.versions();
  const tables = await wrappedKeyUsage(ctx.db);
  const rowsOf = (version: number) => rowsUnder(tables, version).reduce((n, t) => n + t.rows, 0);
  const named = new Set(tables.flatMap((t) => t.versions.map((v) => v.version)));
  const versions: MasterKeyVersionStatus[] = held.map((v) => {
    const rows = rowsOf(v.version);
    return {
      version: v.version,
      current: v.version === currentVersion,
      held: true,
      createdAt: v.createdAt === null ? null : v.createdAt.toISOString(),
      source: v.source,
      rows,
      retirable: v.version !== currentVersion && rows === 0,
    };
  });
  for (const version of named) {
    if (held.some((v) => v.version === version)) continue;
    versions.push({ version, current: false, held: false, createdAt: null, source: '', rows: rowsOf(version), retirable: false });
  }
  versions.sort((a, b) => a.version - b.version);
  return { provider: ctx.provider.describe(), currentVersion, versions, tables, pending: rowsNotUnder(tables, currentVersion) };
}

/**
 * Retire an old master key version: refused while it is current, unknown to the provider, or while
 * any row in any wrapped column is still wrapped under it (those rows would become unreadable: run
 * `pipa keys rotate` until nothing is pending first). Audited as `keys.retire`.
 */
export async function retireMasterKeyVersion(ctx: ServiceContext, version: number, options: { actor?: string } = {}): Promise<void> {
  if (!Number.isInteger(version) || version < 1 || version > 0xffff_ffff) {
    throw new PipaError('validation_failed', `version: ${String(version)} is not a master key version (a whole number from 1)`, [
      { path: 'version', message: '主密钥版本须为正整数 / a master key version is a whole number from 1' },
    ]);
  }
  const current = await ctx.provider.currentVersion();
  if (version === current) {
    throw new PipaError('precondition_failed', `master key version ${version} is current and cannot be retired`, [
      { path: 'version', message: `版本 ${version} 是当前版本，先轮换 / version ${version} is current: rotate first` },
    ]);
  }
  if (!(await ctx.provider.versions()).some((v) => v.version === version)) {
    throw new PipaError('not_found', `master key version ${version} is not held by ${ctx.provider.describe()}`, [
      { path: 'version', message: `没有主密钥版本 ${version} / no master key version ${version}` },
    ]);
  }
  const still = rowsUnder(await wrappedKeyUsage(ctx.db), version);
  if (still.length > 0) {
    const list = still.map((t) => `${t.table}.${t.column}: ${t.rows}`).join(', ');
    throw new PipaError(
      'precondition_failed',
      `master key version ${version} still wraps rows (${list}): run pipa keys rotate until nothing is pending, then retire it`,
      still.map((t) => ({
        path: `${t.table}.${t.column}`,
        message: `仍有 ${t.rows} 行由版本 ${version} 包装 / ${t.rows} row(s) still wrapped by version ${version}`,
        rows: t.rows,
      })),
    );
  }
  await ctx.provider.retireVersion(version);
  await ctx.audit.append(ctx.db, { actor: options.actor ?? 'system', action: 'keys.retire', details: { version, current } });
}
