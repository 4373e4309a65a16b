/**
 * When a subject was last active (`subjects.last_active_at`, migration 0010): what retention rules with
 * the trigger `last-activity` count from (docs/retention.md).
 *
 * Signals:
 * - the operator's backend reports a login or a use of the app (`SubjectService.recordActivity`, the
 *   route `POST /v1/apps/{app}/subjects/{subject}/activity` and its batch form): the main signal, since
 *   pipa does not see the app being used;
 * - what pipa sees the person do: a consent given, withdrawn or refused by the person or their guardian
 *   (method `user` or `guardian`, consent/ledger.ts), a request with the person's subject token
 *   (keys/authenticator.ts, written in batches like API keys' last use), a device linked to its account
 *   (the person signed in on it, service.ts `link`).
 *
 * The column only moves forward: every write is `last_active_at = t where it is null or earlier`, so a
 * report that arrives late, twice or from two nodes at once changes nothing it should not. An erased
 * subject is never touched (its erasure clears the column). The time is not part of the consent
 * projection: these writes send no notification on `CHANNELS.subject` and no node has anything to
 * re-read.
 */
import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.js';

/** Subjects per activity report (the batch route). */
export const MAX_ACTIVITY_BATCH = 1000;
/** How far ahead of pipa's clock a reported time may be (another server's clock); it is recorded as now. */
export const ACTIVITY_CLOCK_SKEW_MS = 60_000;

/** Ids per UPDATE statement (far below every engine's parameter limit). */
const CHUNK = 500;

/**
 * Move `last_active_at` of these subjects of `appId` forward to `at` where it is earlier or unset,
 * skipping erased subjects. Returns the ids it moved. One statement per 500 ids; no audit event (the
 * caller decides), no notification.
 */
export async function advanceLastActivity(db: Kysely<Schema>, appId: string, subjectIds: readonly string[], at: number): Promise<string[]> {
  const advanced: string[] = [];
  for (let i = 0; i < subjectIds.length; i += CHUNK) {
    const chunk = subjectIds.slice(i, i + CHUNK);
    const rows = await db
      .updateTable('subjects')
      .set({ last_active_at: at })
      .where('app_id', '=', appId)
      .where('id', 'in', chunk)
      .where('status', '!=', 'erased')
      .where((eb) => eb.or([eb('last_active_at', 'is', null), eb('last_active_at', '<', at)]))
      .returning('id')
      .execute();
    for (const r of rows) advanced.push(r.id);
  }
  return advanced;
}

export interface SeenActivity {
  appId: string;
  subject: string;
  at: number;
}

/**
 * Record activity pipa saw itself (no validation beyond the monotonic update, no audit event): one
 * statement per app and time. Returns how many subjects moved forward.
 */
export async function recordSeenActivity(db: Kysely<Schema>, seen: Iterable<SeenActivity>): Promise<number> {
  const groups = new Map<string, { appId: string; at: number; ids: string[] }>();
  for (const s of seen) {
    const key = `${s.appId}\u0000${s.at}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { appId: s.appId, at: s.at, ids: [s.subject] });
    else g.ids.push(s.subject);
  }
  let n = 0;
  for (const g of groups.values()) n += (await advanceLastActivity(db, g.appId, g.ids, g.at)).length;
  return n;
}
