/**
 * The consent projection: the latest consent state of every (app, subject, purpose, recipient | none),
 * folded from the ledger's events, plus what the minors and status rules need (subject status, date of
 * birth), device-to-account links and re-consent marks after material policy changes.
 *
 * Kept in memory so that a decision does no I/O. Layout, per subject: one small entry object and one
 * exactly-sized array `data` holding, for n records, first the n purpose ids (the keys a decision
 * scans: one or two cache lines), then 5 slots per record: recipient ('' = the purpose itself), flags
 * (action, separate, method packed in a small integer), policy version, and the time split in two
 * small integers (a double would be a separate heap box). Strings are interned, so a million records
 * share a few hundred strings. `npm run bench -- decisions` reports the bytes per subject.
 * Design: docs/decisions.md.
 */
import { PipaError } from '../errors.js';
import { birthYmd, formatYmd } from './age.js';
import {
  CONSENT_ACTIONS,
  CONSENT_METHODS,
  type ConsentAction,
  type ConsentEvent,
  type ConsentMethod,
  type ConsentState,
  SUBJECT_STATUSES,
  type SubjectInfo,
  type SubjectStatus,
} from './types.js';

export interface SubjectEntry {
  /** The canonical subject: the account once a device is linked to it. */
  readonly id: string;
  status: SubjectStatus;
  /** `yyyymmdd`, 0 = unknown. */
  birth: number;
  /** Number of records. */
  n: number;
  /** `[purpose × n, (recipient, flags, policyVersion, atHigh, atLow) × n]`, see the accessors below. */
  data: (string | number)[];
  /** Device ids that resolve to this entry. */
  aliases: string[] | undefined;
}

/** Grants of an affected purpose or recipient recorded at or before `at` under another version than `sinceVersion` need re-consent. */
export interface ReconsentMark {
  readonly sinceVersion: string;
  readonly at: number;
}

export interface AppConsentState {
  /** Subject id (account or device) -> entry; a linked device maps to its account's entry. */
  readonly subjects: Map<string, SubjectEntry>;
  readonly purposeMarks: Map<string, ReconsentMark>;
  readonly recipientMarks: Map<string, ReconsentMark>;
  /** Latest `at` of the events applied for this app. */
  highWater: number;
}

export interface ConsentView extends ConsentState {
  purpose: string;
  recipient?: string;
}

export interface SubjectView {
  /** The canonical subject id (the account for a linked device). */
  id: string;
  status: SubjectStatus;
  birthDate?: string;
  /** Devices linked to this subject. */
  devices: string[];
}

export interface ProjectionStats {
  apps: number;
  /** Canonical subjects (a linked device is not counted again). */
  subjects: number;
  records: number;
}

export interface ConsentProjection {
  /**
   * Fold one ledger event in. An event older than the state it would replace is ignored (on equal
   * times the one applied last wins), so replays and late cross-node notifications are harmless.
   */
  apply(event: ConsentEvent): void;
  applyAll(events: Iterable<ConsentEvent>): void;
  /** Set by the vault: status (`frozen` the moment cancellation is requested) and the date of birth for the minors rule. `erased` drops the consent records. */
  setSubject(app: string, subject: string, info: SubjectInfo): void;
  /**
   * A device subject signs in to an account: the device's consent history merges into the account
   * (per purpose and recipient the later state wins; on equal times a withdrawal or refusal wins) and
   * the device id resolves to the account from now on, for decisions and for events. Linking an
   * already-linked device to another account moves only the alias: the history it brought stays with
   * the first account.
   */
  link(app: string, deviceId: string, accountId: string): void;
  /**
   * After a material change: grants for these purposes, and grants covering these recipients, that were
   * recorded at or before `at` under a version other than `sinceVersion`, need re-consent. `at` defaults
   * to the latest event time applied for the app, i.e. every grant recorded so far.
   */
  markReconsent(app: string, purposes: readonly string[], recipients: readonly string[], sinceVersion: string, at?: number): void;
  /** Latest state of one purpose (and recipient), or undefined. */
  state(app: string, subject: string, purpose: string, recipient?: string): ConsentState | undefined;
  /** Every state of a subject (privacy center: what have I agreed to). */
  consents(app: string, subject: string): ConsentView[];
  subject(app: string, subject: string): SubjectView | undefined;
  stats(): ProjectionStats;
  /** The read side used by `decide`: no copies. */
  appState(app: string): AppConsentState | undefined;
}

// ---- record layout -------------------------------------------------------------------------------

const STRIDE = 5;
const AT_SPLIT = 1_073_741_824; // 2^30: both halves of a ms time stay small integers

export const ACTION_GRANT = 0;
export const ACTION_WITHDRAW = 1;
export const ACTION_DENY = 2;
const ACTION_MASK = 3;
export const FLAG_SEPARATE = 4;
const METHOD_SHIFT = 3;
export const METHOD_USER = 0;
export const METHOD_GUARDIAN = 1;
export const METHOD_API = 2;

const ACTION_CODE: Record<ConsentAction, number> = { grant: ACTION_GRANT, withdraw: ACTION_WITHDRAW, deny: ACTION_DENY };
const ACTION_OF: readonly ConsentAction[] = ['grant', 'withdraw', 'deny'];
const METHOD_CODE: Record<ConsentMethod, number> = { user: METHOD_USER, guardian: METHOD_GUARDIAN, api: METHOD_API };
const METHOD_OF: readonly ConsentMethod[] = ['user', 'guardian', 'api'];

function packFlags(action: ConsentAction, separate: boolean, method: ConsentMethod): number {
  return ACTION_CODE[action] | (separate ? FLAG_SEPARATE : 0) | (METHOD_CODE[method] << METHOD_SHIFT);
}

/** Index of the record for (purpose, recipient | ''), or -1. */
export function recordIndex(e: SubjectEntry, purpose: string, recipient: string): number {
  const { n, data } = e;
  for (let i = 0; i < n; i++) if (data[i] === purpose && data[n + i * STRIDE] === recipient) return i;
  return -1;
}

export function recordPurpose(e: SubjectEntry, i: number): string {
  return e.data[i] as string;
}

/** '' = consent to the purpose itself. */
export function recordRecipient(e: SubjectEntry, i: number): string {
  return e.data[e.n + i * STRIDE] as string;
}

export function recordFlags(e: SubjectEntry, i: number): number {
  return e.data[e.n + i * STRIDE + 1] as number;
}

export function flagAction(flags: number): number {
  return flags & ACTION_MASK;
}

export function flagMethod(flags: number): number {
  return flags >> METHOD_SHIFT;
}

export function recordVersion(e: SubjectEntry, i: number): string {
  return e.data[e.n + i * STRIDE + 2] as string;
}

export function recordAt(e: SubjectEntry, i: number): number {
  const k = e.n + i * STRIDE + 3;
  return (e.data[k] as number) * AT_SPLIT + (e.data[k + 1] as number);
}

function recordState(e: SubjectEntry, i: number): ConsentState {
  const flags = recordFlags(e, i);
  return {
    action: ACTION_OF[flagAction(flags)] ?? 'deny',
    separate: (flags & FLAG_SEPARATE) !== 0,
    method: METHOD_OF[flagMethod(flags)] ?? 'api',
    policyVersion: recordVersion(e, i),
    at: recordAt(e, i),
  };
}

function writeRecord(e: SubjectEntry, i: number, flags: number, version: string, at: number): void {
  const k = e.n + i * STRIDE + 1;
  const hi = Math.floor(at / AT_SPLIT);
  e.data[k] = flags;
  e.data[k + 1] = version;
  e.data[k + 2] = hi;
  e.data[k + 3] = at - hi * AT_SPLIT;
}

/** Append a record; the array is rebuilt at its exact size (a record is added rarely, read often). */
function addRecord(e: SubjectEntry, purpose: string, recipient: string, flags: number, version: string, at: number): void {
  const { n, data } = e;
  const hi = Math.floor(at / AT_SPLIT);
  e.data = data.slice(0, n).concat([purpose], data.slice(n), [recipient, flags, version, hi, at - hi * AT_SPLIT]);
  e.n = n + 1;
}

/**
 * Append a record in place, for a bulk load (`applyAll`): the array grows with spare room (amortised
 * by the engine) instead of being rebuilt per record; the caller copies it out at its exact size once
 * the load is done (`compact`).
 */
function addRecordInPlace(e: SubjectEntry, purpose: string, recipient: string, flags: number, version: string, at: number): void {
  const hi = Math.floor(at / AT_SPLIT);
  e.data.splice(e.n, 0, purpose);
  e.data.push(recipient, flags, version, hi, at - hi * AT_SPLIT);
  e.n += 1;
}

/** The entry's array copied at its exact size (after in-place appends). */
function compact(e: SubjectEntry): void {
  e.data = e.data.slice();
}

function isBlocking(flags: number): boolean {
  return flagAction(flags) !== ACTION_GRANT;
}

// ---- the projection ------------------------------------------------------------------------------

const ACTIONS: ReadonlySet<string> = new Set(CONSENT_ACTIONS);
const METHODS: ReadonlySet<string> = new Set(CONSENT_METHODS);
const STATUSES: ReadonlySet<string> = new Set(SUBJECT_STATUSES);

function invalid(field: string, message: string): PipaError {
  return new PipaError('validation_failed', `${field}: ${message}`, [{ path: field, message }]);
}

function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(field, 'must be a non-empty string');
  return value;
}

function requireTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(field, 'must be a time in ms since the epoch');
  return value;
}

function addAliases(e: SubjectEntry, ids: readonly string[]): void {
  e.aliases = e.aliases ? [...e.aliases, ...ids] : [...ids];
}

export function createConsentProjection(): ConsentProjection {
  const apps = new Map<string, AppConsentState>();
  const strings = new Map<string, string>();

  const intern = (s: string): string => {
    const hit = strings.get(s);
    if (hit !== undefined) return hit;
    strings.set(s, s);
    return s;
  };

  const appFor = (app: string): AppConsentState => {
    let a = apps.get(app);
    if (!a) {
      a = { subjects: new Map(), purposeMarks: new Map(), recipientMarks: new Map(), highWater: 0 };
      apps.set(app, a);
    }
    return a;
  };

  const entryFor = (a: AppConsentState, subject: string): SubjectEntry => {
    let e = a.subjects.get(subject);
    if (!e) {
      e = { id: subject, status: 'active', birth: 0, n: 0, data: [], aliases: undefined };
      a.subjects.set(subject, e);
    }
    return e;
  };

  // During applyAll: entries whose arrays grew in place, to be compacted when the load ends.
  let grown: Set<SubjectEntry> | null = null;

  const apply = (ev: ConsentEvent): void => {
    const id = requireId(ev.id, 'event.id');
    if (!id.startsWith('cev_')) throw invalid('event.id', 'must start with "cev_"');
    const appId = requireId(ev.appId, 'event.appId');
    const subjectId = requireId(ev.subjectId, 'event.subjectId');
    const purpose = requireId(ev.purpose, 'event.purpose');
    if (ev.recipient !== undefined) requireId(ev.recipient, 'event.recipient');
    if (!ACTIONS.has(ev.action)) throw invalid('event.action', `must be one of ${CONSENT_ACTIONS.join(', ')}`);
    if (!METHODS.has(ev.method)) throw invalid('event.method', `must be one of ${CONSENT_METHODS.join(', ')}`);
    requireId(ev.policyVersion, 'event.policyVersion');
    if (typeof ev.separate !== 'boolean') throw invalid('event.separate', 'must be a boolean');
    const at = requireTime(ev.at, 'event.at');

    const a = appFor(appId);
    if (at > a.highWater) a.highWater = at;
    const e = entryFor(a, subjectId);
    // Erased: the records were dropped with the data; nothing is kept for a subject that is gone.
    if (e.status === 'erased') return;
    const recipient = ev.recipient ?? '';
    const flags = packFlags(ev.action, ev.separate, ev.method);
    const i = recordIndex(e, purpose, recipient);
    if (i >= 0) {
      if (at >= recordAt(e, i)) writeRecord(e, i, flags, intern(ev.policyVersion), at);
      return;
    }
    const add = grown === null ? addRecord : addRecordInPlace;
    add(e, intern(purpose), intern(recipient), flags, intern(ev.policyVersion), at);
    grown?.add(e);
  };

  return {
    apply,
    applyAll(events) {
      // A rebuild adds about ten records per subject: appended in place, each touched array is copied
      // out at its exact size once at the end (also when an invalid event stops the load).
      if (grown !== null) {
        for (const ev of events) apply(ev);
        return;
      }
      grown = new Set();
      try {
        for (const ev of events) apply(ev);
      } finally {
        for (const e of grown) compact(e);
        grown = null;
      }
    },

    setSubject(app, subject, info) {
      requireId(app, 'app');
      requireId(subject, 'subject');
      if (!STATUSES.has(info.status)) throw invalid('status', `must be one of ${SUBJECT_STATUSES.join(', ')}`);
      const birth = info.birthDate === null || info.birthDate === undefined ? undefined : birthYmd(info.birthDate);
      const e = entryFor(appFor(app), subject);
      if (e.status === 'erased' && info.status !== 'erased') {
        throw new PipaError('conflict', `subject ${subject} is erased and cannot become ${info.status}`);
      }
      e.status = info.status;
      if (info.birthDate === null) e.birth = 0;
      else if (birth !== undefined) e.birth = birth;
      if (info.status === 'erased') {
        e.data = [];
        e.n = 0;
        e.birth = 0;
      }
    },

    link(app, deviceId, accountId) {
      requireId(app, 'app');
      requireId(deviceId, 'deviceId');
      requireId(accountId, 'accountId');
      if (deviceId === accountId) throw invalid('accountId', 'a subject cannot be linked to itself');
      const a = appFor(app);
      const acc = entryFor(a, accountId);
      const dev = a.subjects.get(deviceId);
      if (dev === acc) return;
      if (dev === undefined) {
        a.subjects.set(deviceId, acc);
        addAliases(acc, [deviceId]);
        return;
      }
      if (dev.id !== deviceId) {
        // Already linked to another account: move the alias only.
        if (dev.aliases) dev.aliases = dev.aliases.filter((d) => d !== deviceId);
        a.subjects.set(deviceId, acc);
        addAliases(acc, [deviceId]);
        return;
      }
      // An unlinked device: its history moves to the account; the later state wins per key.
      if (acc.status !== 'erased') {
        for (let i = 0; i < dev.n; i++) {
          const purpose = recordPurpose(dev, i);
          const recipient = recordRecipient(dev, i);
          const flags = recordFlags(dev, i);
          const at = recordAt(dev, i);
          const j = recordIndex(acc, purpose, recipient);
          if (j < 0) addRecord(acc, purpose, recipient, flags, recordVersion(dev, i), at);
          else {
            const mine = recordAt(acc, j);
            if (at > mine || (at === mine && isBlocking(flags) && !isBlocking(recordFlags(acc, j)))) {
              writeRecord(acc, j, flags, recordVersion(dev, i), at);
            }
          }
        }
        if (acc.birth === 0) acc.birth = dev.birth;
      }
      const moved = [deviceId, ...(dev.aliases ?? [])];
      for (const d of moved) a.subjects.set(d, acc);
      addAliases(acc, moved);
      dev.data = [];
      dev.n = 0;
      dev.aliases = undefined;
    },

    markReconsent(app, purposes, recipients, sinceVersion, at) {
      requireId(app, 'app');
      requireId(sinceVersion, 'sinceVersion');
      if (at !== undefined) requireTime(at, 'at');
      const a = appFor(app);
      const mark: ReconsentMark = { sinceVersion: intern(sinceVersion), at: at ?? a.highWater };
      const put = (marks: Map<string, ReconsentMark>, id: string, field: string) => {
        requireId(id, field);
        const old = marks.get(id);
        if (!old || old.at <= mark.at) marks.set(intern(id), mark);
      };
      purposes.forEach((p, i) => {
        put(a.purposeMarks, p, `purposes[${i}]`);
      });
      recipients.forEach((r, i) => {
        put(a.recipientMarks, r, `recipients[${i}]`);
      });
    },

    state(app, subject, purpose, recipient) {
      const e = apps.get(app)?.subjects.get(subject);
      const i = e ? recordIndex(e, purpose, recipient ?? '') : -1;
      return e && i >= 0 ? recordState(e, i) : undefined;
    },

    consents(app, subject) {
      const e = apps.get(app)?.subjects.get(subject);
      if (!e) return [];
      const out: ConsentView[] = [];
      for (let i = 0; i < e.n; i++) {
        const recipient = recordRecipient(e, i);
        out.push({ purpose: recordPurpose(e, i), ...(recipient ? { recipient } : {}), ...recordState(e, i) });
      }
      return out;
    },

    subject(app, subject) {
      const e = apps.get(app)?.subjects.get(subject);
      if (!e) return undefined;
      return { id: e.id, status: e.status, ...(e.birth ? { birthDate: formatYmd(e.birth) } : {}), devices: [...(e.aliases ?? [])] };
    },

    stats() {
      let subjects = 0;
      let records = 0;
      for (const a of apps.values()) {
        for (const [id, e] of a.subjects) {
          if (e.id !== id) continue;
          subjects++;
          records += e.n;
        }
      }
      return { apps: apps.size, subjects, records };
    },

    appState: (app) => apps.get(app),
  };
}
