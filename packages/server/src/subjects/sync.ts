/**
 * Keeping the consent projection's view of subjects (status, date of birth, device links) current.
 *
 * Every subject write notifies `CHANNELS.subject` with `<app>\t<subject>` in its transaction, so the
 * notification arrives only after the commit (SQLite: in this process; PostgreSQL: in every process
 * LISTENing on the database). The listener re-reads that subject's row and applies it: the row is the
 * truth, so a late, repeated or reordered notification applies the current state again, harmlessly.
 * After a lost LISTEN connection (`resync`) every subject is re-read.
 *
 * A subject whose change could not be applied (its read-back and its notification's re-read both
 * failed, e.g. the database was briefly unreachable) is not left stale until the next restart: it
 * stays pending and is re-read after 200 ms, then with a doubling delay up to 30 s, until it applies
 * (a failed full re-read after `resync` likewise).
 *
 * One listener per service context, started by the first `createSubjectService(ctx)` (or the consent
 * sync) and stopped by `ctx.close()`.
 */
import type { ServiceContext } from '../service/context.js';
import { CHANNELS } from '../service/context.js';
import type { Row } from '../store/schema.js';

const started = new WeakMap<ServiceContext, Promise<void>>();

/**
 * After a commit that changed these subjects (a birth date, a status): read their rows once and apply
 * them to `ctx.consent`, so that decisions see the change before the writer returns.
 *
 * It never fails the write: the write is durable by then, and its notification (sent in its
 * transaction) makes the listener re-read the same rows, so a failed read-back only delays the
 * projection until that refresh; it is kept as the sync state's `lastError`. A writer that threw here
 * would report a committed write as failed, and a group commit (store/group-commit.ts) would run the
 * batch's writes again, one by one: a sign-up without an external id would create a second subject, a
 * consent record a second event.
 */
export async function refreshAfterCommit(ctx: ServiceContext, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  try {
    const rows = await ctx.db
      .selectFrom('subjects')
      .selectAll()
      .where('id', 'in', [...new Set(ids)])
      .execute();
    for (const row of rows) applySubjectRow(ctx, row);
  } catch (err) {
    failed(ctx, ids, err);
  }
}

/** First delay before pending subjects are re-read, and the longest (doubling in between). */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 30_000;
/** Subjects re-read per statement. */
const RETRY_CHUNK = 500;

/** These subjects' changes could not be applied: keep them pending and re-read them later. */
function failed(ctx: ServiceContext, ids: readonly string[], err: unknown): void {
  const state = syncStateOf(ctx);
  state.lastError = err;
  for (const id of ids) state.pending.add(id);
  scheduleRetry(ctx, state);
}

function scheduleRetry(ctx: ServiceContext, state: SubjectSyncState & Internal): void {
  if (state.timer !== undefined || (state.pending.size === 0 && !state.resync) || state.closed) return;
  state.timer = setTimeout(() => {
    state.timer = undefined;
    void retryPending(ctx, state);
  }, state.delayMs);
  state.timer.unref();
}

async function retryPending(ctx: ServiceContext, state: SubjectSyncState & Internal): Promise<void> {
  const ids = [...state.pending];
  try {
    if (state.resync) {
      await loadSubjectsIntoProjection(ctx);
      state.resync = false;
    }
    for (let i = 0; i < ids.length; i += RETRY_CHUNK) {
      const chunk = ids.slice(i, i + RETRY_CHUNK);
      const rows = await ctx.db
        .selectFrom('subjects')
        .select(['id', 'app_id', 'status', 'birth_date', 'linked_to'])
        .where('id', 'in', chunk)
        .execute();
      for (const row of rows) applySubjectRow(ctx, row);
      // Applied (or gone: a rolled-back insert has nothing to apply).
      for (const id of chunk) state.pending.delete(id);
    }
    state.delayMs = RETRY_FIRST_MS;
  } catch (err) {
    state.lastError = err;
    state.delayMs = Math.min(state.delayMs * 2, RETRY_MAX_MS);
  }
  scheduleRetry(ctx, state);
}

/** Apply one subject row to `ctx.consent`. A linked device only links (its account's status is what applies to it). */
export function applySubjectRow(
  ctx: ServiceContext,
  row: Pick<Row<'subjects'>, 'id' | 'app_id' | 'status' | 'birth_date' | 'linked_to'>,
): void {
  if (row.linked_to !== null) {
    if (row.status !== 'erased') ctx.consent.link(row.app_id, row.id, row.linked_to);
    return;
  }
  const current = ctx.consent.subject(row.app_id, row.id);
  // The projection never un-erases (the database cannot either); a stale row read late changes nothing.
  if (current?.status === 'erased' && current.id === row.id) return;
  ctx.consent.setSubject(row.app_id, row.id, { status: row.status, birthDate: row.birth_date });
}

/** Read every subject with something to apply (not active, a date of birth, or a link) into the projection. */
export async function loadSubjectsIntoProjection(ctx: ServiceContext): Promise<number> {
  const pageSize = 5000;
  let after = '';
  let count = 0;
  // Unlinked first (status, birth dates), then links, so a link finds its account's entry in place.
  for (const linked of [false, true]) {
    after = '';
    for (;;) {
      let q = ctx.db
        .selectFrom('subjects')
        .select(['id', 'app_id', 'status', 'birth_date', 'linked_to'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(pageSize);
      q = linked
        ? q.where('linked_to', 'is not', null)
        : q.where('linked_to', 'is', null).where((eb) => eb.or([eb('status', '!=', 'active'), eb('birth_date', 'is not', null)]));
      const rows = await q.execute();
      for (const row of rows) applySubjectRow(ctx, row);
      count += rows.length;
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < pageSize) break;
      after = last.id;
    }
  }
  return count;
}

export interface SubjectSyncState {
  /** Notifications applied. */
  applied: number;
  /** The last failure to apply a change (a notification's or a writer's read-back, or a retry's). */
  lastError: unknown;
  /** Subjects whose last change is not applied yet: re-read until it is. */
  readonly pending: ReadonlySet<string>;
}

interface Internal {
  pending: Set<string>;
  timer: NodeJS.Timeout | undefined;
  delayMs: number;
  closed: boolean;
  /** A full re-read (after a lost LISTEN connection) failed: run it again. */
  resync: boolean;
}

const states = new WeakMap<ServiceContext, SubjectSyncState & Internal>();

export function subjectSyncState(ctx: ServiceContext): SubjectSyncState | undefined {
  return states.get(ctx);
}

function syncStateOf(ctx: ServiceContext): SubjectSyncState & Internal {
  let state = states.get(ctx);
  if (state === undefined) {
    const created: SubjectSyncState & Internal = {
      applied: 0,
      lastError: undefined,
      pending: new Set(),
      timer: undefined,
      delayMs: RETRY_FIRST_MS,
      closed: false,
      resync: false,
    };
    ctx.onClose(() => {
      created.closed = true;
      clearTimeout(created.timer);
      created.timer = undefined;
    });
    states.set(ctx, created);
    state = created;
  }
  return state;
}

/** Start the subject listener of `ctx` once; resolves when it is listening. */
export function ensureSubjectSync(ctx: ServiceContext): Promise<void> {
  const existing = started.get(ctx);
  if (existing !== undefined) return existing;
  const state = syncStateOf(ctx);
  let closed = false;
  const refresh = async (app: string, subject: string): Promise<void> => {
    const row = await ctx.db
      .selectFrom('subjects')
      .select(['id', 'app_id', 'status', 'birth_date', 'linked_to'])
      .where('id', '=', subject)
      .where('app_id', '=', app)
      .executeTakeFirst();
    // Absent: a notification from another database sharing the server (or a rolled-back insert).
    if (row === undefined || closed) return;
    applySubjectRow(ctx, row);
    state.applied++;
  };
  const promise = ctx.database
    .listen(CHANNELS.subject, (event) => {
      if (closed) return;
      if (event.kind === 'resync') {
        loadSubjectsIntoProjection(ctx).catch((err: unknown) => {
          state.resync = true;
          failed(ctx, [], err);
        });
        return;
      }
      const tab = event.payload.indexOf('\t');
      if (tab <= 0) return;
      const subject = event.payload.slice(tab + 1);
      refresh(event.payload.slice(0, tab), subject).catch((err: unknown) => failed(ctx, [subject], err));
    })
    .then(
      (stop) => {
        ctx.onClose(async () => {
          closed = true;
          await stop();
        });
      },
      (err: unknown) => {
        // Not listening: let the next caller try again rather than failing every write for good.
        started.delete(ctx);
        throw err;
      },
    );
  started.set(ctx, promise);
  return promise;
}
