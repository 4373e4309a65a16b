/**
 * Master key rotation over every wrapped column (system keys, data keys, rights request keys, webhook
 * secrets), with a real rights environment: the material re-wrapped under the new version opens to the
 * same plaintext (the package downloads byte for byte, sealed corrections apply, webhooks verify with
 * the secret shown when they were configured) after the old version is retired; an interrupted
 * rotation resumes; rows changed while being re-wrapped keep the change; retirement is refused while a
 * row still names the version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipaError } from '../errors.js';
import { webhookSecretPurpose } from '../rights/internal.js';
import { openRightsHarness, type Receiver, type RightsHarness, startReceiver, XPP } from '../rights/test-support.js';
import { verifyWebhookSignature } from '../rights/webhook.js';
import { openServiceContext, type ServiceContext } from '../service/context.js';
import { SCHEMA_COLUMNS } from '../store/schema.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService } from '../subjects/service.js';
import { createVaultService } from '../vault/service.js';
import { kekVersionOf, WRAPPED_COLUMNS, wrappedKeyUsage } from './rewrap.js';
import { masterKeyStatus, pendingRewraps, retireMasterKeyVersion, rotateMasterKey } from './rotate.js';

const STAFF = { id: 'key_staff00000001' };
const PERSON = { id: 'subject' };

async function merchant(h: RightsHarness, externalId: string, phone: string): Promise<string> {
  const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId });
  await h.vault.put(XPP, s.id, { 'contact.phone': phone, 'basic.name': '王小明' }, { id: 'key_app000000001' });
  await h.vault.flush();
  return s.id;
}

/** Every wrapped value in the database with the KEK version its record names and the version column (where there is one). */
async function wrappedValues(ctx: ServiceContext): Promise<Map<string, { bytes: Buffer; header: number; column: number | null }>> {
  const out = new Map<string, { bytes: Buffer; header: number; column: number | null }>();
  for (const r of await ctx.db.selectFrom('system_keys').select(['purpose', 'wrapped', 'kek_version']).execute()) {
    out.set(`system_keys/${r.purpose}`, { bytes: r.wrapped, header: kekVersionOf(r.wrapped), column: r.kek_version });
  }
  for (const r of await ctx.db.selectFrom('data_keys').select(['subject_id', 'wrapped_dek', 'kek_version']).execute()) {
    out.set(`data_keys/${r.subject_id}`, { bytes: r.wrapped_dek, header: kekVersionOf(r.wrapped_dek), column: r.kek_version });
  }
  for (const r of await ctx.db.selectFrom('rights_requests').select(['id', 'key_wrapped']).execute()) {
    if (r.key_wrapped !== null)
      out.set(`rights_requests/${r.id}`, { bytes: r.key_wrapped, header: kekVersionOf(r.key_wrapped), column: null });
  }
  for (const r of await ctx.db.selectFrom('rights_webhooks').select(['app_id', 'kind', 'recipient', 'secret_wrapped']).execute()) {
    out.set(`rights_webhooks/${r.app_id}/${r.kind}/${r.recipient}`, {
      bytes: r.secret_wrapped,
      header: kekVersionOf(r.secret_wrapped),
      column: null,
    });
  }
  return out;
}

function expectAllUnder(values: Map<string, { header: number; column: number | null }>, version: number): void {
  for (const [name, v] of values) {
    expect([name, v.header]).toEqual([name, version]);
    if (v.column !== null) expect([name, v.column]).toEqual([name, version]);
  }
}

async function rejection(p: Promise<unknown>): Promise<PipaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PipaError) return err;
    throw err;
  }
  throw new Error('expected a PipaError');
}

/** The last code delivered to the verification webhook, with the check of its signature. */
function lastCode(receiver: Receiver, secret: Buffer, now: number): { code: string; requestId: string; verified: boolean } {
  const call = receiver.calls[receiver.calls.length - 1];
  const body = JSON.parse(call?.body ?? '{}') as { code: string; requestId: string };
  return {
    code: body.code,
    requestId: body.requestId,
    verified: verifyWebhookSignature(secret, String(call?.headers['x-pipa-signature']), call?.body ?? '', now),
  };
}

forEachDialect('master key rotation of every wrapped column', (dialect) => {
  let h: RightsHarness;
  let receiver: Receiver;
  beforeAll(async () => {
    // The key file provider can add and retire versions (the env provider cannot rotate itself).
    h = await openRightsHarness(dialect.database, { masterKey: { provider: 'file' } });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  it('re-wraps every column under the new version; after retiring the old one the package, the corrections, the webhook secret and the system keys open to the same plaintext', async () => {
    // A completed access request with its package, sealed under the request's key.
    const a = await merchant(h, '1', '13812345678');
    const access = await h.rights.submit({ appId: XPP, subjectId: a, type: 'access', via: 'token', actor: PERSON });
    await h.drain();
    expect((await h.rights.get(XPP, access.request.id)).request.state).toBe('completed');
    const before = await h.rights.download((await h.rights.createDownloadLink(XPP, access.request.id, PERSON)).token, PERSON);
    // A correction waiting for its code: the new values are sealed under its key.
    const b = await merchant(h, '2', '13987654321');
    const correction = await h.rights.submit({
      appId: XPP,
      subjectId: b,
      type: 'correction',
      corrections: { 'basic.name': '李思' },
      via: 'staff',
      actor: STAFF,
    });
    expect(correction.request.state).toBe('received');
    // A webhook endpoint whose signing secret is stored wrapped; a code sent through it.
    const hook = await h.rights.setWebhook(XPP, 'verification', null, receiver.url, STAFF);
    const secret = Buffer.from(hook.secret, 'base64url');
    await h.rights.requestCode(XPP, correction.request.id, 'sms', STAFF);
    await h.drain();
    const sent = lastCode(receiver, secret, h.ctx.clock());
    expect(sent).toMatchObject({ requestId: correction.request.id, verified: true });
    const blindIndex = h.ctx.blindIndex.index(XPP, 'contact.phone', 'phone', '13812345678');

    const old = await wrappedValues(h.ctx);
    expect([...old.keys()].filter((k) => k.startsWith('rights_requests/'))).toHaveLength(2);
    expect([...old.keys()].filter((k) => k.startsWith('rights_webhooks/'))).toHaveLength(1);
    expect([...old.keys()].filter((k) => k.startsWith('system_keys/')).length).toBeGreaterThanOrEqual(5);
    expectAllUnder(old, 1);

    const progress: string[] = [];
    // One node (its own provider added the version): nothing to wait for.
    const report = await rotateMasterKey(h.ctx, {
      actor: 'test',
      settleMs: 0,
      onProgress: (p) => progress.push(`${p.table}:${p.rewrapped}`),
    });
    expect(report).toMatchObject({
      fromVersion: 1,
      toVersion: 2,
      resumed: false,
      complete: true,
      passes: 1,
      pending: 0,
      failures: [],
      systemKeys: { rewrapped: [...old.keys()].filter((k) => k.startsWith('system_keys/')).length, failed: 0 },
      dataKeys: { rewrapped: 2, failed: 0 },
      requestKeys: { rewrapped: 2, failed: 0 },
      webhookSecrets: { rewrapped: 1, failed: 0 },
    });
    expect(progress).toContain('rights_requests:2');
    expect(progress).toContain('rights_webhooks:1');
    for (const t of report.usage) expect(t.versions.every((v) => v.version === 2)).toBe(true);
    const now = await wrappedValues(h.ctx);
    expect([...now.keys()].sort()).toEqual([...old.keys()].sort());
    expectAllUnder(now, 2);
    for (const [name, v] of now) expect([name, v.bytes.equals(old.get(name)?.bytes ?? Buffer.alloc(0))]).toEqual([name, false]);
    const events = await h.ctx.audit.events({ limit: 1000 });
    expect(events.filter((e) => e.action === 'keys.rotate').pop()).toMatchObject({
      actor: 'test',
      outcome: 'ok',
      details: { fromVersion: 1, toVersion: 2, pending: 0, requestKeys: { rewrapped: 2 }, webhookSecrets: { rewrapped: 1 } },
    });

    // Nothing names version 1 any more: it can go, and everything opens under version 2 alone.
    const status = await masterKeyStatus(h.ctx);
    expect(status.versions.map((v) => [v.version, v.rows > 0, v.retirable])).toEqual([
      [1, false, true],
      [2, true, false],
    ]);
    await retireMasterKeyVersion(h.ctx, 1, { actor: 'test' });
    expect((await h.ctx.provider.versions()).map((v) => v.version)).toEqual([2]);
    h.ctx.dataKeys.clear();

    const after = await h.rights.download((await h.rights.createDownloadLink(XPP, access.request.id, PERSON)).token, PERSON);
    expect(after.body.equals(before.body)).toBe(true);
    const confirmed = await h.rights.confirmCode(XPP, correction.request.id, sent.code, PERSON);
    expect(confirmed.request.state).toBe('in_progress');
    await h.drain();
    expect((await h.rights.get(XPP, correction.request.id)).request.state).toBe('completed');
    const read = await h.deps.vault.readAll(XPP, b, { id: 'test', request: correction.request.id });
    expect(read.find((f) => f.category === 'basic.name')?.value).toBe('李思');
    // A code sent now is signed with the secret unwrapped from the re-wrapped row: the same secret.
    const copy = await h.rights.submit({ appId: XPP, subjectId: a, type: 'copy', via: 'staff', actor: STAFF });
    await h.rights.requestCode(XPP, copy.request.id, 'sms', STAFF);
    await h.drain();
    expect(lastCode(receiver, secret, h.ctx.clock())).toMatchObject({ requestId: copy.request.id, verified: true });
    // A fresh node unwraps the system keys under version 2: same blind index, same pseudonyms.
    const fresh = await openServiceContext({
      database: dialect.database,
      dataDir: h.ctx.dataDir,
      masterKey: { provider: 'file' },
      env: {},
    });
    try {
      expect(fresh.blindIndex.index(XPP, 'contact.phone', 'phone', '13812345678').equals(blindIndex)).toBe(true);
      expect(fresh.pseudonyms.audit(a)).toBe(h.ctx.pseudonyms.audit(a));
    } finally {
      await fresh.close();
    }
    await h.rights.cancel(XPP, copy.request.id, { ...STAFF, staff: true });
  });

  it('an interrupted rotation leaves rows under both versions, refuses to retire the old one, and the next run resumes without a new version', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await merchant(h, `r-${i}`, `1360000000${i}`);
      ids.push((await h.rights.submit({ appId: XPP, subjectId: s, type: 'copy', via: 'staff', actor: STAFF })).request.id);
    }
    const crash = new Error('process killed');
    let pages = 0;
    await expect(
      rotateMasterKey(h.ctx, {
        batchSize: 1,
        settleMs: 0,
        onProgress: (p) => {
          if (p.table === 'rights_requests' && ++pages === 2) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect(await h.ctx.provider.currentVersion()).toBe(3);

    // Two request keys moved; the other three (the first test's access request keeps its key for its
    // package) and the webhook secret did not.
    const usage = await wrappedKeyUsage(h.ctx.db);
    const of = (table: string) => usage.find((t) => t.table === table)?.versions;
    expect(of('rights_requests')).toEqual([
      { version: 2, rows: 3 },
      { version: 3, rows: 2 },
    ]);
    expect(of('rights_webhooks')).toEqual([{ version: 2, rows: 1 }]);
    expect(of('system_keys')?.map((v) => v.version)).toEqual([3]);
    expect(await pendingRewraps(h.ctx)).toBe(4);
    const status = await masterKeyStatus(h.ctx);
    expect(status.pending).toBe(4);
    expect(status.versions.find((v) => v.version === 2)).toMatchObject({ rows: 4, retirable: false });

    const refused = await rejection(retireMasterKeyVersion(h.ctx, 2));
    expect(refused.code).toBe('precondition_failed');
    expect(refused.message).toContain('rights_requests.key_wrapped: 3');
    expect(refused.message).toContain('rights_webhooks.secret_wrapped: 1');
    expect(refused.details?.map((d) => [d.path, d.rows])).toEqual([
      ['rights_requests.key_wrapped', 3],
      ['rights_webhooks.secret_wrapped', 1],
    ]);
    expect((await h.ctx.provider.versions()).map((v) => v.version)).toEqual([2, 3]);
    // Rows of both versions still open meanwhile.
    for (const id of ids) {
      const row = await h.ctx.db
        .selectFrom('rights_requests')
        .select(['app_id', 'key_wrapped'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      await expect(
        h.ctx.keyring.unwrapDataKey(row.key_wrapped ?? Buffer.alloc(0), { app: row.app_id, subject: id }),
      ).resolves.toBeDefined();
    }

    const resumed = await rotateMasterKey(h.ctx, { settleMs: 0 });
    expect(resumed).toMatchObject({
      fromVersion: 3,
      toVersion: 3,
      resumed: true,
      pending: 0,
      requestKeys: { rewrapped: 3, failed: 0 },
      webhookSecrets: { rewrapped: 1, failed: 0 },
      systemKeys: { rewrapped: 0 },
      dataKeys: { rewrapped: 0 },
    });
    expectAllUnder(await wrappedValues(h.ctx), 3);
    await retireMasterKeyVersion(h.ctx, 2);
    // With nothing pending, the next rotation adds a version again.
    expect(await rotateMasterKey(h.ctx, { newVersion: false, settleMs: 0 })).toMatchObject({
      fromVersion: 3,
      toVersion: 4,
      resumed: false,
      pending: 0,
    });
    for (const id of ids) await h.rights.cancel(XPP, id, { ...STAFF, staff: true });
  });

  it('keeps what changed while a row was being re-wrapped: a shredded request key stays gone, a new webhook secret stays', async () => {
    const s = await merchant(h, 'race-1', '13711112222');
    const r = await h.rights.submit({ appId: XPP, subjectId: s, type: 'copy', via: 'staff', actor: STAFF });
    let newSecret: Buffer | undefined;
    await h.ctx.provider.addVersion();
    const racy: ServiceContext = {
      ...h.ctx,
      keyring: {
        ...h.ctx.keyring,
        async rewrapDataKey(wrapped, owner) {
          const result = await h.ctx.keyring.rewrapDataKey(wrapped, owner);
          if (owner.subject === r.request.id) await h.rights.cancel(XPP, r.request.id, { ...STAFF, staff: true });
          return result;
        },
        async rewrapSecret(wrapped, purpose) {
          const result = await h.ctx.keyring.rewrapSecret(wrapped, purpose);
          if (purpose.startsWith('rights-webhook:') && newSecret === undefined) {
            newSecret = Buffer.from((await h.rights.setWebhook(XPP, 'verification', null, receiver.url, STAFF)).secret, 'base64url');
          }
          return result;
        },
      },
    };
    const report = await rotateMasterKey(racy, { newVersion: false, settleMs: 0 });
    expect(report).toMatchObject({
      resumed: true,
      toVersion: 5,
      pending: 0,
      requestKeys: { failed: 0 },
      webhookSecrets: { rewrapped: 0, alreadyCurrent: 1 },
    });
    const row = await h.ctx.db.selectFrom('rights_requests').select('key_wrapped').where('id', '=', r.request.id).executeTakeFirstOrThrow();
    expect(row.key_wrapped).toBeNull();
    // The webhook signs with the secret set during the rotation, not with the one re-wrapped before it.
    const next = await h.rights.submit({ appId: XPP, subjectId: s, type: 'portability', via: 'staff', actor: STAFF });
    await h.rights.requestCode(XPP, next.request.id, 'sms', STAFF);
    await h.drain();
    expect(lastCode(receiver, newSecret ?? Buffer.alloc(0), h.ctx.clock())).toMatchObject({ requestId: next.request.id, verified: true });
    expectAllUnder(await wrappedValues(h.ctx), 5);
  });

  it('reports a row it cannot re-wrap with its table and key, keeps going, and refuses a bad or current version to retire', async () => {
    const before = await wrappedKeyUsage(h.ctx.db);
    expect(before.map((t) => t.table)).toEqual(WRAPPED_COLUMNS.map((c) => c.table));
    const hook = await h.ctx.db.selectFrom('rights_webhooks').selectAll().executeTakeFirstOrThrow();
    await h.ctx.provider.addVersion();
    // A wrapped secret moved to another endpoint does not unwrap there (the purpose names the endpoint).
    await h.ctx.db
      .insertInto('rights_webhooks')
      .values({ ...hook, kind: 'staff', url: 'http://127.0.0.1:1/x' })
      .execute();
    const report = await rotateMasterKey(h.ctx, { settleMs: 0 });
    expect(report).toMatchObject({ resumed: true, toVersion: 6, pending: 1, webhookSecrets: { rewrapped: 1, failed: 1 } });
    expect(report.failures).toEqual([
      expect.objectContaining({ table: 'rights_webhooks', row: `${XPP}/staff/`, fromVersion: 5, code: 'authentication_failed' }),
    ]);
    expect((await h.ctx.audit.events({ limit: 1000 })).filter((e) => e.action === 'keys.rotate').pop()).toMatchObject({
      outcome: 'failed',
    });
    expect((await rejection(retireMasterKeyVersion(h.ctx, 5))).details).toEqual([
      expect.objectContaining({ path: 'rights_webhooks.secret_wrapped', rows: 1 }),
    ]);
    expect((await rejection(retireMasterKeyVersion(h.ctx, 6))).code).toBe('precondition_failed');
    expect((await rejection(retireMasterKeyVersion(h.ctx, 0))).code).toBe('validation_failed');
    expect((await rejection(retireMasterKeyVersion(h.ctx, 1.5))).code).toBe('validation_failed');
    expect((await rejection(retireMasterKeyVersion(h.ctx, 1))).code).toBe('not_found');
    await h.ctx.db.deleteFrom('rights_webhooks').where('kind', '=', 'staff').execute();
    expect(await pendingRewraps(h.ctx)).toBe(0);
    await retireMasterKeyVersion(h.ctx, 5);
  });
  it('waits for a node that has not seen the new version yet, and re-wraps what it wrapped under the old version meanwhile', async () => {
    // A second node whose key file provider re-reads the file at most every 5 s: it keeps wrapping
    // new data keys and webhook secrets under the old version for a while after the rotation began.
    const b = await openServiceContext({ database: dialect.database, dataDir: h.ctx.dataDir, masterKey: { provider: 'file' }, env: {} });
    const subjects = createSubjectService(b);
    const vault = createVaultService(b, { subjects });
    const old = await b.provider.currentVersion();
    const versions: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const { wrapped } = await b.keyring.generateSecret(webhookSecretPurpose(XPP, 'recipient', `stale-${i}`));
        versions.push(kekVersionOf(wrapped));
        const now = Date.now();
        await b.db
          .insertInto('rights_webhooks')
          .values({
            app_id: XPP,
            kind: 'recipient',
            recipient: `stale-${i}`,
            url: 'https://example.com/h',
            secret_wrapped: wrapped,
            created_at: now,
            updated_at: now,
          })
          .execute();
        const s = await subjects.ensure(b.db, { appId: XPP, kind: 'account' });
        await vault.put(XPP, s.id, { 'basic.name': '周五' }, { id: 'key_app000000001' });
        await vault.flush();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const settles: number[] = [];
      const report = await rotateMasterKey(h.ctx, { onSettle: (until) => settles.push(until) });
      expect(report).toMatchObject({ fromVersion: old, toVersion: old + 1, passes: 2, pending: 0, complete: true });
      expect(settles).toHaveLength(1);
      expect(report.webhookSecrets.rewrapped).toBeGreaterThan(0);
    } finally {
      writing = false;
      await writer;
    }
    // The node wrote under the old version during the rotation, then switched; nothing is left behind.
    expect(versions).toContain(old);
    expect(versions[versions.length - 1]).toBe(old + 1);
    expect(await pendingRewraps(h.ctx)).toBe(0);
    expectAllUnder(await wrappedValues(h.ctx), old + 1);
    await retireMasterKeyVersion(h.ctx, old);
    await b.close();
  });
});

describe('wrapped columns', () => {
  it('rotation covers every column of the schema that holds a wrapped key', () => {
    const found = Object.entries(SCHEMA_COLUMNS).flatMap(([table, columns]) =>
      (columns as readonly string[]).filter((c) => /wrapped/.test(c)).map((c) => `${table}.${c}`),
    );
    expect(found.sort()).toEqual(WRAPPED_COLUMNS.map((c) => `${c.table}.${c.column}`).sort());
  });
});
