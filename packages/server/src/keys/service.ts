/**
 * API keys (table `api_keys`) and the operators' subject-token public keys (`subject_token_keys`).
 *
 * - A key is `pipa_<id>_<secret>` (auth/api-key.ts); the secret is returned once by `create` and only
 *   its SHA-256 is stored. Listings never carry the secret or the hash.
 * - A key is bound to one app or, with app null, spans apps (admin keys). It carries scopes; `admin`
 *   implies every scope. Nobody grants a scope they do not hold, and an app-bound caller creates keys
 *   for its own app only.
 * - Revocation and expiry are enforced by the authenticator (keys/authenticator.ts); revoking NOTIFYs
 *   `CHANNELS.apiKey` in the transaction so every node drops the key from its cache at once.
 * - Every change is audited (`key.create`, `key.revoke`, `subject-token-key.set`, …): ids, names and
 *   scopes, never a secret.
 */
import { createPublicKey } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateApiKey } from '../auth/api-key.js';
import { PipaError } from '../errors.js';
import { type Principal, SCOPES, type Scope } from '../http/route.js';
import { CHANNELS, type ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';

export interface ApiKeyRecord {
  id: string;
  appId: string | null;
  name: string;
  scopes: Scope[];
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface CreatedApiKey {
  key: ApiKeyRecord;
  /** `pipa_<id>_<secret>`: shown once, never stored. */
  token: string;
}

export interface CreateKeyInput {
  appId: string | null;
  name: string;
  scopes: readonly string[];
  expiresAt?: number | null;
  /** Who creates it: checked against what it grants (null: the operator at the console, e.g. the CLI). */
  creator: Principal | null;
  actor: string;
  requestId?: string | null;
}

export interface SubjectTokenKeyRecord {
  appId: string;
  kid: string;
  publicKey: string;
  createdAt: number;
  createdBy: string | null;
  revokedAt: number | null;
}

export interface KeyService {
  create(input: CreateKeyInput): Promise<CreatedApiKey>;
  /** Keys of one app (`appId`), of no app (`null`), or all (undefined); revoked ones only when asked. */
  list(filter?: { appId?: string | null; includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  get(id: string): Promise<ApiKeyRecord>;
  revoke(id: string, actor: string, requestId?: string | null): Promise<ApiKeyRecord>;
  /**
   * Called after a revocation (of an API key: its id; of a subject-token key: `subject-token:<app>`)
   * has committed, in this process: the local authenticator drops its cache entry without waiting for
   * the notification. Returns an unsubscribe function.
   */
  onRevoke(listener: (what: string) => void): () => void;
  /**
   * First start: create the one-time admin key, once per installation (the first process to claim
   * `service_meta.bootstrap_admin_key` wins), and only if no usable admin key exists. Returns the key
   * (with its token) to print, or null.
   */
  bootstrapAdminKey(): Promise<CreatedApiKey | null>;
  setSubjectTokenKey(input: {
    appId: string;
    kid: string;
    publicKey: string;
    actor: string;
    requestId?: string | null;
  }): Promise<SubjectTokenKeyRecord>;
  listSubjectTokenKeys(appId: string): Promise<SubjectTokenKeyRecord[]>;
  revokeSubjectTokenKey(appId: string, kid: string, actor: string, requestId?: string | null): Promise<SubjectTokenKeyRecord>;
}

export const KEY_NAME_MAX = 100;
const KID = /^[A-Za-z0-9._-]{1,64}$/;

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

type KeyRow = Schema['api_keys'];

export function toKeyRecord(row: {
  id: string;
  app_id: string | null;
  name: string;
  scopes: string;
  created_at: number;
  created_by: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}): ApiKeyRecord {
  const scopes = (JSON.parse(row.scopes) as unknown[]).filter((s): s is Scope => typeof s === 'string' && isScope(s));
  return {
    id: row.id,
    appId: row.app_id,
    name: row.name,
    scopes,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

const KEY_COLUMNS = ['id', 'app_id', 'name', 'scopes', 'created_at', 'created_by', 'expires_at', 'revoked_at', 'last_used_at'] as const;

const toTokenKey = (r: Schema['subject_token_keys']): SubjectTokenKeyRecord => ({
  appId: r.app_id,
  kid: r.kid,
  publicKey: r.public_key,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

async function requireAppRow(db: Kysely<Schema>, appId: string, path: string): Promise<void> {
  const app = await db.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
  if (app === undefined)
    throw new PipaError('unknown_app', `unknown app ${appId}`, [{ path, message: `no app ${appId} has been published` }]);
}

/** Normalise an Ed25519 public key given as PEM (SPKI) to canonical PEM, or throw validation_failed. */
export function normaliseEd25519PublicKey(pem: string): string {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'non-asymmetric'} key`);
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    throw new PipaError('validation_failed', 'publicKey must be an Ed25519 public key in PEM (SPKI) form', [
      { path: '$.body.publicKey', message: `not an Ed25519 public key (${(err as Error).message.slice(0, 80)})` },
    ]);
  }
}

export function createKeyService(ctx: ServiceContext): KeyService {
  const db = ctx.db;
  const revokeListeners = new Set<(what: string) => void>();
  const revoked = (what: string) => {
    for (const l of revokeListeners) l(what);
  };

  const requireKey = async (executor: Kysely<Schema>, id: string): Promise<ApiKeyRecord> => {
    const row = await executor.selectFrom('api_keys').select(KEY_COLUMNS).where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new PipaError('not_found', `no API key ${id}`, [{ path: '$.params.id', message: 'unknown key id' }]);
    return toKeyRecord(row);
  };

  const insertKey = async (
    trx: Kysely<Schema>,
    input: {
      appId: string | null;
      name: string;
      scopes: Scope[];
      expiresAt: number | null;
      actor: string;
      requestId: string | null;
      bootstrap?: boolean;
    },
  ): Promise<CreatedApiKey> => {
    const generated = generateApiKey();
    const at = ctx.clock();
    const row: KeyRow = {
      id: generated.id,
      app_id: input.appId,
      name: input.name,
      hash: generated.hash,
      scopes: JSON.stringify(input.scopes),
      created_at: at,
      created_by: input.actor,
      expires_at: input.expiresAt,
      revoked_at: null,
      last_used_at: null,
    };
    await trx.insertInto('api_keys').values(row).execute();
    await ctx.audit.append(trx, {
      actor: input.actor,
      action: 'key.create',
      appId: input.appId,
      requestId: input.requestId,
      details: {
        keyId: generated.id,
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt,
        ...(input.bootstrap === true ? { bootstrap: true } : {}),
      },
    });
    return { key: toKeyRecord(row), token: generated.token };
  };

  return {
    async create(input) {
      const name = input.name.trim();
      if (name === '' || name.length > KEY_NAME_MAX) {
        throw new PipaError('validation_failed', `a key needs a name of 1 to ${KEY_NAME_MAX} characters`, [
          { path: '$.body.name', message: `1 to ${KEY_NAME_MAX} characters` },
        ]);
      }
      if (input.scopes.length === 0) {
        throw new PipaError('validation_failed', 'a key needs at least one scope', [{ path: '$.body.scopes', message: 'empty' }]);
      }
      const scopes: Scope[] = [];
      input.scopes.forEach((s, i) => {
        if (!isScope(s)) {
          throw new PipaError('validation_failed', `unknown scope ${s}`, [
            { path: `$.body.scopes[${i}]`, message: `must be one of ${SCOPES.join(', ')}` },
          ]);
        }
        if (!scopes.includes(s)) scopes.push(s);
      });
      scopes.sort();
      const now = ctx.clock();
      if (input.expiresAt !== undefined && input.expiresAt !== null && (!Number.isSafeInteger(input.expiresAt) || input.expiresAt <= now)) {
        throw new PipaError('validation_failed', 'expiresAt must be a time in the future (ms since the epoch)', [
          { path: '$.body.expiresAt', message: 'must be in the future' },
        ]);
      }
      const creator = input.creator;
      if (creator !== null) {
        if (creator.kind !== 'api-key') throw new PipaError('forbidden', 'only an API key can create keys');
        if (creator.appId !== null && creator.appId !== input.appId) {
          throw new PipaError('forbidden', 'a key bound to an app can create keys for that app only', [
            { path: '$.body.app', message: `must be ${creator.appId}` },
          ]);
        }
        if (!creator.scopes.has('admin')) {
          const missing = scopes.filter((s) => !creator.scopes.has(s));
          if (missing.length > 0) {
            throw new PipaError('forbidden', `a key cannot grant scopes it does not hold (${missing.join(', ')})`, [
              { path: '$.body.scopes', message: `not held by the caller: ${missing.join(', ')}` },
            ]);
          }
        }
      }
      return withTransaction(db, async (trx) => {
        if (input.appId !== null) await requireAppRow(trx, input.appId, '$.body.app');
        return insertKey(trx, {
          appId: input.appId,
          name,
          scopes,
          expiresAt: input.expiresAt ?? null,
          actor: input.actor,
          requestId: input.requestId ?? null,
        });
      });
    },

    async list(filter = {}) {
      // An app that was never published is an error, as when creating a key for it, not an empty list.
      if (typeof filter.appId === 'string') await requireAppRow(db, filter.appId, '$.query.app');
      let q = db.selectFrom('api_keys').select(KEY_COLUMNS).orderBy('created_at').orderBy('id');
      if (filter.appId !== undefined) q = filter.appId === null ? q.where('app_id', 'is', null) : q.where('app_id', '=', filter.appId);
      if (filter.includeRevoked !== true) q = q.where('revoked_at', 'is', null);
      return (await q.execute()).map(toKeyRecord);
    },

    get: (id) => requireKey(db, id),

    onRevoke(listener) {
      revokeListeners.add(listener);
      return () => revokeListeners.delete(listener);
    },

    async revoke(id, actor, requestId) {
      const result = await withTransaction(db, async (trx) => {
        const key = await requireKey(trx, id);
        if (key.revokedAt !== null) return key;
        const at = ctx.clock();
        await trx.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
        await ctx.audit.append(trx, {
          actor,
          action: 'key.revoke',
          appId: key.appId,
          requestId: requestId ?? null,
          details: { keyId: id, name: key.name },
        });
        await ctx.database.notify(CHANNELS.apiKey, id, trx);
        return { ...key, revokedAt: at };
      });
      revoked(id);
      return result;
    },

    async bootstrapAdminKey() {
      return withTransaction(db, async (trx) => {
        const at = ctx.clock();
        const claimed = await trx
          .insertInto('service_meta')
          .values({ key: 'bootstrap_admin_key', value: 'claiming', created_at: at })
          .onConflict((oc) => oc.column('key').doNothing())
          .returning('key')
          .execute();
        if (claimed.length === 0) return null;
        const rows = await trx
          .selectFrom('api_keys')
          .select(['scopes', 'expires_at'])
          .where('app_id', 'is', null)
          .where('revoked_at', 'is', null)
          .execute();
        const usableAdmin = rows.some(
          (r) => (r.expires_at === null || r.expires_at > at) && (JSON.parse(r.scopes) as unknown[]).includes('admin'),
        );
        if (usableAdmin) {
          await trx.updateTable('service_meta').set({ value: 'existing' }).where('key', '=', 'bootstrap_admin_key').execute();
          return null;
        }
        const created = await insertKey(trx, {
          appId: null,
          name: 'admin (first start)',
          scopes: ['admin'],
          expiresAt: null,
          actor: 'system',
          requestId: null,
          bootstrap: true,
        });
        await trx.updateTable('service_meta').set({ value: created.key.id }).where('key', '=', 'bootstrap_admin_key').execute();
        return created;
      });
    },

    async setSubjectTokenKey(input) {
      if (!KID.test(input.kid)) {
        throw new PipaError('validation_failed', 'kid must be 1 to 64 letters, digits, dots, dashes or underscores', [
          { path: '$.params.kid', message: 'invalid key id' },
        ]);
      }
      const publicKey = normaliseEd25519PublicKey(input.publicKey);
      return withTransaction(db, async (trx) => {
        await requireAppRow(trx, input.appId, '$.params.app');
        const at = ctx.clock();
        const existing = await trx
          .selectFrom('subject_token_keys')
          .selectAll()
          .where('app_id', '=', input.appId)
          .where('kid', '=', input.kid)
          .executeTakeFirst();
        if (existing !== undefined) {
          if (existing.public_key === publicKey && existing.revoked_at === null) return toTokenKey(existing);
          throw new PipaError('conflict', `app ${input.appId} already has a subject-token key ${input.kid}; use a new kid to rotate`, [
            { path: '$.params.kid', message: 'kid in use (keys are never replaced under the same kid)' },
          ]);
        }
        const row = {
          app_id: input.appId,
          kid: input.kid,
          public_key: publicKey,
          created_at: at,
          created_by: input.actor,
          revoked_at: null,
        };
        await trx.insertInto('subject_token_keys').values(row).execute();
        await ctx.audit.append(trx, {
          actor: input.actor,
          action: 'subject-token-key.set',
          appId: input.appId,
          requestId: input.requestId ?? null,
          details: { kid: input.kid },
        });
        await ctx.database.notify(CHANNELS.apiKey, `subject-token:${input.appId}`, trx);
        return toTokenKey(row);
      });
    },

    async listSubjectTokenKeys(appId) {
      await requireAppRow(db, appId, '$.params.app');
      const rows = await db
        .selectFrom('subject_token_keys')
        .selectAll()
        .where('app_id', '=', appId)
        .orderBy('created_at')
        .orderBy('kid')
        .execute();
      return rows.map(toTokenKey);
    },

    async revokeSubjectTokenKey(appId, kid, actor, requestId) {
      const result = await withTransaction(db, async (trx) => {
        await requireAppRow(trx, appId, '$.params.app');
        const row = await trx
          .selectFrom('subject_token_keys')
          .selectAll()
          .where('app_id', '=', appId)
          .where('kid', '=', kid)
          .executeTakeFirst();
        if (row === undefined)
          throw new PipaError('not_found', `app ${appId} has no subject-token key ${kid}`, [
            { path: '$.params.kid', message: 'unknown kid' },
          ]);
        if (row.revoked_at !== null) return toTokenKey(row);
        const at = ctx.clock();
        await trx.updateTable('subject_token_keys').set({ revoked_at: at }).where('app_id', '=', appId).where('kid', '=', kid).execute();
        await ctx.audit.append(trx, { actor, action: 'subject-token-key.revoke', appId, requestId: requestId ?? null, details: { kid } });
        await ctx.database.notify(CHANNELS.apiKey, `subject-token:${appId}`, trx);
        return toTokenKey({ ...row, revoked_at: at });
      });
      revoked(`subject-token:${appId}`);
      return result;
    },
  };
}
