/**
 * Subjects: the people (accounts) and devices whose personal information and consent pipa keeps. A
 * subject is `sub_` + 26 random base32 characters, unique across apps; the app's own identifier of the
 * account or device (`externalId`) maps to it, one subject per (app, kind, externalId).
 *
 * - `ensure` is idempotent on (app, kind, externalId): concurrent calls from several nodes get the same
 *   subject (insert-or-nothing on the unique index, then read). Called with the service's database
 *   (a sign-up over HTTP), the ensures of one moment are group-committed: one transaction, their
 *   audit events appended together (store/group-commit.ts).
 * - A device consents at first launch as its own subject and is `link`ed to the account when the person
 *   signs in: its consent history moves to the account and the device id resolves to the account from
 *   then on (docs/decisions.md §7). A device is linked to one account; linking it to another is a
 *   `conflict` (the history it brought belongs to whoever consented on it).
 * - Status: `active`, `frozen` (cancellation requested: processing stops at once, PIPL 47), `erased`
 *   (final: an erased subject never becomes active again; its external id and date of birth are
 *   cleared, so the same account can register again as a new subject).
 *
 * Every change is written in a transaction with its audit event (fail closed) and a notification on
 * `CHANNELS.subject` (payload `<app>\t<subject>`). The consent projection (`ctx.consent`) follows:
 * when the method runs its own transaction, right after the commit, before it returns; when it joins
 * the caller's transaction, as soon as that commits, through the notification (the service listens on
 * `CHANNELS.subject` in every process, see sync.ts), never before: a rolled-back change is never seen.
 */
import type { Kysely } from 'kysely';
import { auditedBatch } from '../audit/audited-batch.js';
import type { AuditEventInput } from '../audit/types.js';
import { chinaYmd, parseYmd } from '../consent/age.js';
import { base32, SORTABLE_BASE32_ALPHABET } from '../crypto/encoding.js';
import { systemRandom } from '../crypto/random.js';
import { type ErrorDetail, PipaError } from '../errors.js';
import { CHANNELS, type ServiceContext } from '../service/context.js';
import { forUpdate } from '../store/capabilities.js';
import { groupCommit } from '../store/group-commit.js';
import type { Row, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { ACTIVITY_CLOCK_SKEW_MS, advanceLastActivity, MAX_ACTIVITY_BATCH } from './activity.js';
import { ensureSubjectSync, refreshAfterCommit } from './sync.js';

export const SUBJECT_KIND_VALUES = ['account', 'device'] as const;
export type SubjectKindName = (typeof SUBJECT_KIND_VALUES)[number];
export const SUBJECT_STATUS_NAMES = ['active', 'frozen', 'erased'] as const;
export type SubjectStatusName = (typeof SUBJECT_STATUS_NAMES)[number];

export interface SubjectRecord {
  id: string;
  appId: string;
  kind: SubjectKindName;
  externalId: string | null;
  linkedTo: string | null;
  status: SubjectStatusName;
  birthDate: string | null;
  createdAt: number;
  updatedAt: number;
  frozenAt: number | null;
  erasedAt: number | null;
  /** When the subject was last active as far as pipa knows (activity.ts); null: never recorded. */
  lastActiveAt: number | null;
}

/** Who made a change and in which request: recorded in the audit event. Default actor `system`. */
export interface SubjectWriteOptions {
  actor?: string;
  requestId?: string | null;
  /** The time of the change (ms; default now): an erasure's status carries the time its receipt gives. */
  at?: number;
}

/** An ensure, its input checked. */
interface EnsureItem {
  appId: string;
  kind: SubjectKindName;
  externalId: string | null;
  birthDate: string | null;
  options: SubjectWriteOptions | undefined;
}

/** One activity report's work inside a transaction, its audit events collected. */
type ActivityRun = (trx: Kysely<Schema>, audits: AuditEventInput[]) => Promise<ActivityResult>;

interface EnsureOutcome {
  row: Row<'subjects'>;
  touched: string[];
}

export interface EnsureSubjectInput {
  appId: string;
  kind: SubjectKindName;
  externalId?: string | null;
  birthDate?: string | null;
}

/** One subject's activity report: now when `at` is absent. */
export interface ActivityEntry {
  subject: string;
  /** When (ms since the epoch): not before the subject was created, not in the future. */
  at?: number | undefined;
}

export interface ActivityResult {
  /** Entries received. */
  received: number;
  /** The subjects whose last activity moved forward (the others already had a later one). */
  advanced: string[];
}

export interface SubjectService {
  /** The subject for (app, kind, externalId), created when absent; always a new subject without an externalId. */
  ensure(db: Kysely<Schema>, input: EnsureSubjectInput, options?: SubjectWriteOptions): Promise<SubjectRecord>;
  get(db: Kysely<Schema>, appId: string, subjectId: string): Promise<SubjectRecord | undefined>;
  /** The subject, or `PipaError('unknown_subject')`. */
  require(db: Kysely<Schema>, appId: string, subjectId: string): Promise<SubjectRecord>;
  findByExternalId(db: Kysely<Schema>, appId: string, kind: SubjectKindName, externalId: string): Promise<SubjectRecord | undefined>;
  /** Link a device subject to an account subject of the same app (idempotent; another account is a `conflict`). */
  link(db: Kysely<Schema>, appId: string, deviceId: string, accountId: string, options?: SubjectWriteOptions): Promise<void>;
  setBirthDate(db: Kysely<Schema>, appId: string, subjectId: string, birthDate: string, options?: SubjectWriteOptions): Promise<void>;
  setStatus(db: Kysely<Schema>, appId: string, subjectId: string, status: SubjectStatusName, options?: SubjectWriteOptions): Promise<void>;
  /**
   * The app's backend reports that subjects were active (a login, a use of the app): their last
   * activity moves forward to `at` (default now), never back. 1 to 1000 entries, all or nothing:
   * an unknown subject (`unknown_subject`), an erased one (`conflict`), a time that is not an integer
   * of ms, more than a minute ahead of pipa's clock or before the subject was created
   * (`validation_failed`) refuse the whole report, every such entry named by its path
   * (`$.subjects[i].subject`, `$.subjects[i].at`). One `subject.activity` audit event per subject moved.
   */
  recordActivity(
    db: Kysely<Schema>,
    appId: string,
    entries: readonly ActivityEntry[],
    options?: SubjectWriteOptions,
  ): Promise<ActivityResult>;
}

/**
 * `sub_` + 26 base32 characters: 6 bytes of creation time (ms) then 10 random bytes (80 bits; ids are
 * not secrets, access needs a key or a token). Time first so that subjects created together sit
 * together in every index keyed by subject id (subjects, data_keys, vault_records, vault_index): a
 * batch of writes to new subjects dirties a few pages instead of one random page per row per index,
 * which is most of a SQLite commit's cost. The cost: an id reveals when its subject was created.
 *
 * Ids made by one process increase strictly, so they sort in creation order even within one
 * millisecond (a burst of sign-ups appends to those indexes rather than landing at random places in
 * the millisecond's range): in the same millisecond (or when the clock steps back) the time part is
 * kept and the random part grows by a random step of 1 to 2^32 (still unpredictable from outside);
 * and the characters are base32 in ASCII order (SORTABLE_BASE32_ALPHABET), so that string order, which
 * the databases use, is byte order. Ids from different processes interleave by time, unique by their
 * random parts.
 */
export function createSubjectIdGenerator(random: (n: number) => Buffer = systemRandom): (now?: number) => string {
  let last: Buffer | null = null;
  /** `out` = `prev` with its 10 random bytes plus a random step of 1..2^32; false when that overflows. */
  const addRandomStep = (prev: Buffer, out: Buffer): boolean => {
    prev.copy(out);
    let carry = random(4).readUInt32BE(0) + 1;
    for (let i = 15; i >= 6 && carry > 0; i--) {
      const sum = (out[i] as number) + (carry % 256);
      out[i] = sum & 0xff;
      carry = Math.floor(carry / 256) + (sum >> 8);
    }
    return carry === 0;
  };
  return (now = Date.now()) => {
    const bytes = Buffer.allocUnsafe(16);
    const lastTime = last === null ? -1 : last.readUIntBE(0, 6);
    const stepped = last !== null && now <= lastTime && addRandomStep(last, bytes);
    if (!stepped) {
      // A new millisecond (or the step overflowed): the later of now and the last time + 1, fresh random part.
      bytes.writeUIntBE(Math.max(now, lastTime + 1), 0, 6);
      random(10).copy(bytes, 6);
    }
    last = bytes;
    return `sub_${base32(bytes, SORTABLE_BASE32_ALPHABET)}`;
  };
}

const generateSubjectId = createSubjectIdGenerator();

export function newSubjectId(): string {
  return generateSubjectId();
}

const SUBJECT_ID = /^sub_[a-z2-7]{10,52}$/;

export function isSubjectId(value: string): boolean {
  return SUBJECT_ID.test(value);
}

export function subjectFromRow(r: Row<'subjects'>): SubjectRecord {
  return {
    id: r.id,
    appId: r.app_id,
    kind: r.kind,
    externalId: r.external_id,
    linkedTo: r.linked_to,
    status: r.status,
    birthDate: r.birth_date,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    frozenAt: r.frozen_at === null ? null : Number(r.frozen_at),
    erasedAt: r.erased_at === null ? null : Number(r.erased_at),
    lastActiveAt: r.last_active_at === null ? null : Number(r.last_active_at),
  };
}

function invalid(path: string, en: string, zh: string): PipaError {
  return new PipaError('validation_failed', `${path}: ${en}`, [{ path, message: `${zh} / ${en}` }]);
}

const MAX_EXTERNAL_ID = 256;

/** A date of birth `YYYY-MM-DD` that exists and is not after today (China time). The value is never echoed. */
export function checkBirthDate(value: unknown, now: number, path = 'birthDate'): string {
  if (typeof value !== 'string') throw invalid(path, 'must be a date YYYY-MM-DD', '须为日期 YYYY-MM-DD');
  const ymd = parseYmd(value);
  if (ymd === 0) throw invalid(path, 'must be a real date YYYY-MM-DD', '须为有效日期 YYYY-MM-DD');
  if (ymd > chinaYmd(now)) throw invalid(path, 'the date of birth is in the future', '出生日期晚于今天');
  if (ymd < 18_500_101) throw invalid(path, 'the date of birth is before 1850', '出生日期早于 1850 年');
  return value;
}

function checkExternalId(value: unknown, path = 'externalId'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_EXTERNAL_ID) {
    throw invalid(
      path,
      `must be a non-empty string of at most ${MAX_EXTERNAL_ID} characters`,
      `须为不超过 ${MAX_EXTERNAL_ID} 个字符的非空字符串`,
    );
  }
  return value;
}

function checkKind(value: unknown): SubjectKindName {
  if (value !== 'account' && value !== 'device') throw invalid('kind', 'must be account or device', '须为 account 或 device');
  return value;
}

function unknownSubject(subjectId: string, path = 'subject'): PipaError {
  return new PipaError('unknown_subject', `unknown subject ${subjectId}`, [{ path, message: `未知主体 / unknown subject ${subjectId}` }]);
}

export function createSubjectService(ctx: ServiceContext): SubjectService {
  const sync = ensureSubjectSync(ctx);
  const caps = ctx.database.caps;

  /** The app must exist (published or not). */
  const requireApp = async (db: Kysely<Schema>, appId: string): Promise<void> => {
    if (typeof appId !== 'string' || appId.length === 0) throw invalid('app', 'must be an app id', '须为应用标识');
    if (ctx.policies.get(appId) !== undefined) return;
    const row = await db.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
    if (row === undefined) {
      throw new PipaError('unknown_app', `unknown app ${appId}`, [{ path: 'app', message: `未知应用 / unknown app ${appId}` }]);
    }
  };

  const select = (db: Kysely<Schema>) => db.selectFrom('subjects').selectAll();

  const getRow = async (db: Kysely<Schema>, appId: string, subjectId: string, lock = false): Promise<Row<'subjects'> | undefined> => {
    if (typeof subjectId !== 'string' || !isSubjectId(subjectId)) return undefined;
    const q = select(db).where('id', '=', subjectId).where('app_id', '=', appId);
    return (lock ? forUpdate(q, caps) : q).executeTakeFirst();
  };

  const requireRow = async (
    db: Kysely<Schema>,
    appId: string,
    subjectId: string,
    lock = false,
    path = 'subject',
  ): Promise<Row<'subjects'>> => {
    const row = await getRow(db, appId, subjectId, lock);
    if (row === undefined) throw unknownSubject(subjectId, path);
    return row;
  };

  const actorOf = (options: SubjectWriteOptions | undefined) => options?.actor ?? 'system';

  /**
   * Run a write: in its own transaction (then the projection follows right after the commit) or in the
   * caller's (then through the notification, after the caller's commit).
   */
  const write = async (db: Kysely<Schema>, fn: (trx: Kysely<Schema>) => Promise<string[]>): Promise<void> => {
    await sync;
    if (db.isTransaction) {
      await fn(db);
      return;
    }
    await refreshAfterCommit(ctx, await withTransaction(db, fn));
  };

  const notify = (trx: Kysely<Schema>, appId: string, subjectId: string) =>
    ctx.database.notify(CHANNELS.subject, `${appId}\t${subjectId}`, trx);

  /**
   * One ensure inside `trx`: the subject for (app, kind, externalId), created when absent. Its audit
   * event goes to `events` (the caller appends them, in order, in the same transaction). Returns the
   * subject as stored and the ids whose cached state must be refreshed after the commit.
   */
  const ensureIn = async (trx: Kysely<Schema>, item: EnsureItem, events: AuditEventInput[]): Promise<EnsureOutcome> => {
    const { appId, kind, externalId, birthDate, options } = item;
    const at = ctx.clock();
    if (externalId !== null) {
      const existing = await forUpdate(
        select(trx).where('app_id', '=', appId).where('kind', '=', kind).where('external_id', '=', externalId),
        caps,
      ).executeTakeFirst();
      if (existing !== undefined && existing.status !== 'erased') {
        if (birthDate !== null && existing.birth_date !== birthDate) {
          await trx.updateTable('subjects').set({ birth_date: birthDate, updated_at: at }).where('id', '=', existing.id).execute();
          events.push({
            actor: actorOf(options),
            action: 'subject.update',
            appId,
            subject: existing.id,
            categories: ['basic.birth-date'],
            requestId: options?.requestId ?? null,
            details: { fields: ['birthDate'] },
          });
          await notify(trx, appId, existing.id);
          return { row: { ...existing, birth_date: birthDate, updated_at: at }, touched: [existing.id] };
        }
        return { row: existing, touched: [] };
      }
      // An erased subject keeps no identifier: the same account may register again as a new subject.
      if (existing !== undefined) {
        await trx.updateTable('subjects').set({ external_id: null, updated_at: at }).where('id', '=', existing.id).execute();
      }
    }
    const row: Row<'subjects'> = {
      id: newSubjectId(),
      app_id: appId,
      kind,
      external_id: externalId,
      linked_to: null,
      status: 'active',
      birth_date: birthDate,
      created_at: at,
      updated_at: at,
      frozen_at: null,
      erased_at: null,
      last_active_at: null,
    };
    const inserted = await trx
      .insertInto('subjects')
      .values(row)
      .onConflict((oc) => oc.columns(['app_id', 'kind', 'external_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined && externalId !== null) {
      // Another node created it between our read and our insert (PostgreSQL): use theirs.
      const theirs = await select(trx)
        .where('app_id', '=', appId)
        .where('kind', '=', kind)
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow();
      return { row: theirs, touched: [] };
    }
    events.push({
      actor: actorOf(options),
      action: 'subject.create',
      appId,
      subject: row.id,
      categories: birthDate !== null ? ['basic.birth-date'] : [],
      requestId: options?.requestId ?? null,
      details: { kind, externalId: externalId !== null },
    });
    if (birthDate !== null) await notify(trx, appId, row.id);
    return { row, touched: birthDate !== null ? [row.id] : [] };
  };

  /**
   * Ensures in one transaction, in order (their audit events appended together): `db` is the service's
   * database (a transaction of its own, then the changed subjects reach the projection) or a caller's
   * transaction (joined; the projection follows its commit through the notifications).
   */
  const ensureAll = async (items: readonly EnsureItem[], db: Kysely<Schema> = ctx.db): Promise<Row<'subjects'>[]> => {
    await sync;
    const outcomes = await auditedBatch(ctx, items, ensureIn, { db });
    if (!db.isTransaction)
      await refreshAfterCommit(
        ctx,
        outcomes.flatMap((o) => o.touched),
      );
    return outcomes.map((o) => o.row);
  };

  /**
   * Group commit of sign-ups: the ensures of one moment share one transaction (their audit events
   * appended together), so that concurrent creations do not each hold the audit chain's head through
   * a commit of their own (on PostgreSQL every creation waited for the one before it to commit). In
   * order within a batch: the same externalId twice gives both callers the one subject. If the batch
   * fails, its ensures run again one by one, so that one bad ensure cannot fail the others.
   */
  const creations = groupCommit<EnsureItem, Row<'subjects'>>((items) => ensureAll(items));

  /** Activity reports in one transaction, their audit events appended together. */
  const reportAll = (runs: readonly ActivityRun[], db: Kysely<Schema> = ctx.db): Promise<ActivityResult[]> =>
    auditedBatch(ctx, runs, (trx, run, audits) => run(trx, audits), { db });
  /** Group commit of activity reports (`recordActivity` with the service's database). */
  const activities = groupCommit<ActivityRun, ActivityResult>((runs) => reportAll(runs));

  return {
    async ensure(db, input, options) {
      await requireApp(db, input.appId);
      const kind = checkKind(input.kind);
      const externalId = input.externalId === undefined || input.externalId === null ? null : checkExternalId(input.externalId);
      const birthDate = input.birthDate === undefined || input.birthDate === null ? null : checkBirthDate(input.birthDate, ctx.clock());
      const item: EnsureItem = { appId: input.appId, kind, externalId, birthDate, options };
      // Called with the service's database (an HTTP sign-up): group-committed with the other
      // creations of the moment. Inside a caller's transaction, or on another handle: at once.
      const row = db === ctx.db ? await creations.add(item) : (await ensureAll([item], db))[0];
      if (row === undefined) throw new PipaError('internal', 'subject ensure produced no subject');
      return subjectFromRow(row);
    },

    async get(db, appId, subjectId) {
      const row = await getRow(db, appId, subjectId);
      return row === undefined ? undefined : subjectFromRow(row);
    },

    async require(db, appId, subjectId) {
      await requireApp(db, appId);
      return subjectFromRow(await requireRow(db, appId, subjectId));
    },

    async findByExternalId(db, appId, kind, externalId) {
      checkKind(kind);
      checkExternalId(externalId);
      const row = await select(db)
        .where('app_id', '=', appId)
        .where('kind', '=', kind)
        .where('external_id', '=', externalId)
        .executeTakeFirst();
      return row === undefined ? undefined : subjectFromRow(row);
    },

    async link(db, appId, deviceId, accountId, options) {
      await requireApp(db, appId);
      await write(db, async (trx) => {
        const device = await requireRow(trx, appId, deviceId, true, 'device');
        const account = await requireRow(trx, appId, accountId, true, 'account');
        if (device.kind !== 'device') throw invalid('device', `subject ${deviceId} is not a device`, `主体 ${deviceId} 不是设备`);
        if (account.kind !== 'account') throw invalid('account', `subject ${accountId} is not an account`, `主体 ${accountId} 不是账号`);
        if (device.status === 'erased' || account.status === 'erased') {
          throw new PipaError('conflict', `subject ${device.status === 'erased' ? deviceId : accountId} is erased`, [
            { path: device.status === 'erased' ? 'device' : 'account', message: '主体已删除 / the subject is erased' },
          ]);
        }
        if (device.linked_to === accountId) return [];
        if (device.linked_to !== null) {
          throw new PipaError('conflict', `device ${deviceId} is already linked to another account`, [
            { path: 'device', message: '设备已关联到其他账号 / the device is already linked to another account' },
          ]);
        }
        const at = ctx.clock();
        // The person signed in on the device: that is activity (the device counts for the account from now on).
        const lastActive = device.last_active_at === null ? at : Math.max(Number(device.last_active_at), at);
        await trx
          .updateTable('subjects')
          .set({ linked_to: accountId, updated_at: at, last_active_at: lastActive })
          .where('id', '=', deviceId)
          .execute();
        await ctx.audit.append(trx, {
          actor: actorOf(options),
          action: 'subject.link',
          appId,
          subject: accountId,
          requestId: options?.requestId ?? null,
          details: { device: ctx.pseudonyms.audit(deviceId) },
        });
        await notify(trx, appId, deviceId);
        return [deviceId];
      });
    },

    async setBirthDate(db, appId, subjectId, birthDate, options) {
      await requireApp(db, appId);
      const value = checkBirthDate(birthDate, ctx.clock());
      await write(db, async (trx) => {
        const row = await requireRow(trx, appId, subjectId, true);
        if (row.status === 'erased') {
          throw new PipaError('conflict', `subject ${subjectId} is erased`, [
            { path: 'subject', message: '主体已删除 / the subject is erased' },
          ]);
        }
        if (row.birth_date === value) return [];
        await trx.updateTable('subjects').set({ birth_date: value, updated_at: ctx.clock() }).where('id', '=', subjectId).execute();
        await ctx.audit.append(trx, {
          actor: actorOf(options),
          action: 'subject.update',
          appId,
          subject: subjectId,
          categories: ['basic.birth-date'],
          requestId: options?.requestId ?? null,
          details: { fields: ['birthDate'] },
        });
        await notify(trx, appId, subjectId);
        return [subjectId];
      });
    },

    async setStatus(db, appId, subjectId, status, options) {
      await requireApp(db, appId);
      if (!(SUBJECT_STATUS_NAMES as readonly string[]).includes(status)) {
        throw invalid('status', 'must be active, frozen or erased', '须为 active、frozen 或 erased');
      }
      await write(db, async (trx) => {
        const row = await requireRow(trx, appId, subjectId, true);
        if (row.status === status) return [];
        if (row.status === 'erased') {
          throw new PipaError('conflict', `subject ${subjectId} is erased and cannot become ${status}`, [
            { path: 'status', message: '已删除的主体不能恢复 / an erased subject cannot be restored' },
          ]);
        }
        const at = options?.at ?? ctx.clock();
        await trx
          .updateTable('subjects')
          .set(
            status === 'erased'
              ? { status, erased_at: at, updated_at: at, external_id: null, birth_date: null, last_active_at: null }
              : status === 'frozen'
                ? { status, frozen_at: at, updated_at: at }
                : { status, frozen_at: null, updated_at: at },
          )
          .where('id', '=', subjectId)
          .execute();
        await ctx.audit.append(trx, {
          actor: actorOf(options),
          action: 'subject.status',
          appId,
          subject: subjectId,
          requestId: options?.requestId ?? null,
          details: { from: row.status, to: status },
        });
        await notify(trx, appId, subjectId);
        return [subjectId];
      });
    },

    async recordActivity(db, appId, entries, options) {
      await requireApp(db, appId);
      if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ACTIVITY_BATCH) {
        throw invalid('$.subjects', `must list 1 to ${MAX_ACTIVITY_BATCH} subjects`, `须列出 1 到 ${MAX_ACTIVITY_BATCH} 个主体`);
      }
      const now = ctx.clock();
      interface Problem {
        path: string;
        en: string;
        zh: string;
      }
      const refuse = (code: 'validation_failed' | 'unknown_subject' | 'conflict', problems: Problem[]): never => {
        const first = problems[0];
        const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
        const details: ErrorDetail[] = problems.map((p) => ({ path: p.path, message: `${p.zh} / ${p.en}` }));
        throw new PipaError(code, `${first?.en}${more}`, details);
      };
      const detail = (path: string, en: string, zh: string): Problem => ({ path, en, zh });

      const badTimes: Problem[] = [];
      entries.forEach((e, i) => {
        const at: unknown = e?.at;
        if (at === undefined) return;
        if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
          badTimes.push(
            detail(`$.subjects[${i}].at`, 'at must be a time in ms since the epoch (an integer)', 'at 须为自纪元起的毫秒数（整数）'),
          );
        } else if (at > now + ACTIVITY_CLOCK_SKEW_MS) {
          badTimes.push(detail(`$.subjects[${i}].at`, 'at is in the future', 'at 晚于当前时间'));
        }
      });
      if (badTimes.length > 0) refuse('validation_failed', badTimes);

      const run = async (trx: Kysely<Schema>, audits: AuditEventInput[]): Promise<ActivityResult> => {
        const ids = [...new Set(entries.map((e) => e?.subject).filter((id): id is string => typeof id === 'string' && isSubjectId(id)))];
        const rows = new Map<string, { status: SubjectStatusName; createdAt: number }>();
        for (let i = 0; i < ids.length; i += 500) {
          const found = await trx
            .selectFrom('subjects')
            .select(['id', 'status', 'created_at'])
            .where('app_id', '=', appId)
            .where('id', 'in', ids.slice(i, i + 500))
            .execute();
          for (const r of found) rows.set(r.id, { status: r.status, createdAt: Number(r.created_at) });
        }
        const unknown: Problem[] = [];
        const erased: Problem[] = [];
        const early: Problem[] = [];
        entries.forEach((e, i) => {
          const id: unknown = e?.subject;
          const row = typeof id === 'string' ? rows.get(id) : undefined;
          const path = `$.subjects[${i}].subject`;
          if (row === undefined) unknown.push(detail(path, `unknown subject ${String(id)}`, '未知主体'));
          else if (row.status === 'erased') erased.push(detail(path, `subject ${String(id)} is erased`, '主体已删除'));
          else if (e.at !== undefined && e.at < row.createdAt) {
            early.push(detail(`$.subjects[${i}].at`, 'at is before the subject was created', 'at 早于主体的创建时间'));
          }
        });
        if (unknown.length > 0) refuse('unknown_subject', unknown);
        if (erased.length > 0) refuse('conflict', erased);
        if (early.length > 0) refuse('validation_failed', early);

        // The latest report per subject; a time a little ahead of our clock counts as now.
        const latest = new Map<string, number>();
        for (const e of entries) {
          const at = Math.min(e.at ?? now, now);
          if (at > (latest.get(e.subject) ?? -1)) latest.set(e.subject, at);
        }
        const byTime = new Map<number, string[]>();
        for (const [id, at] of latest) {
          const group = byTime.get(at);
          if (group === undefined) byTime.set(at, [id]);
          else group.push(id);
        }
        const advanced: { id: string; at: number }[] = [];
        for (const [at, group] of byTime) for (const id of await advanceLastActivity(trx, appId, group, at)) advanced.push({ id, at });
        for (const { id, at } of advanced) {
          audits.push({
            actor: actorOf(options),
            action: 'subject.activity',
            appId,
            subject: id,
            requestId: options?.requestId ?? null,
            details: { at },
          });
        }
        return { received: entries.length, advanced: advanced.map((a) => a.id) };
      };
      // No notification: the last activity is not part of the consent projection. Reports to the
      // service's database (the HTTP routes) are group-committed with the others of the moment.
      if (db === ctx.db) return activities.add(run);
      return (await reportAll([run], db))[0] as ActivityResult;
    },
  };
}
