import type { Kysely } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import type { Schema } from '../store/schema.js';
import { forEachDialect } from '../store/test-dialects.js';
import type { AuditLog } from './audit-log.js';
import { computeAuditHash, GENESIS_HASH } from './chain.js';
import { checkCheckpoint } from './checkpoint.js';
import { isAuditError } from './errors.js';
import { resetAudit, sampleEvents, steppingClock, T0, tamper, testAuditLog, testSigner } from './test-util.js';
import type { AuditRecord } from './types.js';
import { type VerifyProblem, verifyAuditChain } from './verify.js';

const N = 30;

async function seeded(db: Kysely<Schema>, n = N): Promise<AuditLog> {
  const audit = testAuditLog(db);
  // Several transactions, so the chain crosses commits as it does in production.
  for (let i = 0; i < n; i += 10) await audit.appendMany(db, sampleEvents(Math.min(10, n - i), i));
  return audit;
}

async function row(db: Kysely<Schema>, seq: number): Promise<AuditRecord> {
  return (await db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow()) as AuditRecord;
}

/** Rewrite row `seq` and every row after it consistently (recomputed hashes), and move the head: what an attacker with write access can do. */
async function rewriteFrom(db: Kysely<Schema>, seq: number, change: (r: AuditRecord) => AuditRecord): Promise<void> {
  const rows = (await db.selectFrom('audit_events').selectAll().where('seq', '>=', seq).orderBy('seq').execute()) as AuditRecord[];
  let prev = seq > 1 ? (await row(db, seq - 1)).hash : GENESIS_HASH;
  for (const [i, r] of rows.entries()) {
    const changed = i === 0 ? change(r) : r;
    const next = { ...changed, prev_hash: prev };
    next.hash = computeAuditHash(next);
    await db.updateTable('audit_events').set(next).where('seq', '=', r.seq).execute();
    prev = next.hash;
  }
  await db.updateTable('chain_heads').set({ hash: prev }).where('chain', '=', 'audit').execute();
}

forEachDialect('audit verify', (ctx) => {
  beforeEach(() => resetAudit(ctx.db));

  it('passes on an intact log, page by page', async () => {
    const audit = await seeded(ctx.db);
    const progress: { checked: number; seq: number; to: number }[] = [];
    const result = await audit.verify({ pageSize: 7, onProgress: (p) => progress.push(p) });
    expect(result).toEqual({
      ok: true,
      checked: N,
      from: 1,
      to: N,
      head: await audit.head(),
      anchored: true,
      checkpoints: 0,
      signedThrough: null,
    });
    expect(progress.map((p) => p.seq)).toEqual([7, 14, 21, 28, 30]);
    expect(progress.every((p) => p.to === N)).toBe(true);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, checked: N });
  });

  it('passes on an empty log', async () => {
    expect(await verifyAuditChain(ctx.db)).toEqual({
      ok: true,
      checked: 0,
      from: 1,
      to: 0,
      head: { seq: 0, hash: GENESIS_HASH },
      anchored: true,
      checkpoints: 0,
      signedThrough: null,
    });
  });

  it('assembles the hash input in SQL exactly as in JS, for any text', async () => {
    const audit = testAuditLog(ctx.db);
    await audit.appendMany(ctx.db, [
      { actor: '用户:张三', action: 'vault.read', appId: '小票票', purpose: '购票 🎫', requestId: 'ü-ß-é', categories: ['身份证', 'a'] },
      { actor: 'key_x', action: 'x', details: { s: 'line\nbreak "quoted" \\ back \u0001 ctrl', e: '👨‍👩‍👧', n: -0.000001, big: 1e21 } },
      { actor: 'k', action: 'a', details: [] },
      { actor: 'k', action: 'a', details: '' },
      { actor: 'k', action: 'a', details: null },
      { actor: 'k', action: 'a', details: 0 },
      { actor: 'k', action: 'a', count: 2 ** 31 - 1, categories: ['x'.repeat(256)] },
    ]);
    const result = await verifyAuditChain(ctx.db, { pageSize: 3 });
    expect(result).toMatchObject({ ok: true, checked: 7 });
  });

  const tamperings: [string, (db: Kysely<Schema>) => Promise<void>, number, VerifyProblem][] = [
    ['a changed actor', (db) => tamper(db, `update audit_events set actor = 'key_evil' where seq = 5`), 5, 'hash'],
    ['a changed action', (db) => tamper(db, `update audit_events set action = 'vault.list' where seq = 1`), 1, 'hash'],
    ['changed details', (db) => tamper(db, `update audit_events set details = '{"field":"email"}' where seq = 12`), 12, 'hash'],
    ['removed details', (db) => tamper(db, 'update audit_events set details = null where seq = 14'), 14, 'hash'],
    ['changed categories', (db) => tamper(db, `update audit_events set categories = '[]' where seq = 3`), 3, 'hash'],
    ['a changed time', (db) => tamper(db, 'update audit_events set at = at - 3600000 where seq = 8'), 8, 'hash'],
    ['a changed count', (db) => tamper(db, 'update audit_events set count = 1 where seq = 13'), 13, 'hash'],
    ['a changed outcome', (db) => tamper(db, `update audit_events set outcome = 'ok' where seq = 11`), 11, 'hash'],
    ['a null turned into a value', (db) => tamper(db, `update audit_events set app_id = 'other' where seq = 5`), 5, 'hash'],
    ['a value turned into null', (db) => tamper(db, 'update audit_events set request_id = null where seq = 6'), 6, 'hash'],
    ['a different subject', (db) => tamper(db, `update audit_events set subject_pseudonym = null where seq = 2`), 2, 'hash'],
    ['a deleted row', (db) => tamper(db, 'delete from audit_events where seq = 9'), 9, 'missing'],
    ['the first row deleted', (db) => tamper(db, 'delete from audit_events where seq = 1'), 1, 'missing'],
    ['the last row deleted', (db) => tamper(db, `delete from audit_events where seq = ${N}`), N, 'missing'],
    ['a row moved beyond the end', (db) => tamper(db, 'update audit_events set seq = 1000 where seq = 20'), 20, 'missing'],
    [
      'two rows swapped',
      async (db) => {
        await tamper(db, 'update audit_events set seq = -1 where seq = 10');
        await tamper(db, 'update audit_events set seq = 10 where seq = 11');
        await tamper(db, 'update audit_events set seq = 11 where seq = -1');
      },
      10,
      'prev_hash',
    ],
    [
      'the contents of two rows swapped, numbers kept',
      async (db) => {
        const [a, b] = [await row(db, 16), await row(db, 17)];
        await db
          .updateTable('audit_events')
          .set({ ...b, seq: 16 })
          .where('seq', '=', 16)
          .execute();
        await db
          .updateTable('audit_events')
          .set({ ...a, seq: 17 })
          .where('seq', '=', 17)
          .execute();
      },
      16,
      'prev_hash',
    ],
    ['an edited hash', (db) => tamper(db, `update audit_events set hash = '${'ab'.repeat(32)}' where seq = 6`), 6, 'hash'],
    ['a hash cut short', (db) => tamper(db, `update audit_events set hash = 'deadbeef' where seq = 6`), 6, 'hash'],
    ['a hash made longer', (db) => tamper(db, `update audit_events set hash = hash || 'ff' where seq = 6`), 6, 'hash'],
    ['an empty hash', (db) => tamper(db, `update audit_events set hash = '' where seq = 29`), 29, 'hash'],
    ['an edited prev_hash', (db) => tamper(db, `update audit_events set prev_hash = '${'cd'.repeat(32)}' where seq = 6`), 6, 'prev_hash'],
    ['a prev_hash cut short', (db) => tamper(db, `update audit_events set prev_hash = 'dead' where seq = 6`), 6, 'prev_hash'],
    [
      'the head rewound over the last row',
      async (db) => {
        const r = await row(db, N - 1);
        await db
          .updateTable('chain_heads')
          .set({ seq: N - 1, hash: r.hash })
          .where('chain', '=', 'audit')
          .execute();
      },
      N,
      'beyond_head',
    ],
    ['an edited head hash', (db) => tamper(db, `update chain_heads set hash = '${'ee'.repeat(32)}' where chain = 'audit'`), N, 'head'],
    [
      'a row added beyond the head',
      async (db) => {
        const last = await row(db, N);
        const extra: AuditRecord = { ...last, seq: N + 1, prev_hash: last.hash, actor: 'forged' };
        extra.hash = computeAuditHash(extra);
        await db.insertInto('audit_events').values(extra).execute();
      },
      N + 1,
      'beyond_head',
    ],
    [
      'two changes: the first is named',
      async (db) => {
        await tamper(db, `update audit_events set actor = 'x' where seq = 15`);
        await tamper(db, 'delete from audit_events where seq = 4');
      },
      4,
      'missing',
    ],
    ['a change at a page boundary', (db) => tamper(db, `update audit_events set actor = 'x' where seq = 8`), 8, 'hash'],
    ['a change at the end of a page', (db) => tamper(db, `update audit_events set actor = 'x' where seq = 7`), 7, 'hash'],
  ];

  for (const [what, change, seq, reason] of tamperings) {
    it(`names the first broken event after ${what}`, async () => {
      const audit = await seeded(ctx.db);
      expect((await audit.verify()).ok).toBe(true);
      await change(ctx.db);
      for (const pageSize of [7, 2000]) {
        const result = await audit.verify({ pageSize });
        expect(result.ok).toBe(false);
        expect({ seq: result.firstBrokenSeq, reason: result.reason }).toEqual({ seq, reason });
        expect(result.message).toContain(String(seq));
      }
    });
  }

  it('does not see a consistent rewrite without a checkpoint, and catches it with one', async () => {
    const audit = await seeded(ctx.db);
    const cp = await audit.checkpoint();
    expect(cp?.seq).toBe(N);
    await audit.appendMany(ctx.db, sampleEvents(5, 100));
    await rewriteFrom(ctx.db, 12, (r) => ({ ...r, actor: 'key_innocent' }));
    // The chain itself is consistent again: only the signed checkpoint remembers.
    await tamper(ctx.db, 'delete from audit_checkpoints');
    expect((await audit.verify()).ok).toBe(true);
    await ctx.db
      .insertInto('audit_checkpoints')
      .values({
        seq: N,
        hash: cp?.hash ?? '',
        at: cp?.at ?? 0,
        key_id: cp?.keyId ?? '',
        public_key: cp?.publicKey ?? '',
        signature: cp?.signature ?? '',
      })
      .execute();
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, firstBrokenSeq: N, reason: 'checkpoint_hash' });
  });

  it('catches a cut-off tail with the head rewound, through a checkpoint beyond the new end', async () => {
    const audit = await seeded(ctx.db);
    await audit.checkpoint();
    const r = await row(ctx.db, N - 3);
    await tamper(ctx.db, `delete from audit_events where seq > ${N - 3}`);
    await ctx.db
      .updateTable('chain_heads')
      .set({ seq: N - 3, hash: r.hash })
      .where('chain', '=', 'audit')
      .execute();
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: N - 2, reason: 'missing' });
    // An auditor who kept the checkpoint catches it even if the attacker deletes it too.
    await tamper(ctx.db, 'delete from audit_checkpoints');
    expect((await audit.verify()).ok).toBe(true);
  });

  it('verifies a range, anchored on the event before it', async () => {
    const audit = await seeded(ctx.db);
    expect(await audit.verify({ from: 5, to: 10 })).toMatchObject({ ok: true, checked: 6, from: 5, to: 10, anchored: true });
    await tamper(ctx.db, `update audit_events set actor = 'x' where seq = 12`);
    expect((await audit.verify({ from: 5, to: 10 })).ok).toBe(true);
    expect(await audit.verify({ from: 5 })).toMatchObject({ ok: false, firstBrokenSeq: 12 });
    expect(await audit.verify({ from: 12, to: 12 })).toMatchObject({ ok: false, firstBrokenSeq: 12, reason: 'hash' });
    expect(await audit.verify({ from: 13, to: N })).toMatchObject({ ok: true, to: N, checked: N - 12 });
  });

  it('refuses a range beyond the head instead of calling an intact chain broken', async () => {
    const audit = await seeded(ctx.db);
    for (const [options, name, problem] of [
      [{ from: N + 2 }, 'from', `is beyond the head (${N})`],
      [{ from: 100 }, 'from', `is beyond the head (${N})`],
      [{ to: N + 1 }, 'to', `is beyond the head (${N})`],
      [{ from: 5, to: 10_000 }, 'to', `is beyond the head (${N})`],
      [{ from: N + 1, to: N + 1 }, 'to', `is beyond the head (${N})`],
    ] as const) {
      await expect(audit.verify(options)).rejects.toSatisfy(
        (err: unknown) =>
          isAuditError(err, 'invalid_argument') &&
          err.argument?.name === name &&
          err.argument.problem === problem &&
          err.message === `verify: ${name} ${options[name]} ${problem}`,
      );
    }
    // The head + 1: nothing new to check, and the head still matches the last event.
    expect(await audit.verify({ from: N + 1 })).toMatchObject({ ok: true, checked: 0, from: N + 1, to: N });
    expect(await audit.verify({ from: N, to: N })).toMatchObject({ ok: true, checked: 1 });
    // An empty log: the default range is empty; any explicit end is beyond it.
    await resetAudit(ctx.db);
    expect(await audit.verify({ from: 1 })).toMatchObject({ ok: true, checked: 0 });
    await expect(audit.verify({ from: 2 })).rejects.toSatisfy(
      (err: unknown) => isAuditError(err, 'invalid_argument') && /head \(0\)/.test((err as Error).message),
    );
    await expect(audit.verify({ to: 1 })).rejects.toSatisfy((err: unknown) => isAuditError(err, 'invalid_argument'));
  });

  it('names the last event, not the head, when rows lie beyond the head', async () => {
    const audit = await seeded(ctx.db);
    await tamper(ctx.db, `update chain_heads set seq = ${N - 2} where chain = 'audit'`);
    expect(await audit.verify({ from: N - 1 })).toMatchObject({ ok: false, reason: 'beyond_head', firstBrokenSeq: N - 1 });
    await expect(audit.verify({ from: N + 2 })).rejects.toSatisfy(
      (err: unknown) => isAuditError(err, 'invalid_argument') && err.argument?.problem === `is beyond the last event (${N})`,
    );
  });

  it('says when a range start is taken on trust', async () => {
    const audit = await seeded(ctx.db);
    await tamper(ctx.db, 'delete from audit_events where seq < 5');
    expect(await audit.verify({ from: 5 })).toMatchObject({ ok: true, anchored: false, checked: N - 4 });
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'missing' });
  });

  it('refuses a range that is not one', async () => {
    const audit = await seeded(ctx.db, 3);
    for (const options of [{ from: 5, to: 3 }, { to: 0 }, { from: 1.5 }, { to: Number.NaN }, { from: 0 }, { to: -1 }, { pageSize: 0 }]) {
      await expect(audit.verify(options)).rejects.toSatisfy(
        (err: unknown) => isAuditError(err, 'invalid_argument') && /verify/.test((err as Error).message),
      );
    }
  });

  it('checks signed checkpoints and reports how far history is vouched for', async () => {
    const audit = await seeded(ctx.db);
    const signer = testSigner();
    const first = await audit.checkpoint();
    expect(first).toMatchObject({ seq: N, keyId: signer.keyId, publicKey: signer.publicKey });
    expect(first !== null && checkCheckpoint(first, [signer.publicKey])).toBeNull();
    // Same head: the same checkpoint, not a second one.
    expect(await audit.checkpoint()).toEqual(first);
    await audit.appendMany(ctx.db, sampleEvents(5, N));
    const second = await audit.checkpoint();
    expect(second?.seq).toBe(N + 5);
    await audit.appendMany(ctx.db, sampleEvents(2, N + 5));
    expect(await audit.verify({ trustedKeys: [signer.publicKey] })).toMatchObject({
      ok: true,
      checkpoints: 2,
      signedThrough: N + 5,
      checked: N + 7,
    });
    // A range that stops before the second checkpoint checks only the first.
    expect(await audit.verify({ to: N + 2 })).toMatchObject({ ok: true, checkpoints: 1, signedThrough: N });
    // Trusting another key fails at the first checkpoint.
    expect(await audit.verify({ trustedKeys: [testSigner(9).publicKey] })).toMatchObject({
      ok: false,
      firstBrokenSeq: N,
      reason: 'checkpoint_signature',
    });
  });

  it('rejects a forged, rewound or edited checkpoint', async () => {
    const audit = await seeded(ctx.db);
    const cp = await audit.checkpoint();
    if (cp === null) throw new Error('no checkpoint');
    const signer = testSigner();
    // Rewound: the same signature claimed for an earlier point.
    await tamper(ctx.db, `update audit_checkpoints set seq = ${N - 4}`);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: N - 4, reason: 'checkpoint_signature' });
    await tamper(ctx.db, `update audit_checkpoints set seq = ${N}, hash = '${'ab'.repeat(32)}'`);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: N, reason: 'checkpoint_signature' });
    await tamper(ctx.db, `update audit_checkpoints set hash = '${cp.hash}', key_id = 'ed25519:0000000000000000'`);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: N, reason: 'checkpoint_signature' });
    await tamper(ctx.db, `update audit_checkpoints set key_id = '${cp.keyId}', public_key = 'bm90IGEga2V5'`);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: N, reason: 'checkpoint_signature' });
    await tamper(ctx.db, `update audit_checkpoints set public_key = '${cp.publicKey}'`);
    expect(await audit.verify({ trustedKeys: [signer.publicKey] })).toMatchObject({ ok: true, signedThrough: N });
    // Forged: signed with the attacker's own key. Only the auditor's trusted keys tell it apart.
    const forged = testSigner(66).sign({ seq: 10, hash: (await row(ctx.db, 10)).hash, at: T0 });
    await ctx.db
      .insertInto('audit_checkpoints')
      .values({
        seq: forged.seq,
        hash: forged.hash,
        at: forged.at,
        key_id: forged.keyId,
        public_key: forged.publicKey,
        signature: forged.signature,
      })
      .execute();
    expect((await audit.verify()).ok).toBe(true);
    expect(await audit.verify({ trustedKeys: [signer.publicKey] })).toMatchObject({
      ok: false,
      firstBrokenSeq: 10,
      reason: 'checkpoint_signature',
    });
    expect((await audit.verify({ trustedKeys: [signer.publicKey] })).message).toBe(
      `checkpoint at seq 10 is not signed by a trusted key: its key is ${forged.keyId}, the trusted key is ${signer.keyId}`,
    );
  });

  it('refuses a trusted key that is not one before reading anything, instead of calling the chain broken', async () => {
    const audit = await seeded(ctx.db);
    await audit.checkpoint();
    for (const bad of ['AAAA', 'notbase64', Buffer.alloc(31).toString('base64'), '']) {
      await expect(audit.verify({ trustedKeys: [testSigner().publicKey, bad] })).rejects.toSatisfy(
        (err: unknown) =>
          isAuditError(err, 'invalid_key') && err.argument?.name === 'trustedKeys' && /raw 32-byte Ed25519/.test(err.message),
      );
    }
    // Even with no checkpoint to check, and with a range that has none.
    await expect(audit.verify({ to: 3, trustedKeys: ['AAAA'] })).rejects.toSatisfy((err: unknown) => isAuditError(err, 'invalid_key'));
    // A well-formed key that signed nothing here is a finding, named as such.
    const other = testSigner(9);
    expect(await audit.verify({ trustedKeys: [other.publicKey] })).toMatchObject({
      ok: false,
      reason: 'checkpoint_signature',
      firstBrokenSeq: N,
      message: `checkpoint at seq ${N} is not signed by a trusted key: its key is ${testSigner().keyId}, the trusted key is ${other.keyId}`,
    });
  });

  it('reports a chain break before a bad checkpoint first', async () => {
    const audit = await seeded(ctx.db);
    await audit.checkpoint();
    await tamper(ctx.db, `update audit_checkpoints set signature = '${Buffer.alloc(64).toString('base64')}'`);
    await tamper(ctx.db, `update audit_events set actor = 'x' where seq = 3`);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: 'hash' });
  });

  it('refuses to checkpoint without a signing key', async () => {
    const audit = testAuditLog(ctx.db, { signer: undefined });
    await expect(audit.checkpoint()).rejects.toSatisfy((err: unknown) => isAuditError(err, 'no_signing_key'));
  });

  // Two SQLite connections in one process cannot work at the same time (test-child.ts); on SQLite the
  // write lock serialises checkpoints anyway.
  // Registered on PostgreSQL only (not skipped elsewhere): the SQLite case is the two-process test.
  if (ctx.dialect === 'postgres')
    it('gives two nodes checkpointing the same head the same checkpoint', async () => {
      await seeded(ctx.db);
      const other = await ctx.connect();
      const logs = [testAuditLog(ctx.db, { clock: steppingClock(T0 + 1e6) }), testAuditLog(other.db, { clock: steppingClock(T0 + 2e6) })];
      const results = await Promise.all([...logs, ...logs].map((l) => l.checkpoint()));
      for (const r of results) expect(r).toEqual(results[0]);
      expect((await ctx.db.selectFrom('audit_checkpoints').selectAll().execute()).length).toBe(1);
    });

  it('is not confused by appends while it runs', async () => {
    const audit = await seeded(ctx.db);
    const batcher = audit.batcher({ maxBatch: 25 });
    const writing = Promise.all(sampleEvents(1000).map((e) => batcher.record(e)));
    const result = await audit.verify({ pageSize: 5 });
    expect(result.ok).toBe(true);
    await writing;
    await batcher.close();
    expect(await audit.verify()).toMatchObject({ ok: true, checked: N + 1000 });
  });
});
