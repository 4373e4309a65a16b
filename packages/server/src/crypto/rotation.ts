/**
 * Master key rotation, the re-wrap half. The store's background job feeds rows of wrapped data
 * keys to `rewrapAll` and writes each new wrapped key back; this module knows nothing of the
 * database. Procedure (docs/crypto.md, "Rotation"):
 *
 *   1. `provider.addVersion()` (or the env/KMS equivalent): new wraps use the new version.
 *   2. `rewrapAll(...)` over every wrapped key; re-run until `failed` is empty.
 *   3. Only then retire the old version: until step 2 has finished, keys wrapped under it still
 *      need it to unwrap.
 */
import { isCryptoError } from './errors.js';
import type { KeyOwner, Keyring, RewrapResult } from './keyring.js';

export interface WrappedKeyRow extends KeyOwner {
  wrapped: Uint8Array;
}

export interface RewrapProgress {
  scanned: number;
  rewrapped: number;
  alreadyCurrent: number;
  failed: number;
}

export interface RewrapAllOptions {
  /** Rows re-wrapped at once (useful with a remote KMS). Default 4. */
  concurrency?: number;
  /** Stop reading rows when aborted; rows in flight finish. */
  signal?: AbortSignal;
  /** Stop at the first failure instead of recording it and going on. Default false. */
  stopOnError?: boolean;
  /** Called after each row. */
  onProgress?: (progress: RewrapProgress) => void;
}

export interface RewrapReport<R> extends RewrapProgress {
  /** Rows that could not be re-wrapped, with the reason (e.g. `unknown_key_version`, `authentication_failed`). */
  failures: Array<{ row: R; error: Error }>;
  /** True when every row was read (not aborted, not stopped on error). */
  complete: boolean;
}

/**
 * Re-wrap every wrapped data key in `rows` under the current KEK version. `write` persists the new
 * wrapped key (compare-and-set on the old value is the store's business); it is not called for rows
 * already current. Failures are collected, never thrown, unless `stopOnError`.
 */
export async function rewrapAll<R extends WrappedKeyRow>(
  keyring: Keyring,
  rows: AsyncIterable<R> | Iterable<R>,
  write: (row: R, wrapped: Buffer, result: RewrapResult) => Promise<void>,
  options: RewrapAllOptions = {},
): Promise<RewrapReport<R>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const report: RewrapReport<R> = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, failed: 0, failures: [], complete: false };
  let stopped = false;

  const handle = async (row: R): Promise<void> => {
    try {
      const result = await keyring.rewrapDataKey(row.wrapped, { app: row.app, subject: row.subject });
      if (result.changed) {
        await write(row, result.wrapped, result);
        report.rewrapped++;
      } else {
        report.alreadyCurrent++;
      }
    } catch (err) {
      report.failed++;
      report.failures.push({ row, error: isCryptoError(err) || err instanceof Error ? err : new Error(String(err)) });
      if (options.stopOnError === true) stopped = true;
    } finally {
      options.onProgress?.({
        scanned: report.scanned,
        rewrapped: report.rewrapped,
        alreadyCurrent: report.alreadyCurrent,
        failed: report.failed,
      });
    }
  };

  const inFlight = new Set<Promise<void>>();
  let readAll = true;
  for await (const row of rows) {
    if (stopped || options.signal?.aborted === true) {
      readAll = false;
      break;
    }
    report.scanned++;
    const task: Promise<void> = handle(row).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  report.complete = readAll && !stopped;
  return report;
}
