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
  /** Keys of subjects that have one (missing subjects are absent from the map). */
  forRead(appId: string, subjectIds: readonly string[]): Promise<Map<string, SubjectKey>>;
  /** The fresh key's row has committed: cache it. */
  committed(key: SubjectKey): void;
  /** The fresh key will not be stored (its write failed or was refused). */
  discard(key: SubjectKey): void;
  /** Drop and destroy the in-memory key (crypto-shredding; also on another node's change notice). */
  shred(appId: string, subjectId: string): void;
}

/** Entries of the suite map before it is cleared (the keys themselves live in `ctx.dataKeys`). */
const MAX_SUITES = 50_000;

export function createKeyStore(ctx: ServiceContext): KeyStore {
  const suites = new Map<string, SuiteName>();
  const fresh = new Map<string, SubjectKey>();
  const inflight = new Map<string, Promise<SubjectKey>>();
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

  const loadOrCreate = async (appId: string, subjectId: string): Promise<SubjectKey> => {
    const row = await ctx.db
      .selectFrom('data_keys')
      .select(['wrapped_dek', 'suite'])
      .where('subject_id', '=', subjectId)
      .where('app_id', '=', appId)
      .executeTakeFirst();
    if (row !== undefined) return unwrapRow(appId, subjectId, row);
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

  return {
    forWrite(appId, subjectId) {
      const hit = cached(appId, subjectId);
      if (hit !== undefined) return Promise.resolve(hit);
      const k = id(appId, subjectId);
      const f = fresh.get(k);
      if (f !== undefined) return Promise.resolve(f);
      let p = inflight.get(k);
      if (p === undefined) {
        p = loadOrCreate(appId, subjectId).finally(() => inflight.delete(k));
        inflight.set(k, p);
      }
      return p;
    },
    async forRead(appId, subjectIds) {
      const out = new Map<string, SubjectKey>();
      const missing: string[] = [];
      for (const s of subjectIds) {
        const hit = cached(appId, s);
        if (hit !== undefined) out.set(s, hit);
        else missing.push(s);
      }
      if (missing.length === 0) return out;
      const rows = await ctx.db
        .selectFrom('data_keys')
        .select(['subject_id', 'wrapped_dek', 'suite'])
        .where('app_id', '=', appId)
        .where('subject_id', 'in', missing)
        .execute();
      for (const row of rows) out.set(row.subject_id, await unwrapRow(appId, row.subject_id, row));
      return out;
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
  };
}
