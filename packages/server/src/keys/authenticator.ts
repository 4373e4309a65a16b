/**
 * The `Authenticator` of the HTTP app: API keys and subject tokens, with the database off the hot path.
 *
 * API keys: a verified key row is cached by key id; each request checks the secret against the cached
 * hash (SHA-256, constant-time), the expiry against the clock and the revocation flag. Once a secret
 * has matched, the entry keeps it and the next requests compare with it in constant time instead of
 * hashing again (a SHA-256 call cost as much as validating the request's body; the process holds no
 * less already: every request carries the secret, and the master key is in memory); it is zeroed when
 * the entry is dropped or re-read. The cache is kept honest three ways:
 *   - revocation NOTIFYs `CHANNELS.apiKey` (payload: the key id): every node drops the entry at once
 *     (PostgreSQL LISTEN/NOTIFY; on SQLite the notification is in-process);
 *   - after the LISTEN connection was lost (`resync`) the whole cache is dropped;
 *   - every entry is re-read after `cacheTtlMs` (default 1 s on SQLite, where another process such as
 *     `pipa keys revoke` cannot notify the server; 30 s on PostgreSQL as a backstop).
 * Unknown key ids are cached as absent for the same time, so a flood of bad tokens costs one read per
 * id per TTL. `last_used_at` is kept in memory and written in one batch every `lastUsedFlushMs`
 * (default 60 s) and at stop, not per request.
 *
 * Subject tokens (auth/subject-token.ts): verified against the app's registered Ed25519 public keys
 * (cached per app, invalidated by `CHANNELS.apiKey` payload `subject-token:<app>`); the token's `sub`
 * is a pipa subject id (`sub_…`) or the app's own external id of the account (or device). A request
 * with a subject token is the person's activity (retention's `last-activity` trigger): the time is kept
 * in memory per subject and written with the last-used times (`subjects.last_active_at`, forward only).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { bearer, parseApiKey, secretMatches } from '../auth/api-key.js';
import { SubjectTokenError, verifySubjectToken } from '../auth/subject-token.js';
import { PipaError } from '../errors.js';
import type { Authenticator, AuthMode, Principal, Scope } from '../http/route.js';
import { CHANNELS, type ServiceContext } from '../service/context.js';
import { recordSeenActivity, type SeenActivity } from '../subjects/activity.js';
import { toKeyRecord } from './service.js';

export interface KeyAuthenticatorOptions {
  cacheTtlMs?: number;
  lastUsedFlushMs?: number;
  onError?: (error: Error, context: string) => void;
}

export interface KeyAuthenticator extends Authenticator {
  /** Drop one cached key (or all); `subject-token:<app>` drops an app's subject-token keys. */
  invalidate(keyId?: string): void;
  /** Write the pending last-used times of API keys and last-activity times of subjects now. */
  flushLastUsed(): Promise<void>;
  /** Stop listening and flush (also registered with `ctx.onClose`). */
  stop(): Promise<void>;
  /** Cached key entries (tests). */
  readonly cached: number;
}

interface KeyEntry {
  /** null: no such key (negative entry). */
  hash: Buffer | null;
  principal: Principal | null;
  expiresAt: number | null;
  revoked: boolean;
  loadedAt: number;
  /** The secret (bytes of its base64url text) that last matched `hash`. */
  verified: Buffer | undefined;
}

/** Zero the secret an entry remembers (the entry is being dropped or replaced). */
function forget(entry: KeyEntry | undefined): void {
  entry?.verified?.fill(0);
  if (entry !== undefined) entry.verified = undefined;
}

/**
 * Whether `secret` is the entry's key's: compared in constant time with the secret the entry last
 * verified, else hashed and compared with the entry's stored `hash` (then remembered).
 */
function secretVerified(entry: KeyEntry, hash: Buffer, secret: string): boolean {
  const given = Buffer.from(secret, 'latin1');
  const known = entry.verified;
  if (known !== undefined && known.length === given.length && timingSafeEqual(given, known)) return true;
  if (!secretMatches(secret, hash)) return false;
  forget(entry);
  // A buffer of its own: a small Buffer.from is a slice of a shared pool, which keeping would keep.
  const kept = Buffer.allocUnsafeSlow(given.length);
  given.copy(kept);
  given.fill(0);
  entry.verified = kept;
  return true;
}

interface TokenKeysEntry {
  keys: Map<string, string>;
  loadedAt: number;
}

const SUBJECT_TOKEN_PREFIX = 'subject-token:';

/**
 * Most entries each cache keeps. A request can name any key id or claim any app, and a miss is
 * cached too (so a flood of one unknown id costs one read): without a bound, a flood of distinct
 * made-up ids would grow the caches for as long as the process runs. The oldest entry goes first.
 */
export const MAX_CACHED_ENTRIES = 10_000;

function claimedApp(token: string): string | null {
  const part = token.split('.')[1];
  if (part === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { app?: unknown };
    return typeof claims.app === 'string' ? claims.app : null;
  } catch {
    return null;
  }
}

export async function createKeyAuthenticator(ctx: ServiceContext, options: KeyAuthenticatorOptions = {}): Promise<KeyAuthenticator> {
  const ttl = options.cacheTtlMs ?? (ctx.database.caps.listenNotify ? 30_000 : 1_000);
  const flushEvery = options.lastUsedFlushMs ?? 60_000;
  const keys = new Map<string, KeyEntry>();
  const loading = new Map<string, Promise<KeyEntry>>();
  const tokenKeys = new Map<string, TokenKeysEntry>();
  const lastUsed = new Map<string, number>();
  /** Subject id -> the latest request with its token (subject ids are unique across apps). */
  const activity = new Map<string, SeenActivity>();
  const report = (err: unknown, context: string) => options.onError?.(err instanceof Error ? err : new Error(String(err)), context);

  /** Drop one cached key entry (or all), zeroing the secrets they remember. */
  const dropKeys = (id?: string): void => {
    if (id === undefined) {
      for (const entry of keys.values()) forget(entry);
      keys.clear();
    } else {
      forget(keys.get(id));
      keys.delete(id);
    }
  };

  // Bumped by every invalidation: a read that started before it must not cache what it read.
  let generation = 0;
  const loadKey = (id: string): Promise<KeyEntry> => {
    const pending = loading.get(id);
    if (pending !== undefined) return pending;
    const started = generation;
    const p = (async () => {
      const row = await ctx.db
        .selectFrom('api_keys')
        .select(['id', 'app_id', 'name', 'hash', 'scopes', 'created_at', 'created_by', 'expires_at', 'revoked_at', 'last_used_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      const at = ctx.clock();
      const entry: KeyEntry =
        row === undefined
          ? { hash: null, principal: null, expiresAt: null, revoked: false, loadedAt: at, verified: undefined }
          : {
              hash: Buffer.from(row.hash),
              principal: { kind: 'api-key', keyId: row.id, appId: row.app_id, scopes: new Set<Scope>(toKeyRecord(row).scopes) },
              expiresAt: row.expires_at,
              revoked: row.revoked_at !== null,
              loadedAt: at,
              verified: undefined,
            };
      if (generation === started) {
        forget(keys.get(id));
        keys.delete(id);
        if (keys.size >= MAX_CACHED_ENTRIES) dropKeys(keys.keys().next().value);
        keys.set(id, entry);
      }
      return entry;
    })().finally(() => loading.delete(id));
    loading.set(id, p);
    return p;
  };

  const loadTokenKeys = async (appId: string): Promise<Map<string, string>> => {
    const cached = tokenKeys.get(appId);
    if (cached !== undefined && ctx.clock() - cached.loadedAt < ttl) return cached.keys;
    const rows = await ctx.db
      .selectFrom('subject_token_keys')
      .select(['kid', 'public_key'])
      .where('app_id', '=', appId)
      .where('revoked_at', 'is', null)
      .execute();
    const map = new Map(rows.map((r) => [r.kid, r.public_key] as const));
    tokenKeys.delete(appId);
    if (tokenKeys.size >= MAX_CACHED_ENTRIES) tokenKeys.delete(tokenKeys.keys().next().value as string);
    tokenKeys.set(appId, { keys: map, loadedAt: ctx.clock() });
    return map;
  };

  const resolveSubject = async (appId: string, sub: string): Promise<string | null> => {
    if (sub.startsWith('sub_')) {
      const row = await ctx.db.selectFrom('subjects').select('id').where('id', '=', sub).where('app_id', '=', appId).executeTakeFirst();
      if (row !== undefined) return row.id;
    }
    const rows = await ctx.db
      .selectFrom('subjects')
      .select(['id', 'kind'])
      .where('app_id', '=', appId)
      .where('external_id', '=', sub)
      .execute();
    return (rows.find((r) => r.kind === 'account') ?? rows[0])?.id ?? null;
  };

  const authenticateKey = async (token: string): Promise<Principal | null> => {
    const parsed = parseApiKey(token);
    if (parsed === null) return null;
    const now = ctx.clock();
    let entry = keys.get(parsed.id);
    if (entry === undefined || now - entry.loadedAt >= ttl) entry = await loadKey(parsed.id);
    if (entry.hash === null || entry.principal === null || entry.revoked) return null;
    if (!secretVerified(entry, entry.hash, parsed.secret)) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= now) return null;
    lastUsed.set(parsed.id, now);
    return entry.principal;
  };

  const authenticateSubject = async (token: string): Promise<Principal | null> => {
    const appId = claimedApp(token);
    // A token claiming an app that is not published cannot verify: no database read, nothing cached.
    if (appId === null || ctx.policies.get(appId) === undefined) return null;
    const appKeys = await loadTokenKeys(appId);
    let claims: ReturnType<typeof verifySubjectToken>;
    try {
      claims = verifySubjectToken(token, (kid) => appKeys.get(kid), ctx.clock());
    } catch (err) {
      if (err instanceof SubjectTokenError) throw new PipaError('unauthenticated', `subject token rejected: ${err.message}`);
      throw err;
    }
    const subjectId = await resolveSubject(claims.app, claims.sub);
    if (subjectId === null) throw new PipaError('unauthenticated', `the subject of the token is not known to app ${claims.app}`);
    activity.set(subjectId, { appId: claims.app, subject: subjectId, at: ctx.clock() });
    return { kind: 'subject', appId: claims.app, subjectId, tokenId: claims.jti };
  };

  const flushActivity = async (): Promise<void> => {
    if (activity.size === 0) return;
    const batch = [...activity.values()];
    activity.clear();
    try {
      await ctx.db.transaction().execute((trx) => recordSeenActivity(trx, batch));
    } catch (err) {
      for (const a of batch) if ((activity.get(a.subject)?.at ?? 0) < a.at) activity.set(a.subject, a);
      report(err, 'writing subjects’ last-activity times');
    }
  };

  const flushLastUsed = async (): Promise<void> => {
    await flushActivity();
    if (lastUsed.size === 0) return;
    const batch = [...lastUsed];
    lastUsed.clear();
    try {
      await ctx.db.transaction().execute(async (trx) => {
        for (const [id, at] of batch) {
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
      });
    } catch (err) {
      for (const [id, at] of batch) if ((lastUsed.get(id) ?? 0) < at) lastUsed.set(id, at);
      report(err, 'writing api key last-used times');
    }
  };

  const unlisten = await ctx.database.listen(CHANNELS.apiKey, (event) => {
    generation++;
    if (event.kind === 'resync') {
      dropKeys();
      tokenKeys.clear();
    } else if (event.payload.startsWith(SUBJECT_TOKEN_PREFIX)) {
      tokenKeys.delete(event.payload.slice(SUBJECT_TOKEN_PREFIX.length));
    } else {
      dropKeys(event.payload);
    }
  });
  const timer = setInterval(() => {
    void flushLastUsed();
  }, flushEvery);
  timer.unref();

  let stopped = false;
  const auth: KeyAuthenticator = {
    async authenticate(request: FastifyRequest, _mode: AuthMode) {
      const token = bearer(request.headers.authorization);
      if (token === null) return null;
      // The credential is verified whatever the route takes: one that does not verify is 401 on every
      // route, and only a verified one of the wrong kind is 403 (registerRoute compares its kind with
      // `mode`). Refusing an unverified token as "the wrong kind" answered 403 to `Bearer nope`.
      return token.startsWith('pipa_') ? authenticateKey(token) : authenticateSubject(token);
    },
    invalidate(keyId) {
      generation++;
      if (keyId === undefined) {
        dropKeys();
        tokenKeys.clear();
      } else if (keyId.startsWith(SUBJECT_TOKEN_PREFIX)) tokenKeys.delete(keyId.slice(SUBJECT_TOKEN_PREFIX.length));
      else dropKeys(keyId);
    },
    flushLastUsed,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await unlisten();
      await flushLastUsed();
      dropKeys();
    },
    get cached() {
      return keys.size;
    },
  };
  ctx.onClose(() => auth.stop());
  return auth;
}
