/**
 * Background checkpoints of a SQLite write-ahead log (docs/storage.md "Checkpoints").
 *
 * A checkpoint copies the pages of the WAL back into the database file and fsyncs the file. Run by
 * the connection that commits (SQLite's `wal_autocheckpoint`), it happens inside a commit: the
 * event loop of the whole service stops for as long as it takes (tens of milliseconds on a busy
 * store, most of it waiting for the fsync), and every request in flight waits with it.
 *
 * Here a worker thread with its own connection to the file runs a PASSIVE checkpoint every
 * `intervalMs`: it copies what the log holds while the service goes on reading and writing (a
 * passive checkpoint takes no lock that readers or writers wait for). The service's connection keeps
 * its own `wal_autocheckpoint`, which then finds the pages already copied and synced: it copies what
 * came since, and, as the only writer, lets the next write start the log again from the beginning,
 * so the log does not grow under a write load that never pauses. If the worker fails, that inline
 * checkpoint does the whole work as before; the failure is reported to `onError`.
 *
 * `scrub()` (after an erasure, store/database.ts `scrubLog`) turns the next checkpoint into a
 * TRUNCATE one: the log file is emptied, so the page images it held from before the erasure (the
 * deleted wrapped key, record and blind indexes) are gone from it as well as from the database file
 * (where `secure_delete` overwrote them). It waits for the writer of the moment and holds new writers
 * back while it copies and truncates, a few milliseconds; requests coalesce into one per interval.
 *
 * The worker is a script evaluated from a string (no separate file to ship or resolve), and loads
 * better-sqlite3 from the path this module resolves.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  file: string;
  busyTimeoutMs: number;
  synchronous: 'NORMAL' | 'FULL';
  /** Time between two checkpoints, ms. */
  intervalMs: number;
  onError?: (error: Error, context: string) => void;
  /** Called when a scrub (TRUNCATE checkpoint) has succeeded, with the highest request number it served. */
  onScrubbed?: (upTo: number) => void;
}

export interface Checkpointer {
  /**
   * Empty the log soon: the next checkpoint (within `intervalMs`) is a TRUNCATE one, which copies
   * every page back and truncates the log file to zero bytes, so that page images written before an
   * erasure do not stay in it; tried again at each interval until it succeeds. Requests coalesce;
   * `request` numbers them (increasing), and `onScrubbed` reports the highest one served. False when
   * the worker is gone (stopped or failed): the caller scrubs another way.
   */
  scrub(request: number): boolean;
  /** Stop the worker after its current checkpoint and close its connection. Idempotent. */
  stop(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const message = (err) => String(err && err.message ? err.message : err);
let db;
try {
  const Database = require(workerData.module);
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  db.pragma('synchronous = ' + workerData.synchronous);
} catch (err) {
  if (db) db.close();
  db = undefined;
  parentPort.postMessage({ fatal: message(err) });
  parentPort.close();
}
if (db) {
  // A scrub asked for: TRUNCATE instead of PASSIVE until one succeeds (busy = 0: every page copied
  // and the log truncated). Busy when a reader still uses an older snapshot: tried at the next tick.
  // Requests are numbered; a success serves every request received before it (this thread runs the
  // checkpoint synchronously, so none arrives during it).
  let wanted = 0;
  let served = 0;
  const timer = setInterval(() => {
    try {
      if (wanted > served) {
        const upTo = wanted;
        const [row] = db.pragma('wal_checkpoint(TRUNCATE)');
        if (row && row.busy === 0) {
          served = upTo;
          parentPort.postMessage({ scrubbed: upTo });
        }
      } else db.pragma('wal_checkpoint(PASSIVE)');
    } catch (err) {
      parentPort.postMessage({ error: message(err) });
    }
  }, workerData.intervalMs);
  parentPort.on('message', (m) => {
    if (m && typeof m.scrub === 'number') {
      if (m.scrub > wanted) wanted = m.scrub;
      return;
    }
    if (m !== 'stop') return;
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
  parentPort.postMessage({ ready: true });
}
`;

export function startCheckpointer(options: CheckpointerOptions): Promise<Checkpointer> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      module,
      file: options.file,
      busyTimeoutMs: options.busyTimeoutMs,
      synchronous: options.synchronous,
      intervalMs: options.intervalMs,
    },
  });
  // A worker of its own must not keep the process alive: the service closes it, and a process that
  // exits without closing loses nothing (the WAL is still there and replayed).
  worker.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const report = (err: Error) => options.onError?.(err, 'SQLite background checkpoint failed');
  return new Promise<Checkpointer>((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    worker.once('error', fail);
    worker.on('message', (m: { ready?: boolean; error?: string; fatal?: string; scrubbed?: number }) => {
      if (m.fatal !== undefined) fail(new Error(m.fatal));
      if (m.error !== undefined) report(new Error(m.error));
      if (m.scrubbed !== undefined) options.onScrubbed?.(m.scrubbed);
      if (m.ready !== true) return;
      worker.off('error', fail);
      worker.on('error', report);
      let stopping: Promise<void> | undefined;
      resolve({
        scrub(request) {
          if (exited || stopping !== undefined) return false;
          worker.postMessage({ scrub: request });
          return true;
        },
        stop() {
          stopping ??= (async () => {
            if (exited) return;
            worker.postMessage('stop');
            const timer = setTimeout(() => void worker.terminate(), 5000);
            await exit;
            clearTimeout(timer);
          })();
          return stopping;
        },
      });
    });
    worker.once('exit', (code) => reject(new Error(`the checkpoint worker exited (${code}) before it was ready`)));
  });
}
