/**
 * The vault's data keys: one per subject (docs/crypto.md §2), created on the subject's first write,
 * stored wrapped in `data_keys` with the suite of the deployment at that time, and kept unwrapped in
 * `ctx.dataKeys` (LRU, TTL) so the hot path neither reads the row nor calls the master key.
 *
 * A key created for a write is "fresh" until the transaction that inserts its wrapped form commits:
 * concurrent writes to the same new subject share it (one key per subject, never two), and reads do
 * not see it (the fields it encrypts are not committed either).
 */
import type { DataKey } from '../crypto/data-key.js';
import type { SuiteName } from '../crypto/suites.js';
import type { ServiceContext } from '../service/context.js';
import { param, preparedIn } from '../store/prepared.js';

export interface SubjectKey {
  readonly appId: string;
  readonly subjectId: string;
  readonly dek: DataKey;
  readonly suite: SuiteName;
  /** The wrapped key to insert while it is not stored yet. */
  readonly wrapped: Buffer | undefined;
  readonly kekVersion: number | undefined;
  /** False for a fresh key until the transaction inserting it has committed. */
  stored: boolean;
}

export interface KeyStore {
  /** The subject's key, loading it, or generating a fresh one when the subject has none. */
  forWrite(appId: string, subjectId: string): Promise<SubjectKey>;
  /**
   * Data keys of subjects that have one (missing subjects are absent from the map). Reads need no
   * suite: an envelope names its own.
   */
  forRead(appId: string, subjectIds: readonly string[]): Promise<Map<string, DataKey>>;
  /**
   * The key of a subject whose wrapped key came with its record (a read): unwrapped and cached. A
   * concurrent load of the same key is harmless (both unwrap the same material).
   */
  adopt(appId: string, subjectId: string, wrapped: Buffer, suite: string | null): Promise<DataKey>;
  /** The fresh key's row has committed: cache it. */
  committed(key: SubjectKey): void;
  /** The fresh key will not be stored (its write failed or was refused). */
  discard(key: SubjectKey): void;
  /** Drop and destroy the in-memory key (crypto-shredding of an erasure here). */
  shred(appId: string, subjectId: string): void;
  /**
   * Drop the in-memory key without destroying it (a change notified by any node, this one included:
   * the next request loads the key again, or finds it gone; requests holding it finish). Returns the
   * key dropped, for the caller to destroy once it knows the subject was erased.
   */
  drop(appId: string, subjectId: string): DataKey | undefined;
}

/** Entries of the suite map before it is cleared (the keys themselves live in `ctx.dataKeys`). */
const MAX_SUITES = 50_000;

export function createKeyStore(ctx: ServiceContext): KeyStore {
  const suites = new Map<string, SuiteName>();
  const fresh = new Map<string, SubjectKey>();
  /** Loads under way, by subject; `create` when a write asked (then a missing key is generated). */
  const inflight = new Map<string, { promise: Promise<SubjectKey | undefined>; create: boolean }>();
  interface Request {
    appId: string;
    subjectId: string;
    create: boolean;
    resolve: (key: SubjectKey | undefined) => void;
    reject: (err: unknown) => void;
  }
  let queue: Request[] = [];
  let scheduled = false;
  const id = (appId: string, subjectId: string) => `${appId}\u0000${subjectId}`;

  const remember = (appId: string, subjectId: string, dek: DataKey, suite: SuiteName) => {
    if (suites.size >= MAX_SUITES) suites.clear();
    suites.set(id(appId, subjectId), suite);
    ctx.dataKeys.set(appId, subjectId, dek);
  };

  const cached = (appId: string, subjectId: string): SubjectKey | undefined => {
    const suite = suites.get(id(appId, subjectId));
    if (suite === undefined) return undefined;
    const dek = ctx.dataKeys.get(appId, subjectId);
    if (dek === undefined) return undefined;
    return { appId, subjectId, dek, suite, wrapped: undefined, kekVersion: undefined, stored: true };
  };

  const unwrapRow = async (appId: string, subjectId: string, row: { wrapped_dek: Buffer; suite: string }): Promise<SubjectKey> => {
    const dek = await ctx.keyring.unwrapDataKey(row.wrapped_dek, { app: appId, subject: subjectId });
    const suite = row.suite as SuiteName;
    remember(appId, subjectId, dek, suite);
    return { appId, subjectId, dek, suite, wrapped: undefined, kekVersion: undefined, stored: true };
  };

  const generate = async (appId: string, subjectId: string): Promise<SubjectKey> => {
    const { dataKey, wrapped } = await ctx.keyring.generateDataKey({ app: appId, subject: subjectId });
    const key: SubjectKey = {
      appId,
      subjectId,
      dek: dataKey,
      suite: ctx.suite,
      wrapped,
      kekVersion: wrapped.readUInt32BE(2),
      stored: false,
    };
    fresh.set(id(appId, subjectId), key);
    return key;
  };

  /** The wrapped keys of some of an app's subjects: a few prepared statements (preparedIn). */
  const selectKeys = preparedIn<{ subject_id: string; wrapped_dek: Buffer; suite: string }, 'app'>(
    (ids) =>
      ctx.db
        .selectFrom('data_keys')
        .select(['subject_id', 'wrapped_dek', 'suite'])
        .where('app_id', '=', param('app'))
        .where('subject_id', 'in', ids),
    ['app'],
  );

  /**
   * Every request queued in this turn of the event loop (requests that arrived together over HTTP
   * included): one query per app (and up to 256 subjects) for all of them.
   */
  const load = async (requests: Request[]): Promise<void> => {
    const byApp = new Map<string, Request[]>();
    for (const r of requests) {
      const list = byApp.get(r.appId);
      if (list === undefined) byApp.set(r.appId, [r]);
      else list.push(r);
    }
    for (const [appId, list] of byApp) {
      try {
        const rows = await selectKeys(ctx.db, [...new Set(list.map((r) => r.subjectId))], { app: appId });
        const found = new Map(rows.map((row) => [row.subject_id, row]));
        await Promise.all(
          list.map(async (r) => {
            try {
              const row = found.get(r.subjectId);
              if (row !== undefined) r.resolve(await unwrapRow(appId, r.subjectId, row));
              else if (r.create) r.resolve(fresh.get(id(appId, r.subjectId)) ?? (await generate(appId, r.subjectId)));
              else r.resolve(undefined);
            } catch (err) {
              r.reject(err);
            }
          }),
        );
      } catch (err) {
        for (const r of list) r.reject(err);
      }
    }
  };

  const request = (appId: string, subjectId: string, create: boolean): Promise<SubjectKey | undefined> => {
    const k = id(appId, subjectId);
    const running = inflight.get(k);
    if (running !== undefined && (running.create || !create)) return running.promise;
    const promise = new Promise<SubjectKey | undefined>((resolve, reject) => {
      queue.push({ appId, subjectId, create, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        // The next turn, not the next microtask: requests parsed in the same turn (concurrent HTTP
        // requests) share the query.
        setImmediate(() => {
          scheduled = false;
          const batch = queue;
          queue = [];
          void load(batch);
        });
      }
    }).finally(() => {
      if (inflight.get(k)?.promise === promise) inflight.delete(k);
    });
    inflight.set(k, { promise, create });
    return promise;
  };

  return {
    async forWrite(appId, subjectId) {
      const hit = cached(appId, subjectId) ?? fresh.get(id(appId, subjectId));
      if (hit !== undefined) return hit;
      const key = await request(appId, subjectId, true);
      if (key === undefined) throw new Error('data key load returned nothing for a write');
      return key;
    },
    async forRead(appId, subjectIds) {
      const out = new Map<string, DataKey>();
      const missing: string[] = [];
      for (const s of subjectIds) {
        const hit = ctx.dataKeys.get(appId, s);
        if (hit !== undefined) out.set(s, hit);
        else missing.push(s);
      }
      if (missing.length === 0) return out;
      const keys = await Promise.all(missing.map((s) => request(appId, s, false)));
      keys.forEach((k, i) => {
        if (k?.stored) out.set(missing[i] as string, k.dek);
      });
      return out;
    },
    async adopt(appId, subjectId, wrapped, suite) {
      const key = await unwrapRow(appId, subjectId, { wrapped_dek: wrapped, suite: suite ?? ctx.suite });
      return key.dek;
    },
    committed(key) {
      if (key.stored) return;
      key.stored = true;
      const k = id(key.appId, key.subjectId);
      if (fresh.get(k) === key) fresh.delete(k);
      remember(key.appId, key.subjectId, key.dek, key.suite);
    },
    discard(key) {
      if (key.stored) return;
      const k = id(key.appId, key.subjectId);
      if (fresh.get(k) === key) fresh.delete(k);
    },
    shred(appId, subjectId) {
      const k = id(appId, subjectId);
      suites.delete(k);
      fresh.get(k)?.dek.destroy();
      fresh.delete(k);
      ctx.dataKeys.shred(appId, subjectId);
    },
    drop(appId, subjectId) {
      suites.delete(id(appId, subjectId));
      return ctx.dataKeys.drop(appId, subjectId);
    },
  };
}
