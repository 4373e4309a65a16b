/**
 * Retention sweeps on SQLite and PostgreSQL with an injected clock: vault fields past their retention
 * removed and those within it kept, withdrawn consent with and without another basis, the grace for a
 * consent never given, cancellation, the last activity, linked devices, open rights requests, dry runs, stored and
 * audited reports, and a SQLite dataset whose legally held rows go once the period is over.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../audit/types.js';
import { createConsentLedger } from '../consent/ledger.js';
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext, publishForTest } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { createVaultService, type VaultActor, type VaultService } from '../vault/index.js';
import { recordCategories } from '../vault/record.js';
import { createRetentionService, planSweep, type RetentionReport, type RunSweepOptions, runSweep } from './index.js';
import { addRetentionPeriod } from './rules.js';
import { RET_APP, RET_DB_ENV, RET_DB_SCHEMA, retentionDeclaration } from './test-fixtures.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1, 8, 0, 0);
const WRITER: VaultActor = { id: 'key_writer', scopes: new Set(['vault:write']) };
const EMAIL = 'li.si@example.com';
const PHONE = '13912345678';

forEachDialect('retention sweep', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let vault: VaultService;
  let ledger: ReturnType<typeof createConsentLedger>;
  let now = T0;
  let dir: string;
  let dbFile: string;
  let shop: Database.Database;

  /** Move the clock forward (never back: the ledger and the audit chain see one timeline). */
  const at = (t: number) => {
    expect(t).toBeGreaterThanOrEqual(now);
    now = t;
  };
  const env = () => ({ [RET_DB_ENV]: dbFile });
  const sweep = (options: RunSweepOptions = {}): Promise<RetentionReport> => runSweep(ctx, RET_APP, { env: env(), now, ...options });
  const plan = (options: RunSweepOptions = {}): Promise<RetentionReport> => planSweep(ctx, RET_APP, { env: env(), now, ...options });
  const account = async () => (await subjects.ensure(ctx.db, { appId: RET_APP, kind: 'account' })).id;
  const grant = (subject: string, ...purposes: string[]) =>
    ledger.record(RET_APP, {
      subject,
      action: 'grant',
      consents: purposes.map((purpose) => ({ purpose })),
      method: 'user',
      policyVersion: version(),
    });
  const version = () => ctx.policies.require(RET_APP).version;
  const withdraw = (subject: string, ...purposes: string[]) => ledger.withdraw(RET_APP, { subject, purposes, method: 'user' });
  const fieldsOf = (subject: string) => recordCategories(ctx.db, subject);
  const count = async (table: 'vault_fields' | 'audit_events' | 'retention_reports' | 'retention_dataset_checks') => {
    if (table === 'vault_fields') {
      const records = await ctx.db.selectFrom('vault_records').select('fields').execute();
      return records.reduce((k, r) => k + Object.keys(JSON.parse(r.fields) as object).length, 0);
    }
    return Number((await ctx.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  };
  const removal = (r: RetentionReport, category: string) => r.removed.filter((x) => x.category === category);
  const events = async (action: string): Promise<AuditEvent[]> => {
    await ctx.auditBatcher.flush();
    const head = await ctx.audit.head();
    return (await ctx.audit.events({ after: 0, limit: head.seq })).filter((e) => e.action === action);
  };

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { examples: ['xiaopiaopiao'], clock: () => now });
    await publishForTest(ctx, retentionDeclaration());
    subjects = createSubjectService(ctx);
    vault = createVaultService(ctx, { subjects });
    ledger = createConsentLedger(ctx, { subjects });
    dir = mkdtempSync(join(tmpdir(), 'pipa-retention-'));
    dbFile = join(dir, 'shop.db');
    shop = new Database(dbFile);
    shop.exec(RET_DB_SCHEMA);
  });
  afterAll(async () => {
    shop.close();
    rmSync(dir, { recursive: true, force: true });
    await ctx.close();
  });

  describe('vault', () => {
    it('removes a field past its retention (anonymise: the value goes) and keeps one within it', async () => {
      const base = now;
      const a = await account();
      const b = await account();
      await grant(a, 'analytics');
      await grant(b, 'analytics');
      await vault.put(RET_APP, a, { 'device.id.oaid': 'oaid-a-0001' }, WRITER);
      at(base + 30 * DAY);
      await vault.put(RET_APP, b, { 'device.id.oaid': 'oaid-b-0001' }, WRITER);

      at(base + 89 * DAY);
      let r = await sweep();
      expect(removal(r, 'device.id.oaid')).toEqual([]);
      expect(await fieldsOf(a)).toEqual(['device.id.oaid']);

      at(base + 91 * DAY);
      r = await sweep();
      expect(removal(r, 'device.id.oaid')).toEqual([
        {
          category: 'device.id.oaid',
          purpose: 'analytics',
          action: 'anonymise',
          reason: 'retention-ended',
          rule: '$.purposes[2].retention[0]',
          subjects: 1,
          fields: 1,
        },
      ]);
      expect(await fieldsOf(a)).toEqual([]);
      expect(await fieldsOf(b)).toEqual(['device.id.oaid']); // collected 30 days later: within its 90 days

      at(base + 121 * DAY);
      r = await sweep();
      expect(removal(r, 'device.id.oaid')).toMatchObject([{ subjects: 1, fields: 1, action: 'anonymise' }]);
      expect(await fieldsOf(b)).toEqual([]);
    });

    it('leaves no copy of a removed value in the SQLite files', async () => {
      const config = ctx.database.config;
      if (config.dialect !== 'sqlite' || config.file === ':memory:') return;
      const c = await account();
      await grant(c, 'analytics');
      await vault.put(RET_APP, c, { 'device.id.oaid': 'oaid-c-scrub-0001' }, WRITER);
      await vault.flush();
      const record = await ctx.db.selectFrom('vault_records').select('envelope').where('subject_id', '=', c).executeTakeFirstOrThrow();
      const slice = record.envelope.subarray(record.envelope.length - 48);
      const holds = (file: string) => existsSync(file) && readFileSync(file).includes(slice);
      await sql.raw('pragma wal_checkpoint(TRUNCATE)').execute(ctx.db);
      expect(holds(config.file)).toBe(true);
      at(now + 91 * DAY);
      const r = await sweep();
      expect(removal(r, 'device.id.oaid')).toMatchObject([{ subjects: 1, fields: 1 }]);
      expect(await fieldsOf(c)).toEqual([]);
      const wal = `${config.file}-wal`;
      await vi.waitFor(() => expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0), { timeout: 5000, interval: 50 });
      expect(holds(config.file)).toBe(false);
      expect(holds(wal)).toBe(false);
    });

    it('counts the period from the last write of the value', async () => {
      const base = now;
      const a = await account();
      await grant(a, 'analytics');
      await vault.put(RET_APP, a, { 'device.id.oaid': 'oaid-c-0001' }, WRITER);
      at(base + 80 * DAY);
      await vault.put(RET_APP, a, { 'device.id.oaid': 'oaid-c-0002' }, WRITER); // a new value, collected now
      at(base + 100 * DAY);
      await sweep();
      expect(await fieldsOf(a)).toEqual(['device.id.oaid']);
    });

    it('removes what a withdrawn consent alone covered, at once without a rule, after the rule’s period with one', async () => {
      const base = now;
      const s = await account();
      await grant(s, 'marketing', 'survey');
      await vault.put(RET_APP, s, { 'contact.email': EMAIL, 'basic.gender': '女' }, WRITER);
      at(base + 10 * DAY);
      await withdraw(s, 'marketing', 'survey');

      at(base + 12 * DAY);
      let r = await sweep();
      // survey states no retention: the withdrawal ends it at once
      expect(removal(r, 'basic.gender')).toEqual([
        { category: 'basic.gender', purpose: 'survey', action: 'delete', reason: 'consent-withdrawn', rule: null, subjects: 1, fields: 1 },
      ]);
      // marketing keeps the e-mail 7 days after the withdrawal
      expect(await fieldsOf(s)).toEqual(['contact.email']);

      at(base + 18 * DAY);
      r = await sweep();
      expect(removal(r, 'contact.email')).toEqual([
        {
          category: 'contact.email',
          purpose: 'marketing',
          action: 'delete',
          reason: 'retention-ended',
          rule: '$.purposes[1].retention[0]',
          subjects: 1,
          fields: 1,
        },
      ]);
      expect(await fieldsOf(s)).toEqual([]);
    });

    it('keeps a category another basis covers (contract) after the consent is withdrawn, until that basis ends too', async () => {
      const base = now;
      const s = await account();
      await grant(s, 'marketing');
      await vault.put(RET_APP, s, { 'contact.phone': PHONE, 'basic.name': '李四' }, WRITER);
      at(base + DAY);
      await withdraw(s, 'marketing');
      at(base + 5 * DAY);
      let r = await sweep();
      expect(removal(r, 'contact.phone')).toEqual([]);
      expect(await fieldsOf(s)).toEqual(['basic.name', 'contact.phone']);

      // The account is cancelled: the contract purpose keeps them 30 days more.
      at(base + 10 * DAY);
      await subjects.setStatus(ctx.db, RET_APP, s, 'frozen');
      at(base + 39 * DAY);
      r = await sweep();
      expect(await fieldsOf(s)).toEqual(['basic.name', 'contact.phone']);
      at(base + 41 * DAY);
      r = await sweep();
      expect(removal(r, 'contact.phone')).toEqual([
        {
          category: 'contact.phone',
          purpose: 'account',
          action: 'delete',
          reason: 'retention-ended',
          rule: '$.purposes[0].retention[0]',
          subjects: 1,
          fields: 1,
        },
      ]);
      expect(removal(r, 'basic.name')).toMatchObject([{ purpose: 'account', reason: 'retention-ended', fields: 1 }]);
      expect(await fieldsOf(s)).toEqual([]);
    });

    it('removes a value whose consent was never given only after the grace period', async () => {
      const base = now;
      const s = await account();
      await vault.put(RET_APP, s, { 'device.id.oaid': 'oaid-never-01' }, WRITER);
      at(base + 3_600_000);
      await sweep();
      expect(await fieldsOf(s)).toEqual(['device.id.oaid']);
      at(base + 25 * 3_600_000);
      const r = await sweep();
      expect(removal(r, 'device.id.oaid')).toEqual([
        {
          category: 'device.id.oaid',
          purpose: 'analytics',
          action: 'delete',
          reason: 'consent-missing',
          rule: null,
          subjects: 1,
          fields: 1,
        },
      ]);
      expect(await fieldsOf(s)).toEqual([]);
      // A refusal is not a grant either.
      const d = await account();
      await ledger.record(RET_APP, {
        subject: d,
        action: 'deny',
        consents: [{ purpose: 'survey' }],
        method: 'user',
        policyVersion: version(),
      });
      await vault.put(RET_APP, d, { 'basic.gender': '男' }, WRITER);
      const r2 = await sweep({ missingConsentGraceMs: 0 });
      expect(removal(r2, 'basic.gender')).toMatchObject([{ purpose: 'survey', reason: 'consent-denied', action: 'delete' }]);
    });

    it('judges a linked device’s fields by its account’s consents and counts the person once', async () => {
      const base = now;
      const acc = await account();
      const dev = (await subjects.ensure(ctx.db, { appId: RET_APP, kind: 'device', externalId: 'dev-ret-1' })).id;
      await subjects.link(ctx.db, RET_APP, dev, acc);
      await grant(acc, 'analytics', 'survey');
      await vault.put(RET_APP, dev, { 'device.id.oaid': 'oaid-dev-0001' }, WRITER);
      await vault.put(RET_APP, acc, { 'basic.gender': '女' }, WRITER);
      await vault.put(RET_APP, dev, { 'basic.gender': '女' }, WRITER);
      at(base + 2 * DAY);
      await sweep();
      expect(await fieldsOf(dev)).toEqual(['basic.gender', 'device.id.oaid']);
      await withdraw(acc, 'survey');
      at(base + 3 * DAY);
      const r = await sweep();
      expect(removal(r, 'basic.gender')).toMatchObject([{ purpose: 'survey', reason: 'consent-withdrawn', subjects: 1, fields: 2 }]);
      expect(await fieldsOf(dev)).toEqual(['device.id.oaid']);
      expect(await fieldsOf(acc)).toEqual([]);
    });

    it('defers a person with an open rights request', async () => {
      const s = await account();
      await vault.put(RET_APP, s, { 'basic.gender': '男' }, WRITER); // no consent: would go after the grace
      at(now + 2 * DAY);
      await ctx.db
        .insertInto('rights_requests')
        .values({
          id: 'rrq_retentiontest000001',
          app_id: RET_APP,
          subject_id: s,
          type: 'access',
          state: 'in_progress',
          open_key: `${RET_APP}|${s}|access`,
          submitted_by: 'subject',
          verification: null,
          verified_at: null,
          verified_by: null,
          verify_reason: null,
          received_at: now,
          due_at: now + 15 * DAY,
          deadline: JSON.stringify({ value: 15, unit: 'days', source: 'test' }),
          remind_at: null,
          reminded_at: null,
          overdue_at: null,
          closed_at: null,
          reject_code: null,
          reject_zh: null,
          reject_en: null,
          payload: '{}',
          sealed: null,
          key_wrapped: null,
          waiting: null,
          result: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      let r = await sweep();
      expect(r.deferred).toBe(1);
      expect(await fieldsOf(s)).toEqual(['basic.gender']);
      await ctx.db
        .updateTable('rights_requests')
        .set({ closed_at: now, open_key: null, state: 'completed' })
        .where('subject_id', '=', s)
        .execute();
      r = await sweep();
      expect(r.deferred).toBe(0);
      expect(await fieldsOf(s)).toEqual([]);
    });

    it('removes a category no purpose uses any more, and lists rules it cannot evaluate', async () => {
      const s = await account();
      await vault.put(RET_APP, s, { 'online.browsing-history': 'page-views' }, WRITER);
      const r = await plan();
      expect(r.unevaluated.map((u) => [u.purpose, u.trigger, u.rule, u.categories])).toEqual([
        ['invoicing', 'consent-withdrawn', '$.purposes[6].retention[0]', ['contact.address']],
      ]);
      expect(removal(r, 'online.browsing-history')).toEqual([]); // contract, a year from the last activity: the subject is new
      // A new version of the declaration drops the purpose: nothing covers the category.
      await publishForTest(
        ctx,
        retentionDeclaration((d) => {
          d.versions = [{ version: '1' }, { version: '2' }];
          d.purposes = d.purposes.filter((p) => p.id !== 'history');
        }),
        { version: '2' },
      );
      try {
        const r2 = await sweep();
        expect(r2.policyVersion).toBe('2');
        expect(removal(r2, 'online.browsing-history')).toEqual([
          {
            category: 'online.browsing-history',
            purpose: null,
            action: 'delete',
            reason: 'no-purpose',
            rule: null,
            subjects: 1,
            fields: 1,
          },
        ]);
      } finally {
        await publishForTest(
          ctx,
          retentionDeclaration((d) => (d.versions = [{ version: '1' }, { version: '2' }, { version: '3' }])),
          {
            version: '3',
          },
        );
      }
    });
    it('removes what a last-activity rule covers a period after the person’s last activity (their creation when none was recorded)', async () => {
      const base = now;
      const quiet = await account(); // never active after its creation
      const reported = await account(); // the app reports a login
      const consented = await account(); // gives a consent (method user): activity pipa sees itself
      const byApi = await account(); // a consent recorded by the operator (method api) is not the person's activity
      const person = await account(); // active on a linked device
      const dev = (await subjects.ensure(ctx.db, { appId: RET_APP, kind: 'device', externalId: 'dev-ret-activity' })).id;
      await subjects.link(ctx.db, RET_APP, dev, person);
      const all = [quiet, reported, consented, byApi, person, dev];
      for (const s of all) await vault.put(RET_APP, s, { 'online.browsing-history': `pages-of-${s}` }, WRITER);
      const lastActive = async (s: string) => (await subjects.require(ctx.db, RET_APP, s)).lastActiveAt;

      at(base + 100 * DAY);
      await subjects.recordActivity(ctx.db, RET_APP, [{ subject: reported }]);
      await grant(consented, 'survey');
      await ledger.record(RET_APP, {
        subject: byApi,
        action: 'grant',
        consents: [{ purpose: 'survey' }],
        method: 'api',
        policyVersion: version(),
      });
      expect(await lastActive(reported)).toBe(base + 100 * DAY);
      expect(await lastActive(consented)).toBe(base + 100 * DAY);
      expect(await lastActive(byApi)).toBeNull();
      at(base + 200 * DAY);
      await subjects.recordActivity(ctx.db, RET_APP, [{ subject: dev }]);
      // A report older than the one recorded changes nothing.
      expect((await subjects.recordActivity(ctx.db, RET_APP, [{ subject: reported, at: base + 50 * DAY }])).advanced).toEqual([]);
      expect(await lastActive(reported)).toBe(base + 100 * DAY);

      const year = (from: number) => addRetentionPeriod(from, 'P1Y');
      at(year(base) - 1);
      expect(removal(await sweep(), 'online.browsing-history')).toEqual([]);

      at(year(base));
      const r = await sweep();
      expect(removal(r, 'online.browsing-history')).toEqual([
        {
          category: 'online.browsing-history',
          purpose: 'history',
          action: 'delete',
          reason: 'retention-ended',
          rule: '$.purposes[4].retention[0]',
          subjects: 2,
          fields: 2,
        },
      ]);
      expect(r.unevaluated.map((u) => u.trigger)).toEqual(['consent-withdrawn']);
      expect(await fieldsOf(quiet)).toEqual([]);
      expect(await fieldsOf(byApi)).toEqual([]);
      for (const s of [reported, consented, person, dev]) expect(await fieldsOf(s)).toEqual(['online.browsing-history']);
      const audited = (await events('retention.remove')).filter((e) => (e.details as { sweep?: string }).sweep === r.id);
      expect(audited.map((e) => e.details)).toContainEqual({
        sweep: r.id,
        fields: 1,
        removed: [
          {
            category: 'online.browsing-history',
            purpose: 'history',
            action: 'delete',
            reason: 'retention-ended',
            rule: '$.purposes[4].retention[0]',
          },
        ],
      });

      at(year(base + 100 * DAY));
      expect(removal(await sweep(), 'online.browsing-history')).toMatchObject([{ reason: 'retention-ended', subjects: 2, fields: 2 }]);
      expect(await fieldsOf(reported)).toEqual([]);
      expect(await fieldsOf(consented)).toEqual([]);
      // The device's activity is the person's: the account's own field stays too.
      expect(await fieldsOf(person)).toEqual(['online.browsing-history']);

      at(year(base + 200 * DAY));
      const last = await sweep();
      expect(removal(last, 'online.browsing-history')).toMatchObject([{ purpose: 'history', subjects: 1, fields: 2 }]);
      expect(await fieldsOf(person)).toEqual([]);
      expect(await fieldsOf(dev)).toEqual([]);
    });
  });

  describe('dry run, report, audit', () => {
    it('a dry run reports what a run removes and touches nothing', async () => {
      const s = await account();
      await grant(s, 'survey');
      await vault.put(RET_APP, s, { 'basic.gender': '男' }, WRITER);
      await withdraw(s, 'survey');
      at(now + DAY);
      const before = { fields: await count('vault_fields'), audit: await count('audit_events'), reports: await count('retention_reports') };
      const dry = await plan();
      const dry2 = await sweep({ dryRun: true });
      expect(dry.id).toBeNull();
      expect(dry.dryRun).toBe(true);
      expect(removal(dry, 'basic.gender')).toMatchObject([{ reason: 'consent-withdrawn', fields: 1 }]);
      expect(dry2.removed).toEqual(dry.removed);
      expect({
        fields: await count('vault_fields'),
        audit: await count('audit_events'),
        reports: await count('retention_reports'),
      }).toEqual(before);
      expect(await fieldsOf(s)).toEqual(['basic.gender']);

      const run = await sweep({ actor: 'key_ops', trigger: 'api', requestId: 'req_ret_1' });
      expect(run.removed).toEqual(dry.removed);
      expect(await fieldsOf(s)).toEqual([]);
    });

    it('stores the report and audits the sweep (counts per category, purpose and action) and each removal, never a value', async () => {
      const s = await account();
      await grant(s, 'marketing');
      await vault.put(RET_APP, s, { 'contact.email': EMAIL }, WRITER);
      await withdraw(s, 'marketing');
      at(now + 8 * DAY);
      const r = await sweep({ actor: 'key_ops', requestId: 'req_ret_2' });
      expect(r.id).toMatch(/^rsw_[a-z2-7]{26}$/);
      expect(removal(r, 'contact.email')).toMatchObject([{ purpose: 'marketing', reason: 'retention-ended', fields: 1 }]);
      expect(r.totals.fields).toBe(r.removed.reduce((n, x) => n + x.fields, 0));
      expect(r.totals.datasetRows).toBe(0);
      const service = createRetentionService(ctx, { env: env() });
      expect(await service.report(RET_APP, r.id ?? '')).toEqual(r);
      const page = await service.reports(RET_APP, { limit: 1 });
      expect(page.reports[0]).toMatchObject({
        id: r.id,
        removedFields: r.totals.fields,
        removedSubjects: r.totals.subjects,
        actor: 'key_ops',
        trigger: 'api',
      });
      expect(page.next).not.toBeNull();
      const older = await service.reports(RET_APP, { before: page.next ?? '', limit: 100 });
      expect(older.reports.map((x) => x.id)).not.toContain(r.id);
      expect(older.reports.length).toBeGreaterThan(3);
      for (let i = 1; i < older.reports.length; i++) expect((older.reports[i - 1]?.at ?? 0) >= (older.reports[i]?.at ?? 0)).toBe(true);

      const sweepEvent = (await events('retention.sweep')).find((e) => (e.details as { sweep?: string } | null)?.sweep === r.id);
      expect(sweepEvent).toMatchObject({
        actor: 'key_ops',
        appId: RET_APP,
        categories: [...new Set(r.removed.map((x) => x.category))].sort(),
        outcome: 'ok',
        requestId: 'req_ret_2',
      });
      expect((sweepEvent?.details as { removed?: unknown[] } | undefined)?.removed).toEqual(r.removed.map(({ rule: _rule, ...x }) => x));
      expect((sweepEvent?.details as { removed?: unknown[] } | undefined)?.removed).toContainEqual({
        category: 'contact.email',
        purpose: 'marketing',
        action: 'delete',
        reason: 'retention-ended',
        subjects: 1,
        fields: 1,
      });
      const removeEvents = (await events('retention.remove')).filter(
        (e) => (e.details as { sweep?: string } | null)?.sweep === r.id && e.categories.includes('contact.email'),
      );
      expect(removeEvents).toHaveLength(1);
      expect(removeEvents[0]).toMatchObject({ categories: ['contact.email'], subjectPseudonym: expect.stringMatching(/^psn_/) });
      const all = JSON.stringify(await events('retention.remove')) + JSON.stringify(await events('retention.sweep'));
      for (const value of [EMAIL, PHONE, '李四', 'oaid-a-0001']) expect(all).not.toContain(value);
    });

    it('refuses an unknown app and bad options, changing nothing', async () => {
      await expect(runSweep(ctx, 'no-such-app', { env: env() })).rejects.toMatchObject({ code: 'unknown_app' });
      for (const bad of [
        { batchSize: 0 },
        { batchSize: 1.5 },
        { maxDatasetSubjects: -1 },
        { missingConsentGraceMs: -5 },
        { now: Number.NaN },
      ]) {
        const err = await sweep(bad).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PipaError);
        expect((err as PipaError).code).toBe('validation_failed');
      }
      const service = createRetentionService(ctx);
      await expect(service.report(RET_APP, 'rsw_aaaaaaaaaaaaaaaaaaaaaaaaaa')).rejects.toMatchObject({ code: 'not_found' });
      await expect(service.reports(RET_APP, { before: 'yesterday' })).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(service.reports(RET_APP, { limit: 0 })).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(service.reports('no-such-app')).rejects.toMatchObject({ code: 'unknown_app' });
    });

    it('works in small batches and stops between batches when aborted', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await account();
        ids.push(s);
        await vault.put(RET_APP, s, { 'basic.gender': '男' }, WRITER);
      }
      at(now + 2 * DAY);
      const dry = await plan({ batchSize: 2 });
      expect(removal(dry, 'basic.gender')).toMatchObject([{ fields: 5, subjects: 5 }]);
      const controller = new AbortController();
      controller.abort(new Error('test stop'));
      const stopped = await sweep({ signal: controller.signal });
      expect(stopped.errors).toMatchObject([{ code: 'aborted', where: 'vault' }]);
      expect(stopped.totals.fields).toBe(0);
      const r = await sweep({ batchSize: 2 });
      expect(removal(r, 'basic.gender')).toMatchObject([{ fields: 5, subjects: 5 }]);
      for (const s of ids) expect(await fieldsOf(s)).toEqual([]);
    });
  });

  describe('datasets', () => {
    it('removes legally held rows of an erased subject once the period is over, and keeps the rest', async () => {
      at(Date.UTC(2030, 0, 10, 8));
      const gone = await account();
      const alive = await account();
      await subjects.setStatus(ctx.db, RET_APP, gone, 'erased');
      const insert = shop.prepare('INSERT INTO invoices (id, subject_ref, buyer_phone, amount, issued_on) VALUES (?, ?, ?, ?, ?)');
      insert.run(1, gone, null, '100.00', '2026-01-09'); // held until 2029-01-09: over
      insert.run(2, gone, null, '200.00', '2029-06-01'); // held until 2032-06-01
      insert.run(3, alive, PHONE, '300.00', '2020-01-10'); // a live customer: not the sweep's business
      const rows = () => shop.prepare('SELECT id, subject_ref, buyer_phone, amount, issued_on FROM invoices ORDER BY id').all();
      const before = rows();

      const dry = await plan();
      const ds = dry.datasets.find((d) => d.dataset === 'ret-db');
      expect(ds?.swept).toEqual(['invoices']);
      expect(ds?.subjects).toBe(1);
      const inv = ds?.tables.find((t) => t.table === 'invoices');
      expect(inv).toMatchObject({ rowsDeleted: 1, rowsHeld: 1, heldUntil: '2032-06-01' });
      expect(rows()).toEqual(before);
      expect(await count('retention_dataset_checks')).toBe(0);

      const r = await sweep();
      expect(r.totals.datasetRows).toBe(1);
      expect(rows()).toEqual([
        { id: 2, subject_ref: gone, buyer_phone: null, amount: '200.00', issued_on: '2029-06-01' },
        { id: 3, subject_ref: alive, buyer_phone: PHONE, amount: '300.00', issued_on: '2020-01-10' },
      ]);
      const check = await ctx.db
        .selectFrom('retention_dataset_checks')
        .selectAll()
        .where('subject_id', '=', gone)
        .executeTakeFirstOrThrow();
      expect(check).toMatchObject({ state: 'held', held_until: '2032-06-01', dataset: 'ret-db' });
      expect(Number(check.next_at)).toBe(Date.UTC(2032, 5, 1));
      const audited = (await events('retention.dataset')).filter((e) => (e.details as { sweep?: string }).sweep === r.id);
      expect(audited).toHaveLength(1);
      expect(audited[0]?.details).toMatchObject({ dataset: 'ret-db', heldUntil: '2032-06-01' });

      // Not due again before the hold ends.
      at(Date.UTC(2030, 0, 11, 8));
      const quiet = await sweep();
      expect(quiet.datasets.find((d) => d.dataset === 'ret-db')?.subjects).toBe(0);

      // The day the hold ends.
      at(Date.UTC(2032, 5, 1, 1));
      const later = await sweep();
      expect(later.datasets.find((d) => d.dataset === 'ret-db')?.tables.find((t) => t.table === 'invoices')).toMatchObject({
        rowsDeleted: 1,
        rowsHeld: 0,
        heldUntil: null,
      });
      expect(rows()).toEqual([{ id: 3, subject_ref: alive, buyer_phone: PHONE, amount: '300.00', issued_on: '2020-01-10' }]);
      const done = await ctx.db.selectFrom('retention_dataset_checks').selectAll().where('subject_id', '=', gone).executeTakeFirstOrThrow();
      expect(done).toMatchObject({ state: 'done', next_at: null, held_until: null });
    });

    it('says precisely what the connector API cannot reach', async () => {
      const r = await plan();
      const ds = r.datasets.find((d) => d.dataset === 'ret-db');
      expect(ds?.limits.map((l) => [l.code, l.table])).toEqual([
        ['purpose-retention-not-applied', 'invoices'],
        ['purpose-retention-not-applied', 'orders'],
        ['not-reachable-by-subject-id', 'orders'],
        ['purpose-retention-not-applied', 'notes'],
        ['no-from', 'notes'],
      ]);
      // Masked columns would be masked again: the dataset is not called at all (its variable is not even set).
      const masked = r.datasets.find((d) => d.dataset === 'ret-masked');
      expect(masked).toMatchObject({ swept: [], subjects: 0, tables: [] });
      expect(masked?.limits.map((l) => [l.code, l.table])).toEqual([
        ['purpose-retention-not-applied', 'profiles'],
        ['strategy-not-idempotent', 'profiles'],
      ]);
      expect(masked?.limits[1]?.message).toContain('nickname (mask)');
      expect(r.errors).toEqual([]);
      const orders = ds?.limits.find((l) => l.code === 'not-reachable-by-subject-id');
      expect(orders?.message).toContain('selects rows only by subject keys');
      expect(orders?.key).toBe('phone');
      // The example's orders are joined through merchants, found by phone.
      const xpp = await planSweep(ctx, 'xiaopiaopiao-merchant', { env: {}, now });
      const demo = xpp.datasets.find((d) => d.dataset === 'xpp-demo');
      expect(demo?.swept).toEqual([]);
      const held = demo?.limits.find((l) => l.code === 'not-reachable-by-subject-id');
      expect(held).toMatchObject({ table: 'orders', key: 'phone' });
      expect(held?.message).toContain('through merchants by phone');
      expect(xpp.errors).toEqual([]);
    });

    it('reports a dataset it cannot open and still sweeps the vault', async () => {
      const s = await account();
      const gone = await account();
      await subjects.setStatus(ctx.db, RET_APP, gone, 'erased');
      await vault.put(RET_APP, s, { 'basic.gender': '男' }, WRITER);
      at(now + 2 * DAY);
      const seen: string[] = [];
      const r = await runSweep(ctx, RET_APP, {
        env: {},
        now,
        onError: (err, where) => seen.push(`${where} ${(err as { code?: string }).code}`),
      });
      expect(seen).toEqual(['dataset:ret-db env_missing']);
      expect(r.errors).toMatchObject([{ where: 'dataset:ret-db', code: 'env_missing', subjects: [gone] }]);
      expect(r.errors[0]?.message).toContain(RET_DB_ENV);
      expect(removal(r, 'basic.gender')).toMatchObject([{ fields: 1 }]);
      expect(r.datasets.find((d) => d.dataset === 'ret-db')).toMatchObject({ subjects: 0, remaining: 1 });
      const event = (await events('retention.sweep')).find((e) => (e.details as { sweep?: string }).sweep === r.id);
      expect(event?.outcome).toBe('failed');
      // The next sweep with the variable set takes the subject.
      const again = await sweep();
      expect(again.errors).toEqual([]);
      expect(again.datasets.find((d) => d.dataset === 'ret-db')?.subjects).toBe(1);
    });

    it('reports a dataset whose tables do not match the declaration, and a connector that cannot be made', async () => {
      const gone = await account();
      await subjects.setStatus(ctx.db, RET_APP, gone, 'erased');
      at(now + DAY);
      const empty = join(dir, 'empty.db');
      new Database(empty).close();
      const r = await runSweep(ctx, RET_APP, { env: { [RET_DB_ENV]: empty }, now });
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatchObject({ code: 'schema_mismatch', subjects: [gone], retryable: false });
      expect(r.errors[0]?.where).toMatch(/^dataset:ret-db\/(invoices|orders|notes)$/);
      expect(await ctx.db.selectFrom('retention_dataset_checks').select('state').where('subject_id', '=', gone).execute()).toEqual([]);

      const broken = await runSweep(ctx, RET_APP, {
        now,
        connectors: () => {
          throw new TypeError('factory failed for 13900000000');
        },
      });
      expect(broken.errors.map((e) => [e.where, e.code])).toEqual([
        ['dataset:ret-db', 'internal'],
        ['dataset:ret-masked', 'internal'],
      ]);
      expect(JSON.stringify(broken.errors)).not.toContain('13900000000');
      // With the real database the subject is checked.
      const ok = await sweep();
      expect(ok.errors).toEqual([]);
      expect(await ctx.db.selectFrom('retention_dataset_checks').select('state').where('subject_id', '=', gone).execute()).toEqual([
        { state: 'done' },
      ]);
    });
  });
});
