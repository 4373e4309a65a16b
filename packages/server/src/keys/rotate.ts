/**
 * Master key rotation (`pipa keys rotate`): make a new KEK version current, then re-wrap what is
 * wrapped under older versions: the system keys here, the subjects' data keys through the vault's
 * re-wrap (`rewrapDataKeys`, vault/rotation.ts, audited as `keys.rewrap`). The service stays up meanwhile:
 * a running node unwraps keys of either version (the key file provider re-reads the file when it meets
 * a version it does not know, and picks up the new current version within seconds), and each row is
 * replaced by a compare-and-set, so a row written concurrently is never overwritten with a stale key.
 *
 * The old version is not retired here: retire it (`provider.retireVersion`) only once nothing is
 * wrapped under it any more (`pending` below is 0).
 */
import type { ServiceContext } from '../service/context.js';
import { rewrapDataKeys } from '../vault/rotation.js';

export interface RewrapSummary {
  rewrapped: number;
  alreadyCurrent: number;
  failed: number;
}

/** A data-key re-wrap: re-wraps every data key under an older KEK version and reports (default: the vault's). */
export type DataKeyRewrap = (ctx: ServiceContext, options: { onProgress?: (p: RewrapSummary) => void }) => Promise<RewrapSummary>;

/** The vault's re-wrap, summarised (rows changed by someone else in between count as already current). */
export const vaultDataKeyRewrap: DataKeyRewrap = async (ctx, options) => {
  const r = await rewrapDataKeys(ctx, {
    actor: 'cli',
    ...(options.onProgress !== undefined
      ? { onProgress: (p) => options.onProgress?.({ rewrapped: p.rewrapped, alreadyCurrent: p.skipped, failed: p.failed }) }
      : {}),
  });
  return { rewrapped: r.rewrapped, alreadyCurrent: r.skipped, failed: r.failed };
};

export interface RotationReport {
  fromVersion: number;
  toVersion: number;
  systemKeys: RewrapSummary;
  dataKeys: RewrapSummary;
  /** Rows still wrapped under an older version after the run (system keys and data keys). */
  pending: number;
}

/** Re-wrap the system keys (blind index, pseudonym and checkpoint keys) under the current KEK version. */
export async function rewrapSystemKeys(ctx: ServiceContext): Promise<RewrapSummary> {
  const summary: RewrapSummary = { rewrapped: 0, alreadyCurrent: 0, failed: 0 };
  const rows = await ctx.db.selectFrom('system_keys').select(['purpose', 'wrapped']).execute();
  for (const row of rows) {
    try {
      const r = await ctx.keyring.rewrapSecret(row.wrapped, row.purpose);
      if (!r.changed) {
        summary.alreadyCurrent++;
        continue;
      }
      const updated = await ctx.db
        .updateTable('system_keys')
        .set({ wrapped: r.wrapped, kek_version: r.toVersion })
        .where('purpose', '=', row.purpose)
        .where('wrapped', '=', row.wrapped)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) summary.rewrapped++;
      else summary.alreadyCurrent++;
    } catch {
      summary.failed++;
    }
  }
  return summary;
}

/** Rows wrapped under a KEK version other than the current one. */
export async function pendingRewraps(ctx: ServiceContext): Promise<number> {
  const current = await ctx.provider.currentVersion();
  const sys = await ctx.db
    .selectFrom('system_keys')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kek_version', '<>', current)
    .executeTakeFirstOrThrow();
  const data = await ctx.db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kek_version', '<>', current)
    .executeTakeFirstOrThrow();
  return Number(sys.n) + Number(data.n);
}

export async function rotateMasterKey(
  ctx: ServiceContext,
  options: { dataKeys?: DataKeyRewrap; onProgress?: (stage: 'system' | 'data', p: RewrapSummary) => void } = {},
): Promise<RotationReport> {
  const fromVersion = await ctx.provider.currentVersion();
  const toVersion = await ctx.provider.addVersion();
  const systemKeys = await rewrapSystemKeys(ctx);
  options.onProgress?.('system', systemKeys);
  const dataKeys = await (options.dataKeys ?? vaultDataKeyRewrap)(ctx, { onProgress: (p) => options.onProgress?.('data', p) });
  return { fromVersion, toVersion, systemKeys, dataKeys, pending: await pendingRewraps(ctx) };
}
