import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Kysely } from 'kysely';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import type { Database } from '../store/database.js';
import type { Schema } from '../store/schema.js';
import { forEachDialect } from '../store/test-dialects.js';
import type { AuditLog } from './audit-log.js';
import { GENESIS_HASH } from './chain.js';
import { isAuditError } from './errors.js';
import { AUDIT_EXPORT_TYPE, exportAuditRange, importAuditExport, verifyAuditExport } from './export.js';
import { resetAudit, sampleEvents, T0, testAuditLog, testSigner } from './test-util.js';

type Line = Record<string, unknown>;

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** 25 events with a checkpoint at 20. */
async function seeded(db: Kysely<Schema>): Promise<AuditLog> {
  const audit = testAuditLog(db);
  await audit.appendMany(db, sampleEvents(20));
  await audit.checkpoint();
  await audit.appendMany(db, sampleEvents(5, 20));
  return audit;
}

const parse = (lines: string[]): Line[] => lines.map((l) => JSON.parse(l) as Line);
const stringify = (lines: Line[]): string => lines.map((l) => JSON.stringify(l)).join('\n');

/** Change the event line of `seq`. */
function editEvent(lines: string[], seq: number, change: (l: Line) => Line): string {
  return stringify(parse(lines).map((l) => (l.type === 'event' && l.seq === seq ? change(l) : l)));
}

forEachDialect('audit export', (ctx) => {
  // A second database to import into; both are emptied before each test.
  let targetDb: Database | undefined;
  beforeAll(async () => {
    targetDb = await ctx.fresh();
  });
  beforeEach(() => resetAudit(ctx.db));
  const target = async (): Promise<Database> => {
    if (targetDb === undefined) throw new Error('no target database');
    await resetAudit(targetDb.db);
    return targetDb;
  };

  it('exports a header, the checkpoints, then the events, and verifies offline', async () => {
    const audit = await seeded(ctx.db);
    const lines = await collect(audit.exportRange({ pageSize: 4, now: () => T0 }));
    const [header, ...rest] = parse(lines);
    expect(header).toEqual({
      type: AUDIT_EXPORT_TYPE,
      version: 1,
      hashFormat: 'pipa-audit-v1',
      checkpointFormat: 'pipa-audit-checkpoint-v1',
      from: 1,
      to: 25,
      anchor: { seq: 0, hash: GENESIS_HASH },
      exportedAt: T0,
    });
    expect(rest.map((l) => l.type)).toEqual(['checkpoint', ...Array.from({ length: 25 }, () => 'event')]);
    const events = rest.slice(1);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // Exactly the fields the hash covers, JSON columns as their stored text.
    expect(Object.keys(events[1] ?? {}).sort()).toEqual(
      [
        'type',
        'seq',
        'at',
        'actor',
        'action',
        'app_id',
        'subject_pseudonym',
        'categories',
        'purpose',
        'outcome',
        'count',
        'request_id',
        'details',
        'prev_hash',
        'hash',
      ].sort(),
    );
    expect(typeof events[1]?.details).toBe('string');
    const signer = testSigner();
    const result = await verifyAuditExport(lines.join('\n'), { trustedKeys: [signer.publicKey] });
    expect(result).toMatchObject({ ok: true, checked: 25, checkpoints: 1, signedThrough: 20 });
    expect(await verifyAuditExport(lines.join('\n'), { trustedKeys: [testSigner(3).publicKey] })).toMatchObject({
      ok: false,
      firstBrokenSeq: 20,
      reason: 'checkpoint_signature',
    });
    // A trusted key that is not one is a bad argument, not a finding (and an import writes nothing).
    await expect(verifyAuditExport(lines.join('\n'), { trustedKeys: ['AAAA'] })).rejects.toSatisfy((err: unknown) =>
      isAuditError(err, 'invalid_key'),
    );
  });

  it('reads a string, lines, CRLF and a file stream alike', async () => {
    const audit = await seeded(ctx.db);
    const lines = await collect(audit.exportRange());
    expect((await verifyAuditExport(lines)).ok).toBe(true);
    expect((await verifyAuditExport(`${lines.join('\r\n')}\r\n\r\n`)).ok).toBe(true);
    // Chunks that hold several lines.
    expect((await verifyAuditExport([lines.slice(0, 3).join('\n'), lines.slice(3).join('\n')])).ok).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'pipa-audit-export-'));
    try {
      const file = join(dir, 'audit.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      expect(await verifyAuditExport(rl)).toMatchObject({ ok: true, checked: 25 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports into an empty log: the same chain, the same events, the checkpoints', async () => {
    const audit = await seeded(ctx.db);
    const lines = await collect(audit.exportRange());
    const into = await target();
    const result = await importAuditExport(into.db, lines.join('\n'), { trustedKeys: [testSigner().publicKey] });
    expect(result).toMatchObject({ ok: true, imported: 25, checked: 25, checkpoints: 1, head: await audit.head() });
    const copy = testAuditLog(into.db, { signer: undefined });
    expect(await copy.head()).toEqual(await audit.head());
    expect(await copy.events({ limit: 100 })).toEqual(await audit.events({ limit: 100 }));
    expect(await copy.verify({ trustedKeys: [testSigner().publicKey] })).toMatchObject({ ok: true, signedThrough: 20, checked: 25 });
    // The copy goes on as a chain of its own.
    const next = await copy.append(into.db, { actor: 'system', action: 'audit.import' });
    expect(next.seq).toBe(26);
    expect(next.prevHash).toBe((await audit.head()).hash);
  });

  it('exports a range anchored on the event before it, and imports ranges in order only', async () => {
    const audit = await seeded(ctx.db);
    const first = await collect(exportAuditRange(ctx.db, { to: 10 }));
    const second = await collect(exportAuditRange(ctx.db, { from: 11, to: 22 }));
    const [h2] = parse(second);
    const tenth = (await audit.events({ after: 9, limit: 1 }))[0];
    expect(h2).toMatchObject({ from: 11, to: 22, anchor: { seq: 10, hash: tenth?.hash } });
    expect(parse(second).filter((l) => l.type === 'checkpoint')).toHaveLength(1);
    expect(await verifyAuditExport(second)).toMatchObject({ ok: true, checked: 12, signedThrough: 20 });

    const into = await target();
    await expect(importAuditExport(into.db, second)).rejects.toSatisfy(
      (err: unknown) => isAuditError(err, 'import_conflict') && /after event 10/.test((err as Error).message),
    );
    expect(await importAuditExport(into.db, first)).toMatchObject({ imported: 10, head: { seq: 10, hash: tenth?.hash } });
    await expect(importAuditExport(into.db, first)).rejects.toSatisfy((err: unknown) => isAuditError(err, 'import_conflict'));
    expect(await importAuditExport(into.db, second)).toMatchObject({ imported: 12, head: { seq: 22 } });
    expect(await testAuditLog(into.db).verify()).toMatchObject({ ok: true, checked: 22, signedThrough: 20 });
  });

  it('refuses to import a chain that forks from the local one', async () => {
    await seeded(ctx.db);
    const lines = await collect(exportAuditRange(ctx.db, { from: 6, to: 10 }));
    const into = await target();
    const other = testAuditLog(into.db);
    await other.appendMany(into.db, sampleEvents(5, 100));
    await expect(importAuditExport(into.db, lines)).rejects.toSatisfy(
      (err: unknown) => isAuditError(err, 'import_conflict') && /with another hash/.test((err as Error).message),
    );
    expect((await other.head()).seq).toBe(5);
  });

  it('exports past rows missing from the log, so the verifier names the first', async () => {
    const audit = await seeded(ctx.db);
    await ctx.db.deleteFrom('audit_events').where('seq', '>=', 5).where('seq', '<=', 12).execute();
    const lines = await collect(audit.exportRange({ pageSize: 3 }));
    expect(
      parse(lines)
        .filter((l) => l.type === 'event')
        .map((l) => l.seq),
    ).toEqual([1, 2, 3, 4, ...Array.from({ length: 13 }, (_, i) => 13 + i)]);
    expect(await verifyAuditExport(lines)).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: 'missing' });
  });

  it('signs the head first when asked, and exports up to it', async () => {
    const audit = await seeded(ctx.db);
    const lines = parse(await collect(audit.exportRange({ checkpoint: true })));
    expect(lines[0]).toMatchObject({ from: 1, to: 25 });
    expect(lines.filter((l) => l.type === 'checkpoint').map((l) => l.seq)).toEqual([20, 25]);
    expect(await verifyAuditExport(stringify(lines))).toMatchObject({ ok: true, signedThrough: 25 });
    const unsigned = testAuditLog(ctx.db, { signer: undefined });
    await expect(collect(unsigned.exportRange({ checkpoint: true }))).rejects.toSatisfy((err: unknown) =>
      isAuditError(err, 'no_signing_key'),
    );
  });

  it('exports an empty log and an empty range', async () => {
    const empty = await collect(exportAuditRange(ctx.db));
    expect(parse(empty)).toEqual([expect.objectContaining({ from: 1, to: 0 })]);
    expect(await verifyAuditExport(empty)).toMatchObject({ ok: true, checked: 0, signedThrough: null });
    const into = await target();
    expect(await importAuditExport(into.db, empty)).toMatchObject({ imported: 0, head: { seq: 0, hash: GENESIS_HASH } });
    await seeded(ctx.db);
    expect(parse(await collect(exportAuditRange(ctx.db, { from: 26 })))).toEqual([expect.objectContaining({ from: 26, to: 25 })]);
    expect(parse(await collect(exportAuditRange(ctx.db, { to: 1000 })))[0]).toMatchObject({ to: 25 });
    await expect(collect(exportAuditRange(ctx.db, { from: 10, to: 5 }))).rejects.toSatisfy((err: unknown) =>
      isAuditError(err, 'invalid_argument'),
    );
    for (const options of [{ from: 0 }, { from: 1.5 }, { to: -1 }, { pageSize: 0 }]) {
      await expect(collect(exportAuditRange(ctx.db, options))).rejects.toSatisfy((err: unknown) => isAuditError(err, 'invalid_argument'));
    }
  });

  it('names the first broken event of a tampered export, and imports none of it', async () => {
    const audit = await seeded(ctx.db);
    const lines = await collect(audit.exportRange());
    const events = lines.filter((l) => l.includes('"type":"event"'));
    const head = lines.filter((l) => !l.includes('"type":"event"'));
    const cases: [string, string, number, string][] = [
      ['a changed actor', editEvent(lines, 5, (l) => ({ ...l, actor: 'key_evil' })), 5, 'hash'],
      ['changed details', editEvent(lines, 12, (l) => ({ ...l, details: '{"field":"email"}' })), 12, 'hash'],
      ['a changed hash', editEvent(lines, 7, (l) => ({ ...l, hash: 'ab'.repeat(32) })), 7, 'hash'],
      ['a changed prev_hash', editEvent(lines, 7, (l) => ({ ...l, prev_hash: 'ab'.repeat(32) })), 7, 'prev_hash'],
      ['a deleted event', [...head, ...events.filter((_, i) => i !== 8)].join('\n'), 9, 'missing'],
      ['two events swapped', [...head, ...events.slice(0, 3), events[4], events[3], ...events.slice(5)].join('\n'), 4, 'missing'],
      ['the tail cut off', [...head, ...events.slice(0, 22)].join('\n'), 23, 'missing'],
      ['an event changed after the checkpoint', editEvent(lines, 24, (l) => ({ ...l, outcome: 'failed' })), 24, 'hash'],
    ];
    for (const [what, text, seq, reason] of cases) {
      const result = await verifyAuditExport(text);
      expect({ what, ok: result.ok, seq: result.firstBrokenSeq, reason: result.reason }).toEqual({ what, ok: false, seq, reason });
      const into = await target();
      await expect(importAuditExport(into.db, text)).rejects.toSatisfy(
        (err: unknown) => isAuditError(err, 'invalid_export') && (err as Error).message.includes(`event ${seq}`),
      );
      expect(await testAuditLog(into.db).head()).toEqual({ seq: 0, hash: GENESIS_HASH });
      expect(await into.db.selectFrom('audit_events').select('seq').execute()).toEqual([]);
      expect(await into.db.selectFrom('audit_checkpoints').select('seq').execute()).toEqual([]);
    }
  });

  it('catches a rewritten chain through its signed checkpoint', async () => {
    const audit = await seeded(ctx.db);
    const lines = parse(await collect(audit.exportRange()));
    // Rewrite event 3 and re-chain everything after it, as an attacker with the file would.
    const { computeAuditHash } = await import('./chain.js');
    let prev = '';
    const rewritten = lines.map((l) => {
      if (l.type !== 'event') return l;
      const seq = l.seq as number;
      if (seq < 3) {
        prev = l.hash as string;
        return l;
      }
      const { type, ...record } = l;
      const next = { ...record, actor: seq === 3 ? 'key_innocent' : record.actor, prev_hash: prev } as Parameters<
        typeof computeAuditHash
      >[0];
      const hash = computeAuditHash(next);
      prev = hash;
      return { type, ...next, hash };
    });
    expect(await verifyAuditExport(stringify(rewritten))).toMatchObject({ ok: false, firstBrokenSeq: 20, reason: 'checkpoint_hash' });
    // Without the checkpoint line the rewrite holds together: nothing is vouched for.
    const stripped = rewritten.filter((l) => l.type !== 'checkpoint');
    expect(await verifyAuditExport(stringify(stripped))).toMatchObject({ ok: true, signedThrough: null });
  });

  it('says which line of a malformed export is wrong', async () => {
    const audit = await seeded(ctx.db);
    const lines = await collect(audit.exportRange());
    const [header, checkpoint, ...events] = parse(lines);
    const bad: [string, string | string[], RegExp][] = [
      ['an empty file', '', /line 1: the file is empty/],
      ['blank lines only', '\n\n  \n', /line 1: the file is empty/],
      ['not JSON', [lines[0] ?? '', '{"type":"event",'], /line 2: not JSON/],
      ['a JSON array', ['[1,2]'], /line 1: not a JSON object/],
      ['no header', lines.slice(1), /line 1: the first line must be the pipa-audit-export header/],
      ['another version', [JSON.stringify({ ...header, version: 2 })], /unsupported export version 2/],
      ['another hash format', [JSON.stringify({ ...header, hashFormat: 'sha1' })], /unsupported hash format sha1/],
      ['another checkpoint format', [JSON.stringify({ ...header, checkpointFormat: 'x' })], /unsupported checkpoint format x/],
      ['no anchor', [JSON.stringify({ ...header, anchor: null })], /"anchor" must be an object/],
      ['an anchor out of place', [JSON.stringify({ ...header, anchor: { seq: 3, hash: GENESIS_HASH } })], /"anchor.seq" must be from - 1/],
      ['an anchor hash that is not one', [JSON.stringify({ ...header, anchor: { seq: 0, hash: 'xyz' } })], /"hash" must be 64 lower-case/],
      ['from 0', [JSON.stringify({ ...header, from: 0 })], /"from" must be an integer >= 1/],
      [
        'to before from',
        [JSON.stringify({ ...header, from: 5, to: 2, anchor: { seq: 4, hash: GENESIS_HASH } })],
        /"to" must not be before/,
      ],
      [
        'a checkpoint after the events',
        [lines[0] ?? '', JSON.stringify(events[0]), JSON.stringify(checkpoint)],
        /line 3: checkpoints must come before the events/,
      ],
      [
        'a checkpoint outside the range',
        [lines[0] ?? '', JSON.stringify({ ...checkpoint, seq: 26 })],
        /line 2: checkpoint 26 lies outside the exported range/,
      ],
      [
        'a checkpoint without a signature',
        [lines[0] ?? '', JSON.stringify({ ...checkpoint, signature: 1 })],
        /"signature" must be a string/,
      ],
      ['an unknown line type', [lines[0] ?? '', '{"type":"comment"}'], /line 2: unknown line type "comment"/],
      ['an event without an actor', [lines[0] ?? '', JSON.stringify({ ...events[0], actor: undefined })], /"actor" must be a string/],
      ['an event with a zero count', [lines[0] ?? '', JSON.stringify({ ...events[0], count: 0 })], /"count" must be an integer >= 1/],
      ['an event with a text seq', [lines[0] ?? '', JSON.stringify({ ...events[0], seq: '1' })], /"seq" must be an integer >= 1/],
      ['an event with a bad hash', [lines[0] ?? '', JSON.stringify({ ...events[0], hash: 'XYZ' })], /"hash" must be 64 lower-case/],
      [
        'an event beyond the range',
        [JSON.stringify({ ...header, to: 0 }), JSON.stringify(events[0])],
        /line 2: event 1 lies beyond the exported range/,
      ],
    ];
    for (const [what, input, message] of bad) {
      await expect(verifyAuditExport(input), what).rejects.toSatisfy(
        (err: unknown) => isAuditError(err, 'invalid_export') && message.test((err as Error).message) && err.messageZh.length > 0,
      );
    }
    const into = await target();
    await expect(importAuditExport(into.db, ['[1,2]'])).rejects.toSatisfy((err: unknown) => isAuditError(err, 'invalid_export'));
  });
});
