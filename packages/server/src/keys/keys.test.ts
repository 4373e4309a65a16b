import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateTokenKeyPair, signSubjectToken } from '../auth/subject-token.js';
import { PipaError } from '../errors.js';
import type { AuthMode, Principal, Scope } from '../http/route.js';
import { openServiceContext, type ServiceContext } from '../service/context.js';
import { loadExample, openTestContext, publishForTest } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService } from '../subjects/service.js';
import { createVaultService } from '../vault/service.js';
import { createKeyAuthenticator, type KeyAuthenticator, MAX_CACHED_ENTRIES } from './authenticator.js';
import { rotateMasterKey } from './rotate.js';
import { createKeyService, type KeyService } from './service.js';

const APP = 'xiaopiaopiao-merchant';
const req = (token: string | undefined): FastifyRequest =>
  ({ headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }) as unknown as FastifyRequest;

async function failure(p: Promise<unknown>): Promise<PipaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PipaError) return err;
    throw err;
  }
  throw new Error('expected a PipaError');
}

const admin: Principal = { kind: 'api-key', keyId: 'key_adminadminad', appId: null, scopes: new Set<Scope>(['admin']) };

forEachDialect('api keys', (dctx) => {
  let now = Date.UTC(2026, 0, 1);
  let ctx: ServiceContext;
  let keys: KeyService;
  let auth: KeyAuthenticator;
  const authenticate = (token: string | undefined, mode: AuthMode = 'api-key') => auth.authenticate(req(token), mode);

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { clock: () => now });
    keys = createKeyService(ctx);
    auth = await createKeyAuthenticator(ctx, { cacheTtlMs: 60_000, lastUsedFlushMs: 3_600_000 });
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('creates a key whose token is shown once; listings carry neither the secret nor the hash', async () => {
    const created = await keys.create({
      appId: APP,
      name: 'backend',
      scopes: ['vault:write', 'decide', 'decide'],
      creator: admin,
      actor: 'key_adminadminad',
    });
    expect(created.token).toMatch(/^pipa_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.key).toMatchObject({ appId: APP, name: 'backend', scopes: ['decide', 'vault:write'], revokedAt: null });
    const listed = await keys.list({ appId: APP });
    expect(listed.map((k) => k.id)).toContain(created.key.id);
    expect(JSON.stringify(listed)).not.toContain(created.token.slice(18));
    expect(Object.keys(listed[0] ?? {})).not.toContain('hash');
    const row = await dctx.db.selectFrom('api_keys').select('hash').where('id', '=', created.key.id).executeTakeFirstOrThrow();
    expect(row.hash).toHaveLength(32);
    const [event] = (await ctx.audit.events({ appId: APP })).filter((e) => e.action === 'key.create');
    expect(event?.details).toMatchObject({ keyId: created.key.id, scopes: ['decide', 'vault:write'] });
    expect(JSON.stringify(event)).not.toContain(created.token);
  });

  it('authenticates a key from the cache, refuses wrong secrets, unknown ids and malformed tokens', async () => {
    const { token, key } = await keys.create({ appId: APP, name: 'reader', scopes: ['vault:read'], creator: null, actor: 'cli' });
    const p = await authenticate(token);
    expect(p).toMatchObject({ kind: 'api-key', keyId: key.id, appId: APP });
    expect(p?.kind === 'api-key' && [...p.scopes]).toEqual(['vault:read']);
    const [prefix, id] = token.split('_');
    expect(await authenticate(`${prefix}_${id}_${'A'.repeat(43)}`)).toBeNull();
    // The entry now remembers the verified secret: a secret differing in its last character (the
    // comparison with the remembered one runs to the end) is refused, and the right one still passes.
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(await authenticate(`${token.slice(0, -1)}${last}`)).toBeNull();
    expect(await authenticate(token)).toMatchObject({ keyId: key.id });
    // Another key's secret under this key's id is refused.
    const other = await keys.create({ appId: APP, name: 'other', scopes: ['vault:read'], creator: null, actor: 'cli' });
    expect(await authenticate(`${prefix}_${id}_${other.token.slice(-43)}`)).toBeNull();
    expect(await authenticate(other.token)).toMatchObject({ keyId: other.key.id });
    expect(await authenticate(`pipa_aaaaaaaaaaaa_${'A'.repeat(43)}`)).toBeNull();
    expect(await authenticate('pipa_short')).toBeNull();
    expect(await authenticate(undefined)).toBeNull();
    // The key verifies whatever the route takes: the route, not the authenticator, refuses its kind (403).
    expect(await authenticate(token, 'subject')).toMatchObject({ kind: 'api-key' });
    expect(await authenticate(`pipa_aaaaaaaaaaaa_${'A'.repeat(43)}`, 'subject')).toBeNull();
  });

  it('revocation takes effect at once on this node and is audited; expiry is enforced', async () => {
    const { token, key } = await keys.create({ appId: APP, name: 'short', scopes: ['decide'], creator: null, actor: 'cli' });
    expect(await authenticate(token)).not.toBeNull();
    const revoked = await keys.revoke(key.id, 'cli');
    expect(revoked.revokedAt).toBe(now);
    const deadline = Date.now() + 2000;
    while ((await authenticate(token)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await authenticate(token)).toBeNull();
    expect((await keys.list({ appId: APP })).map((k) => k.id)).not.toContain(key.id);
    expect((await keys.list({ appId: APP, includeRevoked: true })).map((k) => k.id)).toContain(key.id);
    expect((await keys.revoke(key.id, 'cli')).revokedAt).toBe(revoked.revokedAt);
    expect(
      (await ctx.audit.events({ appId: APP })).some((e) => e.action === 'key.revoke' && (e.details as { keyId: string }).keyId === key.id),
    ).toBe(true);

    const exp = await keys.create({ appId: APP, name: 'expiring', scopes: ['decide'], expiresAt: now + 1000, creator: null, actor: 'cli' });
    expect(await authenticate(exp.token)).not.toBeNull();
    now += 1000;
    expect(await authenticate(exp.token)).toBeNull();
  });

  it('writes last-used times in a batch, not per request', async () => {
    const { token, key } = await keys.create({ appId: APP, name: 'used', scopes: ['decide'], creator: null, actor: 'cli' });
    await authenticate(token);
    now += 5;
    await authenticate(token);
    expect((await keys.get(key.id)).lastUsedAt).toBeNull();
    await auth.flushLastUsed();
    expect((await keys.get(key.id)).lastUsedAt).toBe(now);
  });

  it('rejects bad key requests and writes nothing', async () => {
    const before = (await keys.list({ includeRevoked: true })).length;
    const cases: [Promise<unknown>, string, number][] = [
      [keys.create({ appId: APP, name: ' ', scopes: ['decide'], creator: null, actor: 'cli' }), '$.body.name', 400],
      [keys.create({ appId: APP, name: 'x', scopes: [], creator: null, actor: 'cli' }), '$.body.scopes', 400],
      [keys.create({ appId: APP, name: 'x', scopes: ['decide', 'root'], creator: null, actor: 'cli' }), '$.body.scopes[1]', 400],
      [
        keys.create({ appId: APP, name: 'x', scopes: ['decide'], expiresAt: now - 1, creator: null, actor: 'cli' }),
        '$.body.expiresAt',
        400,
      ],
      [keys.create({ appId: 'nope', name: 'x', scopes: ['decide'], creator: null, actor: 'cli' }), '$.body.app', 404],
    ];
    for (const [p, path, status] of cases) {
      const err = await failure(p);
      expect(err.status).toBe(status);
      expect(err.details?.[0]?.path).toBe(path);
    }
    const bound: Principal = { kind: 'api-key', keyId: 'key_boundboundbo', appId: APP, scopes: new Set<Scope>(['keys:manage', 'decide']) };
    expect((await failure(keys.create({ appId: 'shengshitong', name: 'x', scopes: ['decide'], creator: bound, actor: 'k' }))).code).toBe(
      'forbidden',
    );
    expect((await failure(keys.create({ appId: APP, name: 'x', scopes: ['vault:read-plain'], creator: bound, actor: 'k' }))).code).toBe(
      'forbidden',
    );
    expect((await failure(keys.create({ appId: null, name: 'x', scopes: ['decide'], creator: bound, actor: 'k' }))).code).toBe('forbidden');
    expect((await failure(keys.revoke('key_aaaaaaaaaaaa', 'k'))).code).toBe('not_found');
    expect((await keys.list({ includeRevoked: true })).length).toBe(before);
    // A bound key may create a narrower key for its own app.
    const ok = await keys.create({ appId: APP, name: 'narrow', scopes: ['decide'], creator: bound, actor: 'k' });
    expect(ok.key.scopes).toEqual(['decide']);
  });

  it('creates the first-start admin key once', async () => {
    const fresh = await openTestContext(await dctx.fresh(), { examples: [] });
    try {
      const service = createKeyService(fresh);
      const first = await service.bootstrapAdminKey();
      expect(first?.key).toMatchObject({ appId: null, scopes: ['admin'] });
      expect(await service.bootstrapAdminKey()).toBeNull();
      const a = await createKeyAuthenticator(fresh);
      expect(await a.authenticate(req(first?.token), 'api-key')).toMatchObject({ appId: null });
    } finally {
      await fresh.close();
    }
  });

  it('verifies subject tokens with the registered public key and resolves external ids', async () => {
    const { publicKeyPem, privateKeyPem } = generateTokenKeyPair();
    await dctx.db
      .insertInto('subjects')
      .values({
        id: 'sub_tokentest01',
        app_id: APP,
        kind: 'account',
        external_id: 'u-1001',
        linked_to: null,
        status: 'active',
        birth_date: null,
        created_at: now,
        updated_at: now,
        frozen_at: null,
        erased_at: null,
      })
      .execute();
    const sign = (sub: string, kid = 'k1', app = APP) => signSubjectToken(privateKeyPem, kid, { app, sub, now });
    // Before any key is registered: refused.
    expect((await failure(authenticate(sign('u-1001'), 'subject'))).code).toBe('unauthenticated');
    await keys.setSubjectTokenKey({ appId: APP, kid: 'k1', publicKey: publicKeyPem, actor: 'key_adminadminad' });
    await new Promise((r) => setTimeout(r, 20));
    expect(await authenticate(sign('u-1001'), 'subject')).toMatchObject({ kind: 'subject', appId: APP, subjectId: 'sub_tokentest01' });
    expect(await authenticate(sign('sub_tokentest01'), 'api-key-or-subject')).toMatchObject({ subjectId: 'sub_tokentest01' });
    expect((await failure(authenticate(sign('u-404'), 'subject'))).message).toContain('not known');
    expect((await failure(authenticate(sign('u-1001', 'k9'), 'subject'))).message).toContain('unknown token key');
    expect((await failure(authenticate(sign('u-1001', 'k1', 'shengshitong'), 'subject'))).code).toBe('unauthenticated');
    // Verified on an API-key route too (the route answers 403 for its kind); one that does not verify is 401 there too.
    expect(await authenticate(sign('u-1001'), 'api-key')).toMatchObject({ kind: 'subject', subjectId: 'sub_tokentest01' });
    expect((await failure(authenticate(sign('u-1001', 'k9'), 'api-key'))).code).toBe('unauthenticated');
    expect(await authenticate('not-a-token', 'subject')).toBeNull();
    expect(await authenticate('nope', 'api-key')).toBeNull();
    expect(await authenticate('a.b.c', 'api-key')).toBeNull();
    // A token claiming an app that is not published does not verify (and costs no read).
    expect(await authenticate(sign('u-1001', 'k1', 'no-such-app'), 'subject')).toBeNull();
    // Same kid, same key: idempotent; another key under the kid: conflict; not Ed25519: validation.
    expect((await keys.setSubjectTokenKey({ appId: APP, kid: 'k1', publicKey: publicKeyPem, actor: 'a' })).kid).toBe('k1');
    expect(
      (await failure(keys.setSubjectTokenKey({ appId: APP, kid: 'k1', publicKey: generateTokenKeyPair().publicKeyPem, actor: 'a' }))).code,
    ).toBe('conflict');
    expect((await failure(keys.setSubjectTokenKey({ appId: APP, kid: 'k2', publicKey: 'nonsense', actor: 'a' }))).code).toBe(
      'validation_failed',
    );
    expect((await failure(keys.setSubjectTokenKey({ appId: APP, kid: 'bad kid', publicKey: publicKeyPem, actor: 'a' }))).code).toBe(
      'validation_failed',
    );
    expect((await failure(keys.setSubjectTokenKey({ appId: 'nope', kid: 'k2', publicKey: publicKeyPem, actor: 'a' }))).code).toBe(
      'unknown_app',
    );
    // Revoked: refused (the cache is dropped by the notification).
    await keys.revokeSubjectTokenKey(APP, 'k1', 'a');
    await new Promise((r) => setTimeout(r, 20));
    expect((await failure(authenticate(sign('u-1001'), 'subject'))).code).toBe('unauthenticated');
    expect((await keys.listSubjectTokenKeys(APP))[0]?.revokedAt).toBe(now);
  });

  it('keeps at most MAX_CACHED_ENTRIES key entries, however many made-up key ids are tried', async () => {
    const total = MAX_CACHED_ENTRIES + 50;
    // The n-th made-up id: n in base 26, 12 letters.
    const id = (n: number) => {
      let out = '';
      for (let k = 0; k < 12; k++, n = Math.floor(n / 26)) out = String.fromCharCode(97 + (n % 26)) + out;
      return out;
    };
    for (let i = 0; i < total; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, total - i) }, (_, k) => authenticate(`pipa_${id(i + k)}_${'A'.repeat(43)}`)));
    }
    expect(auth.cached).toBeLessThanOrEqual(MAX_CACHED_ENTRIES);
    expect(auth.cached).toBeGreaterThan(MAX_CACHED_ENTRIES - 300);
  });

  it('a key revoked on one node is refused by another within a second', async () => {
    const otherDb = await dctx.connect();
    const other = await openTestContext(otherDb, { examples: [], clock: () => now });
    try {
      const otherAuth = await createKeyAuthenticator(other);
      const { token, key } = await keys.create({ appId: APP, name: 'shared', scopes: ['decide'], creator: null, actor: 'cli' });
      expect(await otherAuth.authenticate(req(token), 'api-key')).not.toBeNull();
      await keys.revoke(key.id, 'cli');
      const start = Date.now();
      // The other node's clock moves too (TTL backstop on SQLite, NOTIFY on PostgreSQL).
      while ((await otherAuth.authenticate(req(token), 'api-key')) !== null && Date.now() - start < 3000) {
        await new Promise((r) => setTimeout(r, 25));
        if (!dctx.caps.listenNotify) now += 50;
      }
      expect(await otherAuth.authenticate(req(token), 'api-key')).toBeNull();
      expect(Date.now() - start).toBeLessThan(1000);
    } finally {
      await other.close();
    }
  });
});

forEachDialect('master key rotation', (dctx) => {
  it('adds a KEK version and re-wraps the system keys and the data keys; the service reopens with them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipa-rotate-'));
    const actor = { id: 'key_test', scopes: new Set(['vault:write', 'vault:read']) };
    try {
      const a = await openServiceContext({ database: dctx.database, dataDir, env: {} });
      await publishForTest(a, loadExample('xiaopiaopiao'));
      const subjects = createSubjectService(a);
      const vault = createVaultService(a, { subjects });
      const subject = await subjects.ensure(a.db, { appId: APP, kind: 'account', externalId: 'rot-1' });
      await vault.put(APP, subject.id, { 'contact.phone': '13812345678' }, actor);
      const index = a.blindIndex.index(APP, 'contact.phone', 'phone', '13812345678');
      // One node (its own provider adds the versions): no other node to wait for.
      const report = await rotateMasterKey(a, { settleMs: 0 });
      expect(report).toMatchObject({
        fromVersion: 1,
        toVersion: 2,
        systemKeys: { rewrapped: 5, failed: 0 },
        dataKeys: { rewrapped: 1, failed: 0 },
        pending: 0,
      });
      const again = await rotateMasterKey(a, { settleMs: 0 });
      expect(again).toMatchObject({ toVersion: 3, systemKeys: { rewrapped: 5 }, dataKeys: { rewrapped: 1 }, pending: 0 });
      await a.close();
      const rows = await dctx.db.selectFrom('system_keys').select('kek_version').execute();
      expect(new Set(rows.map((r) => r.kek_version))).toEqual(new Set([3]));
      const dk = await dctx.db.selectFrom('data_keys').select('kek_version').execute();
      expect(dk.map((r) => r.kek_version)).toEqual([3]);
      const b = await openServiceContext({ database: dctx.database, dataDir, env: {} });
      expect(b.blindIndex.index(APP, 'contact.phone', 'phone', '13812345678').equals(index)).toBe(true);
      const read = await createVaultService(b, { subjects: createSubjectService(b) }).read(APP, subject.id, actor);
      expect(read.fields['contact.phone']?.value).toBe('138****5678');
      await b.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
