/**
 * Master key rotation, the vault's half: re-wrap every subject data key that is wrapped under an
 * older master key version (docs/crypto.md §8). The data keys themselves, and so every field
 * envelope, stay as they are; only the 36-byte wrapped records change. `pipa keys rotate` adds the
 * master key version and then calls `rewrapDataKeys`; the service keeps running meanwhile.
 *
 * Rows are read in pages (keyset on subject id, using the `data_keys_kek_version` index), re-wrapped,
 * and written back per page in one transaction with a compare-and-set on the old wrapped value (the
 * page loop every wrapped table shares, keys/rewrap.ts): a key erased (crypto-shredded) or re-wrapped
 * by another process in between is left alone. Failures (a version the provider no longer holds, a
 * tampered record) are reported with the subject and the reason, never thrown; run it again until
 * `remaining` is 0. One audit event (`keys.rewrap`) records each run.
 */
import { rewrapDataKeyRows } from '../keys/rewrap.js';
import type { ServiceContext } from '../service/context.js';

export interface RewrapDataKeysOptions {
  /** Rows per page (and per write transaction). Default 500. */
  batchSize?: number;
  /** Unwrap/wrap calls in flight (a remote KMS benefits). Default 4. */
  concurrency?: number;
  /** Called after each page. */
  onProgress?: (progress: RewrapDataKeysProgress) => void;
  /** Stop after the current page. */
  signal?: AbortSignal;
  /** Audit actor. Default `system`. */
  actor?: string;
}

export interface RewrapDataKeysProgress {
  /** Rows under an older version seen so far. */
  scanned: number;
  rewrapped: number;
  /** Changed by someone else between read and write (erased, or re-wrapped by another process). */
  skipped: number;
  failed: number;
  /** The master key version keys are re-wrapped to. */
  toVersion: number;
}

export interface RewrapDataKeysReport extends RewrapDataKeysProgress {
  failures: Array<{ appId: string; subjectId: string; fromVersion: number; code: string; message: string }>;
  /** Rows still under an older version after the run (0 when done). */
  remaining: number;
  /** False when stopped by the signal. */
  complete: boolean;
  durationMs: number;
}

export async function rewrapDataKeys(ctx: ServiceContext, options: RewrapDataKeysOptions = {}): Promise<RewrapDataKeysReport> {
  const started = Date.now();
  const toVersion = await ctx.provider.currentVersion();
  const failures: RewrapDataKeysReport['failures'] = [];
  const run = await rewrapDataKeyRows(
    ctx,
    {
      toVersion,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onProgress: (p) =>
        options.onProgress?.({ scanned: p.scanned, rewrapped: p.rewrapped, skipped: p.alreadyCurrent, failed: p.failed, toVersion }),
    },
    (row, f) =>
      failures.push({ appId: row.app_id, subjectId: row.subject_id, fromVersion: row.kek_version, code: f.code, message: f.message }),
  );
  const left = await ctx.db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.or([eb('kek_version', '<', toVersion), eb('kek_version', '>', toVersion)]))
    .executeTakeFirstOrThrow();
  const report: RewrapDataKeysReport = {
    scanned: run.scanned,
    rewrapped: run.rewrapped,
    skipped: run.alreadyCurrent,
    failed: run.failed,
    toVersion,
    failures,
    remaining: Number(left.n),
    complete: run.complete,
    durationMs: Date.now() - started,
  };
  await ctx.audit.append(ctx.db, {
    actor: options.actor ?? 'system',
    action: 'keys.rewrap',
    outcome: report.failed > 0 ? 'failed' : 'ok',
    details: {
      toVersion,
      scanned: report.scanned,
      rewrapped: report.rewrapped,
      skipped: report.skipped,
      failed: report.failed,
      remaining: report.remaining,
      complete: report.complete,
    },
  });
  return report;
}
