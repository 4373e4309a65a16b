/**
 * The consent ledger: grants, withdrawals and refusals, per purpose and optionally per recipient, in
 * the hash-chained `consent_events` table (ledger-chain.ts). Design: docs/decisions.md §4 and "The
 * ledger".
 *
 * `record` checks, in this order, and writes nothing when a check fails:
 * 1. the input's shape (action, method, 1–100 distinct (purpose, recipient) items, guardian fields,
 *    evidence hashes) → `validation_failed` naming the JSON path;
 * 2. each purpose is declared in the app's current declaration → `unknown_purpose`; each recipient is
 *    declared, and declared for that purpose → `unknown_recipient` (details name the input path and
 *    the declaration clause);
 * 3. the policy version is a published version of the app, and for a grant the current one (the person
 *    must have seen the policy in force) → `validation_failed` / `precondition_failed`;
 * 4. the subject exists in the app (`unknown_subject`), is not erased, and for a grant is not frozen
 *    (`conflict`); withdrawals and refusals of a frozen subject are kept (they only restrict);
 * 5. a grant for a minor (under 14, or under the declaration's threshold unless it says
 *    `guardianConsent: false`, or of unknown age in an app directed at children) must be given by a
 *    guardian (`method: guardian`, with the guardian's name, relation and an evidence hash). The age
 *    comes from the stored date of birth, or from an identity card number the caller passes: that
 *    number only yields the date of birth (stored on the subject, audited as a subject update); the
 *    number itself is never stored, logged or echoed.
 *
 * Then, in one transaction: the events are appended to the chain, one audit event per consent event
 * (`consent.grant|withdraw|deny`, ids and purpose only), the subject's last activity moves to the
 * event's time when the person or their guardian acted (method `user`, `guardian`; see
 * subjects/activity.ts), and `CHANNELS.consent` is notified with the last seq. After the commit the
 * events are applied to `ctx.consent`, so a decision made after `record` returns sees them; other
 * nodes apply them through the notification (ledger-sync.ts).
 */
import type { Kysely } from 'kysely';
import { auditedBatch } from '../audit/audited-batch.js';
import type { AuditEventInput } from '../audit/types.js';
import { base32 } from '../crypto/encoding.js';
import { systemRandom } from '../crypto/random.js';
import { PipaError, shownId } from '../errors.js';
import { type AppPolicy, CHANNELS, type ServiceContext } from '../service/context.js';
import { forUpdate } from '../store/capabilities.js';
import { groupCommit } from '../store/group-commit.js';
import type { Row, Schema } from '../store/schema.js';
import { advanceLastActivity } from '../subjects/activity.js';
import { createSubjectService, type SubjectService } from '../subjects/service.js';
import { refreshAfterCommit } from '../subjects/sync.js';
import { chinaYmd, isUnder, parseYmd } from './age.js';
import type { CompiledPolicy } from './compile.js';
import { ageFromIdNumber, birthDateFromIdNumber } from './id-number.js';
import { appendConsentRows, type ConsentRow, type ConsentVerifyResult, verifyConsentChain } from './ledger-chain.js';
import { CONSENT_ACTIONS, CONSENT_METHODS, type ConsentAction, type ConsentEvent, type ConsentMethod, type GuardianInfo } from './types.js';

export interface ConsentItem {
  purpose: string;
  /** Absent: the purpose itself; present: providing the purpose's data to this recipient. */
  recipient?: string | undefined;
}

export interface RecordConsentInput {
  /** `sub_…` (an account, or a device before it is linked). */
  subject: string;
  action: ConsentAction;
  /** 1–100 distinct items. */
  consents: readonly ConsentItem[];
  /** Given separately (单独同意). Default false. */
  separate?: boolean | undefined;
  method: ConsentMethod;
  guardian?: GuardianInfo | undefined;
  /** The declaration version the person saw: a published version; for a grant, the current one. */
  policyVersion: string;
  /** Hash of the evidence (the dialog shown, a signed form). */
  evidenceHash?: string | undefined;
  /** A resident identity card number, only to learn the date of birth for the minors rule; never stored. */
  idNumber?: string | undefined;
}

export interface WithdrawInput {
  subject: string;
  /** Withdraw these purposes (and every recipient grant under them). */
  purposes?: readonly string[] | undefined;
  /** Withdraw provision to these recipients (for every purpose they are declared for, or only `purposes`). */
  recipients?: readonly string[] | undefined;
  /** Default `api`. */
  method?: ConsentMethod | undefined;
  /** Default: the current version. */
  policyVersion?: string | undefined;
  evidenceHash?: string | undefined;
}

export interface ConsentWriteOptions {
  /** Audit actor: `key_…`, `subject`, `system` (default). */
  actor?: string;
  requestId?: string | null;
}

/** A ledger event with its place in the chain. */
export interface LedgerEvent extends ConsentEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface ConsentHistoryPage {
  /** Newest first. */
  events: LedgerEvent[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  nextBefore: number | null;
}

export interface CurrentConsent {
  purpose: string;
  recipient?: string;
  action: ConsentAction;
  separate: boolean;
  method: ConsentMethod;
  policyVersion: string;
  at: number;
  /** The event that set this state. */
  eventId: string;
}

export interface ConsentStateView {
  /** The subject asked about. */
  subject: string;
  /** The account a device is linked to, else the subject itself: whose history this is. */
  canonical: string;
  status: 'active' | 'frozen' | 'erased';
  /** Devices linked to the canonical subject. */
  devices: string[];
  /** The latest state per (purpose, recipient | none). */
  consents: CurrentConsent[];
}

export interface ConsentLedger {
  record(appId: string, input: RecordConsentInput, options?: ConsentWriteOptions): Promise<LedgerEvent[]>;
  /** One call: everything granted, or the given purposes / recipients. Returns the withdrawal events (none when nothing was granted). */
  withdraw(appId: string, input: WithdrawInput, options?: ConsentWriteOptions): Promise<LedgerEvent[]>;
  /** The subject's current consent state, from the ledger (its linked devices' history included). */
  state(appId: string, subjectId: string): Promise<ConsentStateView>;
  /** The subject's ledger events (its linked devices' included), newest first, paged by seq. */
  history(appId: string, subjectId: string, page?: { before?: number; limit?: number }): Promise<ConsentHistoryPage>;
  /** Recompute the consent chain. */
  verify(): Promise<ConsentVerifyResult>;
}

export const MAX_CONSENT_ITEMS = 100;
const MAX_TEXT = 200;
/** `[algorithm:]hex`, 64–128 hex digits (SHA-256, SM3, SHA-512 …). */
const EVIDENCE_HASH = /^(?:[a-z0-9-]{2,16}:)?[0-9a-f]{64,128}$/;

/** `cev_` + 26 base32 characters (128 random bits). */
export function newConsentEventId(): string {
  return `cev_${base32(systemRandom(16))}`;
}

function invalid(path: string, en: string, zh: string): PipaError {
  return new PipaError('validation_failed', `${path}: ${en}`, [{ path, message: `${zh} / ${en}` }]);
}

function checkText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > MAX_TEXT) {
    throw invalid(path, `must be a non-empty string of at most ${MAX_TEXT} characters`, `须为不超过 ${MAX_TEXT} 个字符的非空字符串`);
  }
  return value;
}

function checkEvidenceHash(value: unknown, path: string): string {
  if (typeof value !== 'string' || !EVIDENCE_HASH.test(value)) {
    throw invalid(
      path,
      'must be a lower-case hex digest (64–128 digits), optionally prefixed by the algorithm (sha256:…)',
      '须为小写十六进制摘要（64–128 位），可带算法前缀（sha256:…）',
    );
  }
  return value;
}

function unknownPurpose(policy: AppPolicy, purpose: string, path: string): PipaError {
  return new PipaError('unknown_purpose', `${path}: purpose ${shownId(purpose)} is not declared by ${policy.appId}@${policy.version}`, [
    { path, clause: '$.purposes', message: `隐私政策未声明该处理目的 / purpose ${shownId(purpose)} is not declared` },
  ]);
}

function unknownRecipient(policy: AppPolicy, recipient: string, path: string, purpose?: string): PipaError {
  const r = policy.compiled.recipientById.get(recipient);
  if (r === undefined || purpose === undefined) {
    return new PipaError(
      'unknown_recipient',
      `${path}: recipient ${shownId(recipient)} is not declared by ${policy.appId}@${policy.version}`,
      [{ path, clause: '$.recipients', message: `隐私政策未声明该接收方 / recipient ${shownId(recipient)} is not declared` }],
    );
  }
  return new PipaError('unknown_recipient', `${path}: recipient ${recipient} is not declared for purpose ${purpose}`, [
    {
      path,
      clause: `${r.path}.purposes`,
      message: `该接收方未声明用于此目的 / recipient ${recipient} is not declared for purpose ${purpose}`,
    },
  ]);
}

/** The recipient, declared and declared for the purpose. */
function checkItem(policy: AppPolicy, item: ConsentItem, path: string): void {
  const c = policy.compiled;
  const p = c.purposeById.get(item.purpose);
  if (p === undefined) throw unknownPurpose(policy, item.purpose, `${path}.purpose`);
  if (item.recipient === undefined) return;
  const r = c.recipientById.get(item.recipient);
  if (r === undefined) throw unknownRecipient(policy, item.recipient, `${path}.recipient`);
  if (p.sites[r.index] === undefined) throw unknownRecipient(policy, item.recipient, `${path}.recipient`, item.purpose);
}

const GUARDIAN_NONE = 0;
const GUARDIAN_THRESHOLD = 1;
const GUARDIAN_UNDER_14 = 2;

/** The minors rule, as the decision engine applies it (decide.ts): who needs a guardian's grant. */
export function guardianNeed(compiled: CompiledPolicy, birthDate: string | null, now: number): number {
  const birth = birthDate === null ? 0 : parseYmd(birthDate);
  const today = chinaYmd(now);
  if (birth > 0) {
    if (isUnder(birth, 14, today)) return GUARDIAN_UNDER_14;
    const m = compiled.minors;
    if (m.guardianUnderThreshold && m.threshold > 14 && isUnder(birth, m.threshold, today)) return GUARDIAN_THRESHOLD;
    return GUARDIAN_NONE;
  }
  return compiled.minors.directedAtChildren ? GUARDIAN_UNDER_14 : GUARDIAN_NONE;
}

export function rowToLedgerEvent(r: ConsentRow): LedgerEvent {
  const ev: LedgerEvent = {
    id: r.id,
    appId: r.app_id,
    subjectId: r.subject_id,
    purpose: r.purpose,
    action: r.action,
    separate: r.separate === 1,
    method: r.method,
    policyVersion: r.policy_version,
    at: Number(r.at),
    seq: Number(r.seq),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
  if (r.recipient !== null) ev.recipient = r.recipient;
  if (r.guardian !== null) ev.guardian = JSON.parse(r.guardian) as GuardianInfo;
  if (r.evidence_hash !== null) ev.evidenceHash = r.evidence_hash;
  return ev;
}

/** The projection's view of a ledger event (what `ConsentProjection.apply` takes). */
export function ledgerEventToConsentEvent(e: LedgerEvent): ConsentEvent {
  const { seq: _seq, prevHash: _prev, hash: _hash, ...event } = e;
  return event;
}

interface Common {
  action: ConsentAction;
  separate: boolean;
  method: ConsentMethod;
  guardian: GuardianInfo | undefined;
  policyVersion: string;
  evidenceHash: string | undefined;
  idNumber: string | undefined;
}

/** One request to append consent events (record or withdraw), its input checked. */
interface AppendJob {
  appId: string;
  policy: AppPolicy;
  subjectId: string;
  items: readonly ConsentItem[] | ((trx: Kysely<Schema>, ids: readonly string[]) => Promise<ConsentItem[]>);
  common: Common;
  options: ConsentWriteOptions | undefined;
  /** The date of birth the request's ID number yields. */
  idBirthDate: string | null;
}

interface AppendDone {
  rows: ConsentRow[];
  /** The subject whose date of birth the request changed. */
  birthChanged: string | null;
}

/** The consent area's service (the contract's `create<Area>Service` name for `createConsentLedger`). */
export type ConsentService = ConsentLedger;
export function createConsentService(ctx: ServiceContext, deps: { subjects?: SubjectService } = {}): ConsentService {
  return createConsentLedger(ctx, deps);
}

export function createConsentLedger(ctx: ServiceContext, deps: { subjects?: SubjectService } = {}): ConsentLedger {
  const subjects = deps.subjects ?? createSubjectService(ctx);
  const caps = ctx.database.caps;

  const checkSubjectId = (value: unknown): string => {
    if (typeof value !== 'string' || value.length === 0 || value.length > 64)
      throw invalid('$.subject', 'must be a subject id (sub_…)', '须为主体标识（sub_…）');
    return value;
  };

  const checkPolicyVersion = async (policy: AppPolicy, version: unknown, grant: boolean): Promise<string> => {
    const v = checkText(version, '$.policyVersion');
    if (v === policy.version) return v;
    const row = await ctx.db
      .selectFrom('policy_versions')
      .select('version')
      .where('app_id', '=', policy.appId)
      .where('version', '=', v)
      .executeTakeFirst();
    if (row === undefined) {
      throw invalid('$.policyVersion', `version ${v} of ${policy.appId} was never published`, `该版本的隐私政策从未发布`);
    }
    if (grant) {
      throw new PipaError(
        'precondition_failed',
        `$.policyVersion: a grant must be under the current policy version ${policy.version}, not ${v}: show the person the current policy`,
        [
          {
            path: '$.policyVersion',
            current: policy.version,
            message: '同意须基于现行版本的隐私政策 / a grant must be under the current policy version',
          },
        ],
      );
    }
    return v;
  };

  /** The subject row (locked) and the row whose status and birth date apply: its account when it is a linked device. */
  const lockSubject = async (
    trx: Kysely<Schema>,
    appId: string,
    subjectId: string,
  ): Promise<{ own: Row<'subjects'>; canonical: Row<'subjects'> }> => {
    const own = await forUpdate(
      trx.selectFrom('subjects').selectAll().where('id', '=', subjectId).where('app_id', '=', appId),
      caps,
    ).executeTakeFirst();
    if (own === undefined) {
      throw new PipaError('unknown_subject', `unknown subject ${subjectId}`, [
        { path: '$.subject', message: `未知主体 / unknown subject ${subjectId}` },
      ]);
    }
    if (own.linked_to === null) return { own, canonical: own };
    const canonical = await forUpdate(trx.selectFrom('subjects').selectAll().where('id', '=', own.linked_to), caps).executeTakeFirst();
    return { own, canonical: canonical ?? own };
  };

  const checkStatus = (canonical: Row<'subjects'>, subjectId: string, action: ConsentAction): void => {
    if (canonical.status === 'erased' || (canonical.status === 'frozen' && action === 'grant')) {
      throw new PipaError(
        'conflict',
        `subject ${subjectId} is ${canonical.status}: no consent can be ${action === 'grant' ? 'granted' : 'recorded'}`,
        [
          {
            path: '$.subject',
            status: canonical.status,
            message:
              canonical.status === 'erased'
                ? '主体已删除 / the subject is erased'
                : '主体已申请注销，处理已停止 / cancellation was requested: processing has stopped',
          },
        ],
      );
    }
  };

  /**
   * One request's events inside the batch's transaction `trx`: the subject locked and checked, the date
   * of birth from an ID number stored, the guardian rule, the consent rows appended to the ledger (at
   * once, so that a later request of the same batch, a withdrawal say, sees them); its audit events go
   * to `audits`, appended by the batch.
   */
  const appendIn = async (trx: Kysely<Schema>, job: AppendJob, audits: AuditEventInput[]): Promise<AppendDone> => {
    const { appId, policy, subjectId, items, common, options, idBirthDate } = job;
    const actor = options?.actor ?? 'system';
    const requestId = options?.requestId ?? null;
    let birthChanged: string | null = null;
    const { own, canonical } = await lockSubject(trx, appId, subjectId);
    checkStatus(canonical, subjectId, common.action);
    let birthDate = canonical.birth_date;
    if (idBirthDate !== null && idBirthDate !== birthDate) {
      // The batch's events so far first, so that the audit chain keeps the order things happened in.
      if (audits.length > 0) await ctx.audit.appendMany(trx, audits.splice(0));
      await subjects.setBirthDate(trx, appId, canonical.id, idBirthDate, { actor, requestId });
      birthDate = idBirthDate;
      birthChanged = canonical.id;
    }
    if (common.action === 'grant' && guardianNeed(policy.compiled, birthDate, ctx.clock()) !== GUARDIAN_NONE) {
      const g = common.guardian;
      if (common.method !== 'guardian' || g?.name === undefined || g.relation === undefined || g.evidenceHash === undefined) {
        throw new PipaError(
          'validation_failed',
          `$.guardian: the subject is a minor under ${appId}'s policy: a grant must come from a guardian (method guardian, with the guardian's name, relation and evidence hash)`,
          [
            {
              path: common.method !== 'guardian' ? '$.method' : '$.guardian',
              clause: '$.minors',
              message:
                '未成年人的同意须由监护人作出（method 为 guardian，并提供监护人姓名、关系和证明材料摘要）/ a minor: the grant must come from a guardian',
            },
          ],
        );
      }
    }
    const ids = canonical.id === subjectId ? [subjectId] : [subjectId, canonical.id];
    const list = typeof items === 'function' ? await items(trx, ids) : items;
    if (list.length === 0) return { rows: [], birthChanged };
    const at = ctx.clock();
    const guardian = common.guardian === undefined ? null : JSON.stringify(common.guardian);
    const rows = await appendConsentRows(
      trx,
      caps,
      list.map((item) => ({
        id: newConsentEventId(),
        app_id: appId,
        subject_id: subjectId,
        purpose: item.purpose,
        recipient: item.recipient ?? null,
        action: common.action,
        separate: common.separate ? 1 : 0,
        method: common.method,
        guardian,
        policy_version: common.policyVersion,
        evidence_hash: common.evidenceHash ?? null,
        at,
      })),
      at,
    );
    for (const r of rows) {
      audits.push({
        actor,
        action: `consent.${r.action}`,
        appId,
        subject: subjectId,
        purpose: r.purpose,
        requestId,
        details: {
          event: r.id,
          seq: Number(r.seq),
          recipient: r.recipient,
          separate: r.separate === 1,
          method: r.method,
          policyVersion: r.policy_version,
          guardian: r.guardian !== null,
        },
      });
    }
    // The person (or their guardian) acted: that is activity, for `last-activity` retention rules.
    if (common.method !== 'api' && (own.last_active_at === null || Number(own.last_active_at) < at)) {
      await advanceLastActivity(trx, appId, [subjectId], at);
    }
    return { rows, birthChanged };
  };

  /**
   * Group commit of consent records: the requests of one moment share one transaction, one audit
   * append and one notification, instead of each holding the ledger's and the audit chain's heads
   * through a commit of its own (store/group-commit.ts; a failed batch runs again one request at a
   * time, so a refused request, an erased subject say, fails alone). Returns each request's events
   * once committed and applied to the projection.
   */
  const commits = groupCommit<AppendJob, LedgerEvent[]>(async (jobs) => {
    const done = await auditedBatch(ctx, jobs, appendIn, {
      finish: async (trx, results) => {
        const last = results.flatMap((d) => d.rows).at(-1);
        if (last !== undefined) await ctx.database.notify(CHANNELS.consent, String(last.seq), trx);
      },
    });
    // Birth dates from ID numbers first (one read for the batch), then the events.
    await refreshAfterCommit(
      ctx,
      done.flatMap((d) => (d.birthChanged === null ? [] : [d.birthChanged])),
    );
    return done.map((d) => {
      const events = d.rows.map(rowToLedgerEvent);
      for (const e of events) ctx.consent.apply(ledgerEventToConsentEvent(e));
      return events;
    });
  });

  /** Write the events; returns them once committed and applied to the projection. */
  const append = async (
    appId: string,
    policy: AppPolicy,
    subjectId: string,
    items: AppendJob['items'],
    common: Common,
    options: ConsentWriteOptions | undefined,
  ): Promise<LedgerEvent[]> => {
    // The date of birth an identity card number yields (validated before anything is written).
    let idBirthDate: string | null = null;
    if (common.idNumber !== undefined) {
      ageFromIdNumber(common.idNumber, ctx.clock(), '$.idNumber');
      idBirthDate = birthDateFromIdNumber(common.idNumber, '$.idNumber');
    }
    return commits.add({ appId, policy, subjectId, items, common, options, idBirthDate });
  };

  /** The subject's family: the canonical subject and every device linked to it. */
  const familyOf = async (
    db: Kysely<Schema>,
    appId: string,
    subjectId: string,
  ): Promise<{ own: Row<'subjects'>; canonical: string; devices: string[]; status: Row<'subjects'>['status'] }> => {
    const own = await db.selectFrom('subjects').selectAll().where('id', '=', subjectId).where('app_id', '=', appId).executeTakeFirst();
    if (own === undefined) {
      throw new PipaError('unknown_subject', `unknown subject ${subjectId}`, [
        { path: 'subject', message: `未知主体 / unknown subject ${subjectId}` },
      ]);
    }
    const canonicalId = own.linked_to ?? own.id;
    const canonical =
      canonicalId === own.id ? own : await db.selectFrom('subjects').selectAll().where('id', '=', canonicalId).executeTakeFirst();
    const devices = await db.selectFrom('subjects').select('id').where('linked_to', '=', canonicalId).orderBy('id').execute();
    return { own, canonical: canonicalId, devices: devices.map((d) => d.id), status: (canonical ?? own).status };
  };

  /** Latest state per (purpose, recipient) of these subjects' events (later `at` wins; equal: later seq). */
  const fold = async (db: Kysely<Schema>, ids: readonly string[]): Promise<Map<string, ConsentRow>> => {
    const rows = await db
      .selectFrom('consent_events')
      .selectAll()
      .where('subject_id', 'in', [...ids])
      .orderBy('seq')
      .execute();
    const latest = new Map<string, ConsentRow>();
    for (const r of rows) {
      const key = `${r.purpose}\u0000${r.recipient ?? ''}`;
      const cur = latest.get(key);
      if (cur === undefined || Number(r.at) >= Number(cur.at)) latest.set(key, r);
    }
    return latest;
  };

  const checkCommon = (input: { method?: unknown; evidenceHash?: unknown }, defaultMethod?: ConsentMethod) => {
    const method = input.method === undefined && defaultMethod !== undefined ? defaultMethod : input.method;
    if (!(CONSENT_METHODS as readonly unknown[]).includes(method)) {
      throw invalid('$.method', `must be one of ${CONSENT_METHODS.join(', ')}`, `须为 ${CONSENT_METHODS.join('、')} 之一`);
    }
    const evidenceHash = input.evidenceHash === undefined ? undefined : checkEvidenceHash(input.evidenceHash, '$.evidenceHash');
    return { method: method as ConsentMethod, evidenceHash };
  };

  return {
    async record(appId, input, options) {
      const policy = ctx.policies.require(appId);
      const subjectId = checkSubjectId(input.subject);
      if (!(CONSENT_ACTIONS as readonly unknown[]).includes(input.action)) {
        throw invalid('$.action', `must be one of ${CONSENT_ACTIONS.join(', ')}`, `须为 ${CONSENT_ACTIONS.join('、')} 之一`);
      }
      const { method, evidenceHash } = checkCommon(input);
      if (input.separate !== undefined && typeof input.separate !== 'boolean')
        throw invalid('$.separate', 'must be a boolean', '须为布尔值');
      let guardian: GuardianInfo | undefined;
      if (input.guardian !== undefined) {
        if (method !== 'guardian')
          throw invalid('$.guardian', 'guardian information needs method guardian', '提供监护人信息时 method 须为 guardian');
        guardian = {};
        if (input.guardian.name !== undefined) guardian.name = checkText(input.guardian.name, '$.guardian.name');
        if (input.guardian.relation !== undefined) guardian.relation = checkText(input.guardian.relation, '$.guardian.relation');
        if (input.guardian.evidenceHash !== undefined)
          guardian.evidenceHash = checkEvidenceHash(input.guardian.evidenceHash, '$.guardian.evidenceHash');
      } else if (method === 'guardian') {
        throw invalid(
          '$.guardian',
          'method guardian needs the guardian information (name, relation, evidence hash)',
          'method 为 guardian 时须提供监护人信息（姓名、关系、证明材料摘要）',
        );
      }
      if (!Array.isArray(input.consents) || input.consents.length === 0 || input.consents.length > MAX_CONSENT_ITEMS) {
        throw invalid('$.consents', `must list 1 to ${MAX_CONSENT_ITEMS} purposes`, `须列出 1 至 ${MAX_CONSENT_ITEMS} 个处理目的`);
      }
      const seen = new Set<string>();
      const items: ConsentItem[] = input.consents.map((item, i) => {
        const path = `$.consents[${i}]`;
        const purpose = checkText(item.purpose, `${path}.purpose`);
        const recipient = item.recipient === undefined ? undefined : checkText(item.recipient, `${path}.recipient`);
        const key = `${purpose}\u0000${recipient ?? ''}`;
        if (seen.has(key)) throw invalid(path, 'the same purpose and recipient are listed twice', '同一处理目的与接收方重复出现');
        seen.add(key);
        const out: ConsentItem = { purpose, ...(recipient !== undefined ? { recipient } : {}) };
        checkItem(policy, out, path);
        return out;
      });
      const policyVersion = await checkPolicyVersion(policy, input.policyVersion, input.action === 'grant');
      if (input.idNumber !== undefined && typeof input.idNumber !== 'string') throw invalid('$.idNumber', 'must be a string', '须为字符串');
      return append(
        appId,
        policy,
        subjectId,
        items,
        {
          action: input.action,
          separate: input.separate ?? false,
          method,
          guardian,
          policyVersion,
          evidenceHash,
          idNumber: input.idNumber,
        },
        options,
      );
    },

    async withdraw(appId, input, options) {
      const policy = ctx.policies.require(appId);
      const subjectId = checkSubjectId(input.subject);
      const { method, evidenceHash } = checkCommon(input, 'api');
      const c = policy.compiled;
      if (input.purposes !== undefined && (!Array.isArray(input.purposes) || input.purposes.length === 0)) {
        throw invalid(
          '$.purposes',
          'must list at least one purpose (omit it to withdraw everything)',
          '须至少列出一个处理目的（省略则撤回全部）',
        );
      }
      if (input.recipients !== undefined && (!Array.isArray(input.recipients) || input.recipients.length === 0)) {
        throw invalid(
          '$.recipients',
          'must list at least one recipient (omit it to withdraw everything)',
          '须至少列出一个接收方（省略则撤回全部）',
        );
      }
      const purposes = input.purposes === undefined ? undefined : [...new Set(input.purposes)];
      const recipients = input.recipients === undefined ? undefined : [...new Set(input.recipients)];
      purposes?.forEach((p, i) => {
        if (!c.purposeById.has(p)) throw unknownPurpose(policy, p, `$.purposes[${i}]`);
      });
      recipients?.forEach((r, i) => {
        if (!c.recipientById.has(r)) throw unknownRecipient(policy, r, `$.recipients[${i}]`);
      });
      if (recipients !== undefined && purposes !== undefined) {
        // Each recipient must be declared for at least one of the purposes.
        recipients.forEach((rid, i) => {
          const r = c.recipientById.get(rid);
          if (r !== undefined && !purposes.some((pid) => c.purposeById.get(pid)?.sites[r.index] !== undefined)) {
            throw unknownRecipient(policy, rid, `$.recipients[${i}]`, purposes.join(', '));
          }
        });
      }
      const policyVersion =
        input.policyVersion === undefined ? policy.version : await checkPolicyVersion(policy, input.policyVersion, false);
      const items = async (trx: Kysely<Schema>, ids: readonly string[]): Promise<ConsentItem[]> => {
        const family = await trx
          .selectFrom('subjects')
          .select('id')
          .where('linked_to', 'in', [...ids])
          .execute();
        const latest = await fold(trx, [...new Set([...ids, ...family.map((f) => f.id)])]);
        const out = new Map<string, ConsentItem>();
        const add = (purpose: string, recipient?: string) => {
          out.set(`${purpose}\u0000${recipient ?? ''}`, { purpose, ...(recipient !== undefined ? { recipient } : {}) });
        };
        if (purposes === undefined && recipients === undefined) {
          for (const r of latest.values()) if (r.action === 'grant') add(r.purpose, r.recipient ?? undefined);
        } else if (recipients === undefined) {
          for (const p of purposes ?? []) {
            add(p);
            for (const r of latest.values()) if (r.purpose === p && r.recipient !== null && r.action === 'grant') add(p, r.recipient);
          }
        } else {
          for (const rid of recipients) {
            const r = c.recipientById.get(rid);
            if (r === undefined) continue;
            for (const p of c.purposes) {
              if (p.sites[r.index] === undefined || (purposes !== undefined && !purposes.includes(p.id))) continue;
              add(p.id, rid);
            }
          }
          for (const p of purposes ?? []) add(p);
        }
        return [...out.values()];
      };
      return append(
        appId,
        policy,
        subjectId,
        items,
        { action: 'withdraw', separate: false, method, guardian: undefined, policyVersion, evidenceHash, idNumber: undefined },
        options,
      );
    },

    async state(appId, subjectId) {
      ctx.policies.require(appId);
      const family = await familyOf(ctx.db, appId, subjectId);
      const latest = await fold(ctx.db, [family.canonical, ...family.devices]);
      const consents: CurrentConsent[] = [...latest.values()]
        .sort((a, b) => (a.purpose < b.purpose ? -1 : a.purpose > b.purpose ? 1 : (a.recipient ?? '') < (b.recipient ?? '') ? -1 : 1))
        .map((r) => ({
          purpose: r.purpose,
          ...(r.recipient !== null ? { recipient: r.recipient } : {}),
          action: r.action,
          separate: r.separate === 1,
          method: r.method,
          policyVersion: r.policy_version,
          at: Number(r.at),
          eventId: r.id,
        }));
      return { subject: subjectId, canonical: family.canonical, status: family.status, devices: family.devices, consents };
    },

    async history(appId, subjectId, page = {}) {
      ctx.policies.require(appId);
      const family = await familyOf(ctx.db, appId, subjectId);
      const limit = Math.min(Math.max(1, Math.floor(page.limit ?? 50)), 500);
      let q = ctx.db
        .selectFrom('consent_events')
        .selectAll()
        .where('subject_id', 'in', [family.canonical, ...family.devices])
        .where('app_id', '=', appId);
      if (page.before !== undefined) q = q.where('seq', '<', page.before);
      const rows = await q
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      const more = rows.length > limit;
      const events = (more ? rows.slice(0, limit) : rows).map(rowToLedgerEvent);
      return { events, nextBefore: more ? (events[events.length - 1]?.seq ?? null) : null };
    },

    verify() {
      return verifyConsentChain(ctx.db);
    },
  };
}
