/**
 * Master key rotation, the vault's half: re-wrap every subject data key that is wrapped under an
 * older master key version (docs/crypto.md §8). The data keys themselves, and so every field
 * envelope, stay as they are; only the 36-byte wrapped records change. `pipa keys rotate` adds the
 * master key version and then calls `rewrapDataKeys`; the service keeps running meanwhile.
 *
 * Rows are read in pages (keyset on subject id, using the `data_keys_kek_version` index), re-wrapped
 * with `rewrapAll`, and written back per page in one transaction with a compare-and-set on the old
 * wrapped value: a key erased (crypto-shredded) or re-wrapped by another process in between is left
 * alone. Failures (a version the provider no longer holds, a tampered record) are reported with the
 * subject and the reason, never thrown; run it again until `remaining` is 0. One audit event
 * (`keys.rewrap`) records each run.
 */
import { rewrapAll } from '../crypto/rotation.js';
import type { ServiceContext } from '../service/context.js';
import { withTransaction } from '../store/transaction.js';

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

interface KeyRow {
  subject_id: string;
  app_id: string;
  kek_version: number;
  wrapped_dek: Buffer;
}

export async function rewrapDataKeys(ctx: ServiceContext, options: RewrapDataKeysOptions = {}): Promise<RewrapDataKeysReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
  const started = Date.now();
  const toVersion = await ctx.provider.currentVersion();
  const report: RewrapDataKeysReport = {
    scanned: 0,
    rewrapped: 0,
    skipped: 0,
    failed: 0,
    toVersion,
    failures: [],
    remaining: 0,
    complete: false,
    durationMs: 0,
  };
  let after = '';
  let stopped = false;
  for (;;) {
    if (options.signal?.aborted === true) {
      stopped = true;
      break;
    }
    const page: KeyRow[] = await ctx.db
      .selectFrom('data_keys')
      .select(['subject_id', 'app_id', 'kek_version', 'wrapped_dek'])
      .where((eb) => eb.or([eb('kek_version', '<', toVersion), eb('kek_version', '>', toVersion)]))
      .where('subject_id', '>', after)
      .orderBy('subject_id')
      .limit(batchSize)
      .execute();
    if (page.length === 0) break;
    after = (page[page.length - 1] as KeyRow).subject_id;
    const updates: Array<{ row: KeyRow; wrapped: Buffer; kekVersion: number }> = [];
    const result = await rewrapAll(
      ctx.keyring,
      page.map((r) => ({ app: r.app_id, subject: r.subject_id, wrapped: r.wrapped_dek, row: r })),
      async (item, wrapped, r) => {
        updates.push({ row: item.row, wrapped, kekVersion: r.toVersion });
      },
      { concurrency: options.concurrency ?? 4 },
    );
    report.scanned += result.scanned;
    report.failed += result.failed;
    for (const f of result.failures) {
      const code = (f.error as { code?: unknown }).code;
      report.failures.push({
        appId: f.row.app,
        subjectId: f.row.subject,
        fromVersion: f.row.row.kek_version,
        code: typeof code === 'string' ? code : 'error',
        message: f.error.message,
      });
    }
    if (updates.length > 0) {
      const at = ctx.clock();
      const changed = await withTransaction(ctx.db, async (trx) => {
        let n = 0;
        for (const u of updates) {
          const r = await trx
            .updateTable('data_keys')
            .set({ wrapped_dek: u.wrapped, kek_version: u.kekVersion, rotated_at: at })
            .where('subject_id', '=', u.row.subject_id)
            .where('wrapped_dek', '=', u.row.wrapped_dek)
            .executeTakeFirst();
          n += Number(r.numUpdatedRows);
        }
        return n;
      });
      report.rewrapped += changed;
      report.skipped += updates.length - changed;
    }
    options.onProgress?.({
      scanned: report.scanned,
      rewrapped: report.rewrapped,
      skipped: report.skipped,
      failed: report.failed,
      toVersion,
    });
    if (page.length < batchSize) break;
  }
  const left = await ctx.db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.or([eb('kek_version', '<', toVersion), eb('kek_version', '>', toVersion)]))
    .executeTakeFirstOrThrow();
  report.remaining = Number(left.n);
  report.complete = !stopped;
  report.durationMs = Date.now() - started;
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
