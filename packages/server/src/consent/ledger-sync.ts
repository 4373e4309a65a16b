/**
 * Filling and keeping current the in-memory consent projection (`ctx.consent`) from the ledger
 * (docs/decisions.md §8).
 *
 * - `loadConsentProjection(ctx)`: replays `consent_events` in `seq` order, then applies the subjects'
 *   status, date of birth and device links, then the re-consent marks of every published material
 *   version (its affected purposes and recipients, from the version's stored diff). Call it once at start.
 * - `startConsentSync(ctx)`: LISTENs on `CHANNELS.consent` (payload: the last seq written) and reads the
 *   events after its high-water seq; `CHANNELS.subject` through the subject listener (subjects/sync.ts).
 *   Re-consent marks of new publications are applied by the policies service (policies/reconsent.ts,
 *   on publication and on its own cross-node notification). After a lost LISTEN connection
 *   (`resync`) it reads every event after the high-water mark and re-applies the marks: the ledger is
 *   append-only and its seq order is its commit order (the chain head is locked until commit), so
 *   nothing older than the high-water mark can appear later. Loads first if `loadConsentProjection` was
 *   not called. Stopped by `ctx.close()`.
 *
 * Applying is idempotent and order-tolerant (projection.ts), so an event this process applied right
 * after writing it and then reads again through the notification changes nothing.
 */

import { applyReconsentMarks } from '../policies/reconsent.js';
import type { ServiceContext } from '../service/context.js';
import { CHANNELS } from '../service/context.js';
import { ensureSubjectSync, loadSubjectsIntoProjection } from '../subjects/sync.js';
import { ledgerEventToConsentEvent, rowToLedgerEvent } from './ledger.js';

interface SyncState {
  /** Highest seq read from the ledger (every event up to it is applied). */
  highWater: number;
  loaded: boolean;
  sync: Promise<ConsentSync> | undefined;
}

const states = new WeakMap<ServiceContext, SyncState>();

function stateOf(ctx: ServiceContext): SyncState {
  let s = states.get(ctx);
  if (s === undefined) {
    s = { highWater: 0, loaded: false, sync: undefined };
    states.set(ctx, s);
  }
  return s;
}

export interface ConsentLoadStats {
  events: number;
  subjects: number;
  marks: number;
  highWater: number;
}

const PAGE = 5000;

/** Read and apply the ledger's events after the high-water mark. Returns how many. */
async function readAfter(ctx: ServiceContext, state: SyncState): Promise<number> {
  let count = 0;
  for (;;) {
    const rows = await ctx.db
      .selectFrom('consent_events')
      .selectAll()
      .where('seq', '>', state.highWater)
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    // One page folded in as a bulk load (projection.applyAll), converted row by row as it goes, so
    // that a row that cannot be read or applied stops the load with every event before it applied.
    // The high-water mark then stays at the previous page, whose events are applied again by the next
    // read (applying is idempotent).
    ctx.consent.applyAll(
      (function* () {
        for (const row of rows) yield ledgerEventToConsentEvent(rowToLedgerEvent(row));
      })(),
    );
    const last = rows[rows.length - 1];
    if (last !== undefined) state.highWater = Number(last.seq);
    count += rows.length;
    if (rows.length < PAGE) return count;
  }
}

/** Fill `ctx.consent` from the database (see the module comment). */
export async function loadConsentProjection(ctx: ServiceContext): Promise<ConsentLoadStats> {
  const state = stateOf(ctx);
  const events = await readAfter(ctx, state);
  const subjects = await loadSubjectsIntoProjection(ctx);
  const marks = await applyReconsentMarks(ctx);
  state.loaded = true;
  return { events, subjects, marks, highWater: state.highWater };
}

export interface ConsentSync {
  /** Highest ledger seq applied from the database. */
  readonly highWater: number;
  /** Read what is new now (tests; the notifications do it otherwise). */
  catchUp(): Promise<void>;
  /** The last failure to read (retried by the next notification). */
  readonly lastError: unknown;
}

/** Start keeping `ctx.consent` current (once per context; later calls return the same sync). */
export function startConsentSync(ctx: ServiceContext): Promise<ConsentSync> {
  const state = stateOf(ctx);
  if (state.sync !== undefined) return state.sync;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  let lastError: unknown;

  const catchUp = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await readAfter(ctx, state);
        } catch (err) {
          lastError = err;
        }
      } while (again && !closed);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const sync: ConsentSync = {
    get highWater() {
      return state.highWater;
    },
    catchUp,
    get lastError() {
      return lastError;
    },
  };

  state.sync = (async () => {
    await ensureSubjectSync(ctx);
    const stop = await ctx.database.listen(CHANNELS.consent, (event) => {
      if (closed) return;
      if (event.kind === 'resync') {
        void catchUp();
        applyReconsentMarks(ctx).catch((err: unknown) => {
          lastError = err;
        });
        return;
      }
      const seq = Number(event.payload);
      if (!Number.isSafeInteger(seq) || seq > state.highWater) void catchUp();
    });
    ctx.onClose(async () => {
      closed = true;
      await stop();
      if (running !== null) await running;
    });
    // Listening first, then reading: nothing committed in between is missed.
    if (!state.loaded) await loadConsentProjection(ctx);
    else await catchUp();
    return sync;
  })();
  return state.sync;
}
