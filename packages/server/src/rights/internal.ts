/**
 * Helpers shared by the rights service and its task handlers: the request's own data key (sealing
 * correction values, collected data and the package), the rights system secrets, how the person is
 * found in the operator's datasets, which recipients received their data.
 */
import type { Declaration } from '@pipa/policy';
import type { Kysely } from 'kysely';
import { base32 } from '../crypto/encoding.js';
import { PipaError, shownId } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import type { SubjectKeys } from './connectors/types.js';
import type { ConsentRecord } from './package.js';
import type { RightsActor, RightsVault } from './ports.js';

/**
 * The request key's owner in the keyring: the app and the request id (not a subject). Master key
 * rotation re-wraps `rights_requests.key_wrapped` under this owner (keys/rewrap.ts).
 */
export const requestKeyOwner = (appId: string, requestId: string) => ({ app: appId, subject: requestId });
const owner = requestKeyOwner;

export async function newRequestKey(ctx: ServiceContext, appId: string, requestId: string): Promise<Buffer> {
  const { dataKey, wrapped } = await ctx.keyring.generateDataKey(owner(appId, requestId));
  dataKey.destroy();
  return wrapped;
}

/** Seal `plaintext` under the request key (`name` is bound into the ciphertext). */
export async function seal(
  ctx: ServiceContext,
  appId: string,
  requestId: string,
  wrapped: Uint8Array,
  name: string,
  plaintext: Buffer,
): Promise<Buffer> {
  const dek = await ctx.keyring.unwrapDataKey(wrapped, owner(appId, requestId));
  try {
    return ctx.cipher(ctx.suite).encrypt(dek, plaintext, { app: appId, subject: requestId, field: name });
  } finally {
    dek.destroy();
  }
}

export async function unseal(
  ctx: ServiceContext,
  appId: string,
  requestId: string,
  wrapped: Uint8Array,
  name: string,
  envelope: Uint8Array,
): Promise<Buffer> {
  const dek = await ctx.keyring.unwrapDataKey(wrapped, owner(appId, requestId));
  try {
    return ctx.cipher(ctx.suite).decrypt(dek, envelope, { app: appId, subject: requestId, field: name });
  } finally {
    dek.destroy();
  }
}

/** Purposes of the rights area's secrets in `system_keys`. */
export const RIGHTS_SECRETS = {
  /** HMAC key of one-time verification codes. */
  code: 'rights-code',
  /** Key of the `hash` erasure strategy (keyed hash of erased values in the operator's tables). */
  erasureHash: 'rights-erasure-hash',
  /** Prefix of the keyring purpose of each webhook signing secret (`webhookSecretPurpose`). */
  webhook: 'rights-webhook',
} as const;

/**
 * The keyring purpose a webhook's signing secret (`rights_webhooks.secret_wrapped`) is wrapped under:
 * one per endpoint, so a wrapped secret copied to another endpoint's row does not unwrap. Master key
 * rotation re-wraps the secrets under the same purpose (keys/rewrap.ts).
 */
export function webhookSecretPurpose(appId: string, kind: string, recipient: string): string {
  return `${RIGHTS_SECRETS.webhook}:${appId}:${kind}:${recipient}`;
}

const secretCache = new WeakMap<ServiceContext, Map<string, Promise<Buffer>>>();

/**
 * A rights secret, created on first use (every node agrees: the insert does nothing when another node
 * won). Never call it inside a transaction: it opens its own (on SQLite, a second transaction would wait
 * for the first forever).
 */
export function rightsSecret(ctx: ServiceContext, purpose: string): Promise<Buffer> {
  let cache = secretCache.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    secretCache.set(ctx, cache);
  }
  let p = cache.get(purpose);
  if (p === undefined) {
    p = (async () => {
      const row = await withTransaction(ctx.db, async (trx) => {
        const existing = await trx.selectFrom('system_keys').selectAll().where('purpose', '=', purpose).executeTakeFirst();
        if (existing !== undefined) return existing;
        const { wrapped } = await ctx.keyring.generateSecret(purpose);
        await trx
          .insertInto('system_keys')
          .values({ purpose, wrapped, kek_version: wrapped.readUInt32BE(2), created_at: ctx.clock() })
          .onConflict((oc) => oc.column('purpose').doNothing())
          .execute();
        return trx.selectFrom('system_keys').selectAll().where('purpose', '=', purpose).executeTakeFirstOrThrow();
      });
      return ctx.keyring.unwrapSecret(row.wrapped, purpose);
    })();
    p.catch(() => cache?.delete(purpose));
    cache.set(purpose, p);
  }
  return p;
}

/** The subject and the devices linked to it. */
export async function subjectGroup(db: Kysely<Schema>, appId: string, subjectId: string): Promise<string[]> {
  const devices = await db.selectFrom('subjects').select('id').where('app_id', '=', appId).where('linked_to', '=', subjectId).execute();
  return [subjectId, ...devices.map((d) => d.id)];
}

const KEY_CATEGORIES = { phone: 'contact.phone', email: 'contact.email' } as const;

/**
 * How the operator's datasets find the person: pipa's id, the operator's own id, and the phone numbers
 * and e-mail addresses in the vault (read plain for this request, audited).
 */
export async function subjectKeysOf(
  ctx: ServiceContext,
  vault: RightsVault,
  appId: string,
  subjectId: string,
  actor: RightsActor & { request: string },
): Promise<SubjectKeys> {
  const subject = await ctx.db
    .selectFrom('subjects')
    .select(['external_id'])
    .where('id', '=', subjectId)
    .where('app_id', '=', appId)
    .executeTakeFirst();
  const held = await vault.categories(ctx.db, appId, subjectId);
  const wanted = Object.values(KEY_CATEGORIES).filter((c) => held.includes(c));
  const fields = wanted.length > 0 ? await vault.readAll(appId, subjectId, actor, wanted) : [];
  const phones = fields.filter((f) => f.category === KEY_CATEGORIES.phone).map((f) => f.value);
  const emails = fields.filter((f) => f.category === KEY_CATEGORIES.email).map((f) => f.value);
  return {
    'subject-id': subjectId,
    ...(subject !== undefined && subject.external_id !== null ? { 'external-id': subject.external_id } : {}),
    ...(phones.length > 0 ? { phone: phones } : {}),
    ...(emails.length > 0 ? { email: emails } : {}),
  };
}

/** The person's consent history (their linked devices' included), oldest first. */
export async function consentsOf(db: Kysely<Schema>, appId: string, subjectIds: readonly string[]): Promise<ConsentRecord[]> {
  if (subjectIds.length === 0) return [];
  const rows = await db
    .selectFrom('consent_events')
    .select(['purpose', 'recipient', 'action', 'separate', 'method', 'policy_version', 'at'])
    .where('app_id', '=', appId)
    .where('subject_id', 'in', [...subjectIds])
    .orderBy('seq', 'asc')
    .execute();
  return rows.map((r) => ({
    purpose: r.purpose,
    recipient: r.recipient,
    action: r.action,
    separate: r.separate === 1,
    method: r.method,
    policyVersion: r.policy_version,
    at: Number(r.at),
  }));
}

/**
 * Recipients that may have received the person's data: those the person consented to (the grant for
 * the recipient, or for one of its purposes when the provision needs no separate consent), and those
 * serving a purpose that rests on another basis than consent (the data went to them without asking).
 * Over-notifying a recipient costs one webhook; missing one leaves data behind.
 */
export function recipientsToNotify(declaration: Declaration, consents: readonly ConsentRecord[]): string[] {
  const granted = consents.filter((c) => c.action === 'grant');
  const grantedPurposes = new Set(granted.filter((c) => c.recipient === null).map((c) => c.purpose));
  const grantedRecipients = new Set(granted.filter((c) => c.recipient !== null).map((c) => c.recipient));
  const basisOf = new Map(declaration.purposes.map((p) => [p.id, p.basis]));
  const out: string[] = [];
  for (const r of declaration.recipients ?? []) {
    const viaGrant = grantedRecipients.has(r.id) || (r.consent !== 'separate' && r.purposes.some((p) => grantedPurposes.has(p)));
    const withoutConsent = r.purposes.some((p) => {
      const basis = basisOf.get(p);
      return basis !== undefined && basis !== 'consent';
    });
    if (viaGrant || withoutConsent) out.push(r.id);
  }
  return out;
}

export function newId(prefix: string, random: (n: number) => Buffer): string {
  return `${prefix}_${base32(random(15))}`;
}

export function requireDeclaredCategory(declaration: Declaration, category: string, path: string): void {
  if (!declaration.categories.some((c) => c.id === category)) {
    throw new PipaError('unknown_category', `${path}: app ${declaration.app.id} declares no category ${shownId(category)}`, [
      { path, message: `应用未声明类别 ${shownId(category)} / the app declares no category ${shownId(category)}` },
    ]);
  }
}
