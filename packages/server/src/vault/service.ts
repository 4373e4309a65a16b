/**
 * The vault: a subject's personal information by category, encrypted field by field under the
 * subject's data key, masked by default, plain only for a declared purpose that the decision engine
 * allows, looked up through blind indexes, erased by crypto-shredding. Design: docs/vault.md;
 * cryptography: docs/crypto.md.
 *
 * Every write, plain read, lookup and erasure is an audit event with ids, categories and purposes,
 * never values. Writes and erasures append their event in their own transaction; plain reads and
 * lookups wait for their event to commit before they return anything (fail closed); masked reads
 * are recorded through the audit batcher (group commit) as well.
 */
import { didYouMean } from '@pipa/policy';
import { type Kysely, sql } from 'kysely';
import { decide } from '../consent/decide.js';
import type { Decision } from '../consent/types.js';
import type { DataKey } from '../crypto/data-key.js';
import { isCryptoError } from '../crypto/errors.js';
import type { SuiteName } from '../crypto/suites.js';
import { type ErrorDetail, moreInDetails, PipaError, pathStep, shownId } from '../errors.js';
import { type AppPolicy, CHANNELS, type ServiceContext } from '../service/context.js';
import { forUpdate } from '../store/capabilities.js';
import { type Prepared, param, prepare } from '../store/prepared.js';
import type { Schema, SubjectKind, SubjectStatusValue } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import type { SubjectService } from '../subjects/service.js';
import { type CategoryRule, categoryRule, checkValue, LOOKUP_KINDS, type LookupKind, maskFor } from './categories.js';
import { createKeyStore } from './data-keys.js';
import { convertLegacyFields } from './legacy.js';
import { openRecord, parseManifest, type RecordField, type RecordFields } from './record.js';
import { createVaultWriter, type FieldValue, KeyRaceError, unknownSubject, type VaultWriterOptions } from './writer.js';

/** The part of the subjects service the vault uses (erasure marks the subject erased). */
export type VaultSubjects = Pick<SubjectService, 'setStatus' | 'get'>;

/** Who acts, for authorisation and the audit log. */
export interface VaultActor {
  /** Audit actor: `key_…`, `user:<id>`, `subject`, `system`, `job:<kind>`. */
  id: string;
  /** Scopes held; a plain read needs `vault:read-plain` (or `admin`). */
  scopes?: ReadonlySet<string>;
  requestId?: string | null;
}

/** Values by category id. `null` (merge mode) deletes the category. */
export type FieldValues = Readonly<Record<string, string | null>>;

export interface PutOptions {
  /** `merge` (default): the given categories are set, `null` deletes one, the others stay. `replace`: the given categories become the whole record. */
  mode?: 'merge' | 'replace';
  /**
   * Where `fields` sits in the caller's input, for the paths of errors about one category
   * (default `$.body.fields`, the HTTP routes' body: `$.body.fields["contact.phone"]`).
   */
  path?: string;
}

export interface PutResult {
  appId: string;
  subjectId: string;
  /** Categories stored, sorted. */
  written: string[];
  /** Categories deleted (given as null, or absent from a replace), sorted; for a replace, those that may have existed are not listed. */
  removed: string[];
  mode: 'merge' | 'replace';
  suite: SuiteName;
  keyVersion: number;
  at: number;
  auditSeq: number;
}

export type ReadView = 'masked' | 'plain';

export interface ReadOptions {
  view?: ReadView;
  /** Plain view: the declared purpose the values are needed for. */
  purpose?: string;
  /** Only these categories. Plain view: each must be one the purpose uses. */
  categories?: readonly string[];
}

export interface VaultField {
  value: string;
  /** True when `value` is the masked form. */
  masked: boolean;
  updatedAt: number;
  /** The subject that holds the field: the subject read, or one of its linked devices. */
  from: string;
}

export interface VaultRecord {
  appId: string;
  subjectId: string;
  kind: SubjectKind;
  status: SubjectStatusValue;
  view: ReadView;
  purpose: string | null;
  /** Devices linked to this account whose fields are merged in. */
  devices: string[];
  /** By category, in category order. Read-only: a masked read may answer the fields it keeps for the next read of the same record. */
  fields: Readonly<Record<string, Readonly<VaultField>>>;
}

/** A value read for a rights request. */
export interface RequestField {
  category: string;
  value: string;
  /** When the value was first stored. */
  since: number;
  updatedAt: number;
  /** The subject that holds it: the subject, or one of its linked devices. */
  from: string;
}

export type LookupQuery = Partial<Record<LookupKind, string>>;

export interface LookupMatch {
  subjectId: string;
  kind: SubjectKind;
  /** The account a matching device is linked to. */
  linkedTo: string | null;
  status: SubjectStatusValue;
  category: string;
}

export interface ErasureReceipt {
  appId: string;
  subjectId: string;
  /** The subject and the devices linked to it, each erased. */
  subjects: string[];
  erasedAt: number;
  /** Categories whose values were deleted (names only). */
  categories: string[];
  fieldsDeleted: number;
  /** Data keys deleted (crypto-shredded). */
  keysShredded: number;
  /**
   * Master key versions that wrapped the shredded keys. Backups taken before the erasure hold the
   * wrapped keys until these versions are retired (docs/crypto.md §9): until then the erasure is
   * complete for the live system and pending for backups.
   */
  kekVersions: number[];
  backups: 'complete' | 'pending-kek-retirement';
  /**
   * The live store's own files (docs/crypto.md §9). `overwritten` (SQLite): the deleted bytes are
   * overwritten in the database file (`secure_delete`), and the write-ahead log is emptied within the
   * checkpoint interval. `pending-kek-retirement` (PostgreSQL): dead tuples may hold the wrapped keys
   * until their space is reused; a copy of the files is harmless once `kekVersions` are retired.
   * `complete`: nothing was shredded by this call.
   */
  storage: 'complete' | 'overwritten' | 'pending-kek-retirement';
  alreadyErased: boolean;
  auditSeq: number;
}

export interface VaultServiceDeps {
  subjects: VaultSubjects;
}

export interface VaultServiceOptions {
  /**
   * What a plain read needs besides the scope. `decision` (default): the decision engine allows the
   * purpose for the subject and those categories (declared purpose, consent where the basis needs it,
   * separate and guardian consent). `declaration`: the purpose is declared for those categories.
   */
  plainReadRule?: 'decision' | 'declaration';
  writer?: Omit<VaultWriterOptions, 'onCommitted'>;
  /** Most matches a lookup returns. Default 100. */
  maxLookupMatches?: number;
  /**
   * Subjects whose masked values are kept in memory (LRU), each valid only for the exact ciphertext
   * it was computed from, so a repeated masked read decrypts nothing. 0 disables. Default: the
   * service's setting (`ServiceCaches.maskedSubjects`, 10 000 unless configured).
   */
  maskedCacheSubjects?: number;
  /**
   * How masked reads are audited. `counted` (default): per actor and app, one `vault.read` event per
   * window with the number of reads and the categories shown (no subject; the read does not wait).
   * `each`: one event per read naming the subject, durable before the read returns.
   * Plain reads are always one event each, durable before any value is returned.
   */
  maskedReadAudit?: 'counted' | 'each';
  /** Window of counted masked reads, ms. Default 60 000. */
  maskedReadWindowMs?: number;
}

export interface VaultService {
  put(appId: string, subjectId: string, fields: FieldValues, actor: VaultActor, options?: PutOptions): Promise<PutResult>;
  read(appId: string, subjectId: string, actor: VaultActor, options?: ReadOptions): Promise<VaultRecord>;
  /**
   * Every value of the subject and of the devices linked to it, plain, for the person's own rights
   * request (PIPL 45 access/copy: not a processing purpose, so no purpose check; a frozen subject is
   * still answered). `categories` limits them. Recorded as `rights.read` (durable) before anything is
   * returned.
   */
  readForRequest(
    appId: string,
    subjectId: string,
    actor: VaultActor,
    request: string,
    categories?: readonly string[],
  ): Promise<RequestField[]>;
  lookup(appId: string, query: LookupQuery, actor: VaultActor): Promise<LookupMatch[]>;
  erase(appId: string, subjectId: string, confirmation: { confirm: boolean }, actor: VaultActor): Promise<ErasureReceipt>;
  /** Wait for queued writes and write the counted masked reads. */
  flush(): Promise<void>;
}

export interface VaultCategory {
  readonly id: string;
  readonly rule: CategoryRule;
  readonly sensitive: boolean;
  /** `$.categories[k]` in the declaration. */
  readonly path: string;
}

interface VaultPolicy {
  readonly policy: AppPolicy;
  readonly categories: ReadonlyMap<string, VaultCategory>;
  readonly ids: readonly string[];
}

const policies = new WeakMap<AppPolicy, VaultPolicy>();

/** The categories an app declares, each with the vault's rule for it (value check, mask), by id. */
export function vaultCategories(policy: AppPolicy): Map<string, VaultCategory> {
  const categories = new Map<string, VaultCategory>();
  policy.declaration.categories.forEach((c, k) => {
    const idx = policy.compiled.categoryById.get(c.id);
    const compiled = idx === undefined ? undefined : policy.compiled.categories[idx];
    const sensitive = compiled?.sensitive ?? c.sensitive === true;
    categories.set(c.id, { id: c.id, rule: categoryRule(c.id, sensitive, c.masked), sensitive, path: `$.categories[${k}]` });
  });
  return categories;
}

function vaultPolicy(policy: AppPolicy): VaultPolicy {
  let vp = policies.get(policy);
  if (vp !== undefined) return vp;
  const categories = vaultCategories(policy);
  vp = { policy, categories, ids: [...categories.keys()] };
  policies.set(policy, vp);
  return vp;
}

function unknownCategory(vp: VaultPolicy, id: string, path: string): ErrorDetail {
  const suggestion = didYouMean(id, vp.ids);
  return {
    path,
    message: `app ${vp.policy.appId} declares no category ${shownId(id)}${suggestion !== undefined ? `; did you mean ${suggestion}?` : ''}`,
    messageZh: `应用 ${vp.policy.appId} 未声明类别 ${shownId(id)}${suggestion !== undefined ? `；是否应为 ${suggestion}？` : ''}`,
    ...(suggestion !== undefined ? { suggestion } : {}),
  };
}

/**
 * Why `value` is refused by `cat`'s value rule, as an error detail at `path` (never the value);
 * undefined when acceptable. `path` is made only for a refusal (a write checks every value).
 */
function valueProblem(cat: VaultCategory, value: string, path: () => string, now: number): ErrorDetail | undefined {
  const problem = checkValue(cat.rule.value, value, now);
  return problem === undefined ? undefined : { path: path(), message: `${cat.id} ${problem.en}`, messageZh: `${cat.id} ${problem.zh}` };
}

/**
 * The vault's value check for a caller outside it (a rights correction, checked when submitted):
 * the detail a write of `value` to `category` would be refused with; undefined when the value is
 * acceptable or the app declares no such category (the caller checks that itself).
 */
export function vaultValueProblem(policy: AppPolicy, category: string, value: string, path: string, now: number): ErrorDetail | undefined {
  const cat = vaultPolicy(policy).categories.get(category);
  return cat === undefined ? undefined : valueProblem(cat, value, () => path, now);
}

/** JSON path of a category key: `$.body.fields["contact.phone"]` (a placeholder for a key that does not look like an id). */
function fieldPath(root: string, id: string): string {
  return root + pathStep(id);
}

/** A row of the read statement: the subject or one of its linked devices, with its record and wrapped data key. */
interface ReadRow {
  id: string;
  kind: SubjectKind;
  status: SubjectStatusValue;
  linked_to: string | null;
  envelope: Buffer | null;
  fields: string | null;
  wrapped_dek: Buffer | null;
  suite: string | null;
  /**
   * The holder's data key as `readRows` found it in the cache (null: not cached; absent: not looked
   * up), so that opening the record uses the key the query was chosen for, even if the cache drops it
   * in between.
   */
  dek?: DataKey | null;
}

/**
 * A holder's fields masked, as a read answers them (`from` the holder), frozen and in category order:
 * kept by the masked-value cache, and answered as they are by a read that shows them all.
 */
type MaskedFields = Readonly<Record<string, Readonly<VaultField>>>;

/**
 * The read statements. One statement (one round trip on PostgreSQL): the subject and the devices
 * linked to it, each with its record and, unless the subject's data key is cached already (`cached`),
 * its wrapped data key (primary-key joins), so that a read never needs a second query. Compiled once
 * per vault; exported for the benchmark, which times the statement alone (bench/scenarios/vault.ts).
 */
export function readStatements(db: Kysely<Schema>): { withKey: Prepared<'subject' | 'app'>; cached: Prepared<'subject' | 'app'> } {
  const withKey = (column: 's.id' | 's.linked_to') =>
    db
      .selectFrom('subjects as s')
      .leftJoin('vault_records as r', 'r.subject_id', 's.id')
      .leftJoin('data_keys as k', 'k.subject_id', 's.id')
      .select(['s.id', 's.kind', 's.status', 's.linked_to', 'r.envelope', 'r.fields', 'k.wrapped_dek', 'k.suite'])
      .where(column, '=', param('subject'))
      .where('s.app_id', '=', param('app'));
  const noKey = (column: 's.id' | 's.linked_to') =>
    db
      .selectFrom('subjects as s')
      .leftJoin('vault_records as r', 'r.subject_id', 's.id')
      .select(['s.id', 's.kind', 's.status', 's.linked_to', 'r.envelope', 'r.fields'])
      .select([sql<Buffer | null>`null`.as('wrapped_dek'), sql<string | null>`null`.as('suite')])
      .where(column, '=', param('subject'))
      .where('s.app_id', '=', param('app'));
  return {
    withKey: prepare(withKey('s.id').unionAll(withKey('s.linked_to')).compile(), ['subject', 'app']),
    cached: prepare(noKey('s.id').unionAll(noKey('s.linked_to')).compile(), ['subject', 'app']),
  };
}

export function createVaultService(ctx: ServiceContext, deps: VaultServiceDeps, options: VaultServiceOptions = {}): VaultService {
  const keys = createKeyStore(ctx);
  const writer = createVaultWriter(ctx, { ...options.writer, onCommitted: (key) => keys.committed(key) });
  const plainRule = options.plainReadRule ?? 'decision';
  const maxMatches = options.maxLookupMatches ?? 100;
  const caps = ctx.database.caps;
  const masks = createMaskedCache(options.maskedCacheSubjects ?? ctx.caches.maskedSubjects);
  const readAuditMode = options.maskedReadAudit ?? 'counted';
  // `each`: one event per masked read, group-committed as soon as the event loop turns; the read
  // returns once its event is durable. `counted`: one event per actor, app and window.
  const readAudit = ctx.audit.batcher({ maxDelayMs: 0 });
  const counter = createReadCounter(ctx, options.maskedReadWindowMs ?? 60_000);
  ctx.onClose(async () => {
    await converting?.catch(() => undefined);
    await writer.close();
    await counter.close();
    await readAudit.close();
  });
  /**
   * Keys the notification listener below took out of the cache and has not judged yet (it reads the
   * subject's status first). An erasure here destroys them too: its own notification can arrive
   * between its commit and its `forget`, and the key must be destroyed when the erasure returns.
   */
  const judging = new Map<string, DataKey>();
  const judgingKey = (appId: string, subjectId: string) => `${appId}\t${subjectId}`;
  /** Forget everything held in memory for a subject erased here: its key is destroyed. */
  const forget = (appId: string, subjectId: string) => {
    keys.shred(appId, subjectId);
    const k = judgingKey(appId, subjectId);
    judging.get(k)?.destroy();
    judging.delete(k);
    masks.drop(appId, subjectId);
  };

  // A node changed a subject (erased it, froze it, linked a device; this node's own changes come back
  // too): drop our unwrapped copy of its key and its masked values, so that the next request reads
  // the store again. A request already holding the key (a read that started before a freeze)
  // finishes; only when the change was an erasure is the dropped key destroyed (crypto-shredding in
  // this node's memory too), which fails such requests with key_destroyed as an erasure here does.
  if (caps.listenNotify) {
    const stop = ctx.database.listen(CHANNELS.subject, (e) => {
      if (e.kind !== 'notify') return;
      const [app, subject] = e.payload.split('\t');
      if (app === undefined || subject === undefined || subject === '') return;
      masks.drop(app, subject);
      const dropped = keys.drop(app, subject);
      if (dropped === undefined) return;
      const k = judgingKey(app, subject);
      judging.set(k, dropped);
      void deps.subjects
        .get(ctx.db, app, subject)
        .then(
          (row) => {
            if (row === undefined || row.status === 'erased') dropped.destroy();
          },
          // Unknown: destroy (the key is out of the cache already; a request holding it may fail).
          () => dropped.destroy(),
        )
        .finally(() => {
          if (judging.get(k) === dropped) judging.delete(k);
        });
    });
    ctx.onClose(async () => {
      await (await stop)();
    });
  }

  // The vault's paths are the HTTP routes' (`$.body.fields`, `$.params.app`).
  const requirePolicy = (appId: string): VaultPolicy => vaultPolicy(ctx.policies.require(appId, '$.params.app'));

  // Rows of the first storage layout (one envelope per field) are converted to records before the
  // vault answers anything (legacy.ts); a failed conversion is retried by the next call.
  let converted = false;
  let converting: Promise<void> | null = null;
  const convert = (): Promise<void> => {
    converting ??= convertLegacyFields(ctx).then(
      () => {
        converted = true;
        converting = null;
      },
      (err: unknown) => {
        converting = null;
        throw new PipaError(
          'unavailable',
          `the vault could not convert its rows to the current layout: ${err instanceof Error ? err.message : String(err)}; retry`,
        );
      },
    );
    return converting;
  };
  void convert().catch(() => undefined);
  const ready = async (): Promise<void> => {
    if (!converted) await convert();
  };

  // ---- put --------------------------------------------------------------------------------------

  const prepareFields = (
    vp: VaultPolicy,
    fields: FieldValues,
    mode: 'merge' | 'replace',
    root: string,
  ): { values: [VaultCategory, string][]; removed: string[] } => {
    const problems: ErrorDetail[] = [];
    const unknown: ErrorDetail[] = [];
    const values: [VaultCategory, string][] = [];
    const removed: string[] = [];
    const now = ctx.clock();
    const entries = typeof fields === 'object' && fields !== null ? Object.entries(fields) : [];
    if (entries.length === 0) {
      throw new PipaError('validation_failed', 'no fields given', [{ path: root, message: 'give at least one category and value' }]);
    }
    for (const [id, value] of entries) {
      // The JSON path only for an error: most writes have none.
      const path = () => fieldPath(root, id);
      const cat = vp.categories.get(id);
      if (cat === undefined) {
        unknown.push(unknownCategory(vp, id, path()));
        continue;
      }
      if (value === null) {
        if (mode === 'replace') {
          problems.push({
            path: path(),
            message: 'null deletes a category only in a merge (PATCH); leave the category out of a replace instead',
          });
        } else removed.push(id);
        continue;
      }
      if (typeof value !== 'string') {
        problems.push({ path: path(), message: 'must be a string' });
        continue;
      }
      const problem = valueProblem(cat, value, path, now);
      if (problem !== undefined) problems.push(problem);
      else values.push([cat, value]);
    }
    if (unknown.length > 0) {
      throw new PipaError('unknown_category', `${unknown[0]?.message ?? 'unknown category'}${moreInDetails([...unknown, ...problems])}`, [
        ...unknown,
        ...problems,
      ]);
    }
    if (problems.length > 0) {
      throw new PipaError(
        'validation_failed',
        `${problems[0]?.path ?? '$.body.fields'}: ${problems[0]?.message ?? 'invalid value'}${moreInDetails(problems)}`,
        problems,
      );
    }
    return { values, removed };
  };

  const withIndexes = (appId: string, values: [VaultCategory, string][]): FieldValue[] =>
    values.map(([cat, value]) => ({
      category: cat.id,
      value,
      blindIndex: cat.rule.index === undefined ? null : ctx.blindIndex.index(appId, cat.id, cat.rule.index, value),
    }));

  const put: VaultService['put'] = async (appId, subjectId, fields, actor, putOptions = {}) => {
    if (!converted) await ready();
    const mode = putOptions.mode ?? 'merge';
    const vp = requirePolicy(appId);
    const { values, removed } = prepareFields(vp, fields, mode, putOptions.path ?? '$.body.fields');
    const written = values.map(([c]) => c.id).sort();
    // `categories` and `details.removed` are completed by the writer with what the write removed.
    const audit = {
      actor: actor.id,
      action: 'vault.write',
      appId,
      subject: subjectId,
      categories: written,
      requestId: actor.requestId ?? null,
      details: { mode },
    };
    const indexed = withIndexes(appId, values);
    for (let attempt = 0; ; attempt++) {
      const key = await keys.forWrite(appId, subjectId);
      try {
        const ack = await writer.write({ appId, subjectId, mode, key, values: indexed, removed, audit });
        return {
          appId,
          subjectId,
          written,
          removed: ack.removed,
          mode,
          suite: key.suite,
          keyVersion: key.dek.version,
          at: ack.at,
          auditSeq: ack.auditSeq,
        };
      } catch (err) {
        keys.discard(key);
        if (err instanceof KeyRaceError && attempt === 0) continue;
        // The key was shredded between loading and use (an erasure): load again, and the write is refused as erased.
        if (isCryptoError(err) && err.code === 'key_destroyed' && attempt === 0) continue;
        if (err instanceof KeyRaceError)
          throw new PipaError('conflict', `the data key of subject ${subjectId} changed during the write; retry`);
        throw err;
      }
    }
  };

  // ---- read -------------------------------------------------------------------------------------

  const { withKey: readWithKey, cached: readCached } = readStatements(ctx.db);

  const readRows = async (appId: string, subjectId: string): Promise<ReadRow[]> => {
    // A cached key makes the key join useless (devices' keys, when missing, are unwrapped from theirs).
    const own = ctx.dataKeys.get(appId, subjectId) ?? null;
    const bind = { subject: subjectId, app: appId };
    if (own !== null) {
      const rows = (await ctx.db.executeQuery<ReadRow>(readCached.bind(bind))).rows;
      for (const r of rows) r.dek = r.id === subjectId ? own : r.envelope === null ? null : (ctx.dataKeys.get(appId, r.id) ?? null);
      if (!rows.some((r) => r.envelope !== null && r.dek === null)) return rows;
    }
    const rows = (await ctx.db.executeQuery<ReadRow>(readWithKey.bind(bind))).rows;
    for (const r of rows) if (r.id === subjectId) r.dek = own;
    return rows;
  };

  /** A holder's record opened (its key as `readRows` found it or from the cache, else unwrapped from the row and cached). */
  const openHolder = async (appId: string, row: ReadRow): Promise<RecordFields> => {
    let dek = (row.dek === undefined ? ctx.dataKeys.get(appId, row.id) : row.dek) ?? undefined;
    if (dek === undefined && row.wrapped_dek !== null) dek = await keys.adopt(appId, row.id, row.wrapped_dek, row.suite);
    return openRecord(ctx, dek, appId, row.id, row.envelope as Buffer);
  };

  /** Mask every field of a record once, and keep the result for the next read of the same envelope. */
  const maskRecord = (vp: VaultPolicy, appId: string, holder: string, envelope: Buffer, record: RecordFields): MaskedFields => {
    const all: Record<string, Readonly<VaultField>> = {};
    for (const c of [...record.keys()].sort()) {
      const f = record.get(c) as RecordField;
      const cat = vp.categories.get(c);
      const value = cat === undefined ? '******' : maskFor(cat.rule.mask, f.value);
      all[c] = Object.freeze({ value, masked: true, updatedAt: f.updatedAt, from: holder });
    }
    Object.freeze(all);
    masks.set(appId, holder, envelope, all);
    return all;
  };

  /**
   * The common read: masked, a subject without linked devices. Its masked values come from memory when
   * they were computed from exactly this envelope, else from one decryption; no manifest is parsed.
   */
  const maskedOne = async (vp: VaultPolicy, self: ReadRow, actor: VaultActor, wanted: Set<string> | undefined): Promise<VaultRecord> => {
    const appId = vp.policy.appId;
    let fields: Record<string, VaultField> = {};
    if (self.envelope !== null) {
      const masked =
        masks.get(appId, self.id, self.envelope) ?? maskRecord(vp, appId, self.id, self.envelope, await openHolder(appId, self));
      // All of them: the cached fields as they are (frozen, shared by the reads of this envelope).
      if (wanted === undefined) fields = masked;
      else for (const category in masked) if (wanted.has(category)) fields[category] = masked[category] as VaultField;
    }
    await recordMaskedRead(appId, self.id, actor, Object.keys(fields));
    return { appId, subjectId: self.id, kind: self.kind, status: self.status, view: 'masked', purpose: null, devices: [], fields };
  };

  /** Audit of a masked read: counted per window (default) or one event each, durable before the read returns. */
  const recordMaskedRead = async (appId: string, subjectId: string, actor: VaultActor, shown: string[]): Promise<void> => {
    if (readAuditMode === 'each') {
      await readAudit.record({
        actor: actor.id,
        action: 'vault.read',
        appId,
        subject: subjectId,
        categories: shown,
        requestId: actor.requestId ?? null,
        details: { view: 'masked' },
      });
    } else counter.add(actor.id, appId, shown);
  };

  const checkPlain = (vp: VaultPolicy, actor: VaultActor, purpose: string | undefined): string => {
    if (actor.scopes?.has('vault:read-plain') !== true && actor.scopes?.has('admin') !== true) {
      throw new PipaError('forbidden', 'a plain read needs the scope vault:read-plain', [
        { path: '$.query.view', message: 'scope vault:read-plain' },
      ]);
    }
    if (purpose === undefined || purpose === '') {
      throw new PipaError('validation_failed', 'a plain read needs the purpose the values are needed for', [
        { path: '$.query.purpose', message: 'required with view=plain: one of the declared purposes' },
      ]);
    }
    if (!vp.policy.compiled.purposeById.has(purpose)) {
      const ids = vp.policy.declaration.purposes.map((p) => p.id);
      const suggestion = didYouMean(purpose, ids);
      throw new PipaError('unknown_purpose', `app ${vp.policy.appId} declares no purpose ${shownId(purpose)}`, [
        {
          path: '$.query.purpose',
          message: `not a declared purpose of ${vp.policy.appId}${suggestion !== undefined ? `; did you mean ${suggestion}?` : ''}`,
          ...(suggestion !== undefined ? { suggestion } : {}),
        },
      ]);
    }
    return purpose;
  };

  const denyPlain = async (
    vp: VaultPolicy,
    subjectId: string,
    actor: VaultActor,
    purpose: string,
    categories: string[],
    decision: Decision,
  ): Promise<never> => {
    await ctx.auditBatcher.record({
      actor: actor.id,
      action: 'vault.read.plain',
      appId: vp.policy.appId,
      subject: subjectId,
      categories,
      purpose,
      outcome: 'denied',
      requestId: actor.requestId ?? null,
      details: { reason: decision.reason.code, clause: [...decision.clause] },
    });
    throw new PipaError('forbidden', `plain read for purpose ${purpose} refused: ${decision.reason.en}`, [
      {
        path: decision.category !== undefined ? '$.query.categories' : '$.query.purpose',
        message: decision.reason.en,
        messageZh: decision.reason.zh,
        reason: decision.reason.code,
        clause: [...decision.clause],
        ...(decision.category !== undefined ? { category: decision.category } : {}),
        ...(decision.needs !== undefined ? { needs: decision.needs } : {}),
      },
    ]);
  };

  const read: VaultService['read'] = async (appId, subjectId, actor, readOptions = {}) => {
    if (!converted) await ready();
    const vp = requirePolicy(appId);
    const view = readOptions.view ?? 'masked';
    const purpose = view === 'plain' ? checkPlain(vp, actor, readOptions.purpose) : null;
    let wanted: Set<string> | undefined;
    if (readOptions.categories !== undefined) {
      const unknown = readOptions.categories.filter((c) => !vp.categories.has(c));
      if (unknown.length > 0) {
        throw new PipaError(
          'unknown_category',
          `app ${appId} declares no category ${unknown.map(shownId).join(', ')}`,
          unknown.map((c) => unknownCategory(vp, c, '$.query.categories')),
        );
      }
      wanted = new Set(readOptions.categories);
    }
    const rows = await readRows(appId, subjectId);
    const self = rows.find((r) => r.id === subjectId);
    if (self === undefined) throw unknownSubject(appId, subjectId);
    if (rows.length === 1 && purpose === null) return maskedOne(vp, self, actor, wanted);
    // A device's read shows the device's own fields; an account's also those of its linked devices.
    const devices =
      self.kind === 'account'
        ? rows
            .filter((r) => r.id !== subjectId)
            .map((r) => r.id)
            .sort()
        : [];
    // Per category (from the manifests): the account's own field wins; among devices the most recently written.
    const chosen = new Map<string, { holder: ReadRow; updatedAt: number }>();
    for (const r of rows) {
      if (r.envelope === null || r.fields === null) continue;
      if (r.id !== subjectId && (self.kind !== 'account' || r.status === 'erased')) continue;
      for (const [category, updatedAt] of parseManifest(r.fields)) {
        if (wanted !== undefined && !wanted.has(category)) continue;
        const cur = chosen.get(category);
        if (cur === undefined || (cur.holder.id !== subjectId && (r.id === subjectId || updatedAt > cur.updatedAt))) {
          chosen.set(category, { holder: r, updatedAt });
        }
      }
    }
    // Which categories are shown plain.
    let plain: Set<string> = new Set();
    if (purpose !== null) {
      const compiledPurpose = vp.policy.compiled.purposeById.get(purpose);
      const declared = new Set(
        compiledPurpose === undefined ? [] : (vp.policy.declaration.purposes.find((p) => p.id === purpose)?.categories ?? []),
      );
      const asked = wanted !== undefined ? [...wanted] : [...chosen.keys()].filter((c) => declared.has(c));
      const cats = asked.sort();
      // Judged on the categories asked for or held; when the subject holds none of the purpose's,
      // on the purpose's own, so that a plain read the rules refuse is refused (and audited as
      // denied) whatever the record holds today.
      const judged = cats.length > 0 ? cats : [...declared].sort();
      if (judged.length > 0) {
        let denial: Decision | undefined;
        if (plainRule === 'decision') {
          const d = decide(vp.policy.compiled, ctx.consent, { subject: subjectId, purpose, categories: judged }, ctx.clock());
          denial = d.allow ? undefined : d;
        } else denial = declarationDenial(vp, purpose, judged, declared);
        if (denial !== undefined) await denyPlain(vp, subjectId, actor, purpose, judged, denial);
      }
      if (self.status === 'frozen' && cats.length > 0) {
        throw new PipaError('forbidden', `processing of subject ${subjectId} is restricted (frozen); plain values are not released`);
      }
      plain = new Set(cats);
    }
    // Per holder: masked values computed earlier from exactly this envelope need no decryption.
    const opened = new Map<string, { masked: MaskedFields | undefined; record: RecordFields | undefined }>();
    for (const { holder } of chosen.values()) {
      if (opened.has(holder.id)) continue;
      const needsPlain = [...plain].some((c) => chosen.get(c)?.holder === holder);
      const masked = needsPlain ? undefined : masks.get(appId, holder.id, holder.envelope as Buffer);
      opened.set(holder.id, { masked, record: masked === undefined ? await openHolder(appId, holder) : undefined });
    }
    const fields: Record<string, VaultField> = {};
    for (const category of [...chosen.keys()].sort()) {
      const { holder } = chosen.get(category) as { holder: ReadRow };
      const o = opened.get(holder.id) as { masked: MaskedFields | undefined; record: RecordFields | undefined };
      const isPlain = plain.has(category);
      if (o.masked === undefined && o.record !== undefined && !isPlain) {
        o.masked = maskRecord(vp, appId, holder.id, holder.envelope as Buffer, o.record);
      }
      if (isPlain) {
        const f = o.record?.get(category);
        if (f === undefined) continue;
        fields[category] = { value: f.value, masked: false, updatedAt: f.updatedAt, from: holder.id };
      } else {
        const m = o.masked !== undefined && Object.hasOwn(o.masked, category) ? o.masked[category] : undefined;
        if (m === undefined) continue;
        fields[category] = m;
      }
    }
    const shown = Object.keys(fields);
    if (purpose !== null) {
      await ctx.auditBatcher.record({
        actor: actor.id,
        action: 'vault.read.plain',
        appId,
        subject: subjectId,
        categories: [...plain],
        purpose,
        requestId: actor.requestId ?? null,
        details: { masked: shown.filter((c) => !plain.has(c)).length, ...(devices.length > 0 ? { devices: devices.length } : {}) },
      });
    } else await recordMaskedRead(appId, subjectId, actor, shown);
    return { appId, subjectId, kind: self.kind, status: self.status, view, purpose, devices, fields };
  };

  // ---- read for a rights request ----------------------------------------------------------------

  const readForRequest: VaultService['readForRequest'] = async (appId, subjectId, actor, request, categories) => {
    if (!converted) await ready();
    requirePolicy(appId);
    const rows = await readRows(appId, subjectId);
    if (!rows.some((r) => r.id === subjectId)) throw unknownSubject(appId, subjectId);
    const wanted = categories === undefined ? undefined : new Set(categories);
    const out: RequestField[] = [];
    for (const r of rows) {
      if (r.envelope === null) continue;
      for (const [category, f] of await openHolder(appId, r)) {
        if (wanted !== undefined && !wanted.has(category)) continue;
        out.push({ category, value: f.value, since: f.createdAt, updatedAt: f.updatedAt, from: r.id });
      }
    }
    out.sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    // Fail closed: nothing is returned unless the read is on record (group commit with other reads).
    await ctx.auditBatcher.record({
      actor: actor.id,
      action: 'rights.read',
      appId,
      subject: subjectId,
      categories: [...new Set(out.map((f) => f.category))],
      requestId: actor.requestId ?? null,
      details: { request, fields: out.length },
    });
    return out;
  };

  // ---- lookup -----------------------------------------------------------------------------------

  const lookup: VaultService['lookup'] = async (appId, query, actor) => {
    if (!converted) await ready();
    const vp = requirePolicy(appId);
    const given = (Object.keys(LOOKUP_KINDS) as LookupKind[]).filter((k) => query[k] !== undefined);
    if (given.length !== 1) {
      throw new PipaError('validation_failed', 'give exactly one of phone, idNumber, email', [
        { path: '$.body', message: `give exactly one of ${Object.keys(LOOKUP_KINDS).join(', ')}` },
      ]);
    }
    const kind = given[0] as LookupKind;
    const category = LOOKUP_KINDS[kind];
    const cat = vp.categories.get(category);
    if (cat === undefined || cat.rule.index === undefined) {
      throw new PipaError('unknown_category', `app ${appId} declares no category ${category}, so nothing can be looked up by ${kind}`, [
        { path: `$.body.${kind}`, message: `category ${category} is not declared by ${appId}` },
      ]);
    }
    let index: Buffer;
    try {
      index = ctx.blindIndex.index(appId, category, cat.rule.index, query[kind] as string);
    } catch (err) {
      if (isCryptoError(err) && err.code === 'invalid_value') {
        throw new PipaError('validation_failed', `${kind}: ${err.message}`, [{ path: `$.body.${kind}`, message: err.message }]);
      }
      throw err;
    }
    const rows = await ctx.db
      .selectFrom('vault_index as f')
      .innerJoin('subjects as s', 's.id', 'f.subject_id')
      .select(['f.subject_id', 's.kind', 's.linked_to', 's.status'])
      .where('f.app_id', '=', appId)
      .where('f.category', '=', category)
      .where('f.blind_index', '=', index)
      .orderBy('f.subject_id')
      .limit(maxMatches)
      .execute();
    const matches: LookupMatch[] = rows.map((r) => ({
      subjectId: r.subject_id,
      kind: r.kind,
      linkedTo: r.linked_to,
      status: r.status,
      category,
    }));
    const base = { actor: actor.id, action: 'vault.lookup', appId, categories: [category], requestId: actor.requestId ?? null };
    if (matches.length === 0) await ctx.auditBatcher.record({ ...base, details: { by: kind, matches: 0 } });
    else {
      await Promise.all(
        matches.map((m) => ctx.auditBatcher.record({ ...base, subject: m.subjectId, details: { by: kind, matches: matches.length } })),
      );
    }
    return matches;
  };

  // ---- erase ------------------------------------------------------------------------------------

  const erase: VaultService['erase'] = async (appId, subjectId, confirmation, actor) => {
    if (!converted) await ready();
    requirePolicy(appId);
    if (confirmation?.confirm !== true) {
      throw new PipaError('precondition_failed', 'erasure is irreversible: send {"confirm": true}', [
        { path: '$.body.confirm', message: 'must be true' },
      ]);
    }
    const result = await withTransaction(ctx.db, async (trx) => {
      const self = await forUpdate(
        trx.selectFrom('subjects').select(['id', 'kind', 'status', 'erased_at']).where('id', '=', subjectId).where('app_id', '=', appId),
        caps,
      ).executeTakeFirst();
      if (self === undefined) throw unknownSubject(appId, subjectId);
      const linked =
        self.kind === 'account'
          ? await forUpdate(
              trx.selectFrom('subjects').select(['id', 'status']).where('linked_to', '=', subjectId).where('app_id', '=', appId),
              caps,
            ).execute()
          : [];
      const all = [subjectId, ...linked.map((d) => d.id).sort()];
      const records = await trx.selectFrom('vault_records').select(['subject_id', 'fields']).where('subject_id', 'in', all).execute();
      const fields = records.flatMap((r) =>
        [...parseManifest(r.fields).keys()].map((category) => ({ subject_id: r.subject_id, category })),
      );
      const dataKeys = await trx.selectFrom('data_keys').select(['subject_id', 'kek_version']).where('subject_id', 'in', all).execute();
      await trx.deleteFrom('data_keys').where('subject_id', 'in', all).execute();
      await trx.deleteFrom('vault_records').where('subject_id', 'in', all).execute();
      await trx.deleteFrom('vault_index').where('subject_id', 'in', all).execute();
      // Rows of the legacy per-field layout not converted yet (their key is shredded above either way).
      await trx.deleteFrom('vault_fields').where('subject_id', 'in', all).execute();
      const at = ctx.clock();
      const events = all.map((id) => {
        const own = fields.filter((f) => f.subject_id === id).map((f) => f.category);
        return {
          actor: actor.id,
          action: 'vault.erase',
          appId,
          subject: id,
          categories: own,
          requestId: actor.requestId ?? null,
          details: {
            fields: own.length,
            keyShredded: dataKeys.some((k) => k.subject_id === id),
            reason: id === subjectId ? 'requested' : 'device-of-erased-account',
          },
        };
      });
      const { firstSeq } = await ctx.audit.appendMany(trx, events);
      const alreadyErased = self.status === 'erased';
      for (const id of all) {
        const status = id === subjectId ? self.status : linked.find((d) => d.id === id)?.status;
        if (status !== 'erased')
          await deps.subjects.setStatus(trx, appId, id, 'erased', { actor: actor.id, requestId: actor.requestId ?? null, at });
      }
      const kekVersions = [...new Set(dataKeys.map((k) => k.kek_version))].sort((a, b) => a - b);
      const backups = dataKeys.length === 0 ? 'complete' : 'pending-kek-retirement';
      const deleted = dataKeys.length > 0 || fields.length > 0;
      const receipt: ErasureReceipt = {
        appId,
        subjectId,
        subjects: all,
        // A repeated erasure reports when the subject was erased, not when it was asked again.
        erasedAt: alreadyErased && self.erased_at !== null ? self.erased_at : at,
        categories: [...new Set(fields.map((f) => f.category))].sort(),
        fieldsDeleted: fields.length,
        keysShredded: dataKeys.length,
        kekVersions,
        backups,
        // PostgreSQL's files keep dead tuples as backups keep rows: the same answer.
        storage: ctx.database.dialect !== 'sqlite' ? backups : deleted ? 'overwritten' : 'complete',
        alreadyErased,
        auditSeq: firstSeq,
      };
      return receipt;
    });
    // The wrapped keys are gone from the database; destroy the unwrapped copies in memory, and have
    // the SQLite log emptied of the page images from before the erasure (secure_delete overwrote
    // them in the database file; store/database.ts scrubLog).
    for (const id of result.subjects) forget(appId, id);
    if (result.storage === 'overwritten') void ctx.database.scrubLog();
    return result;
  };

  return {
    put,
    read,
    readForRequest,
    lookup,
    erase,
    async flush() {
      await writer.flush();
      await counter.flush();
      await ctx.auditBatcher.flush();
    },
  };
}

interface ReadCounter {
  add(actor: string, appId: string, categories: readonly string[]): void;
  /** Write the counts gathered so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counted masked reads: per actor and app, the number of reads and the categories shown in a window,
 * written as one `vault.read` event (count n) through the audit batcher when the window ends, on
 * `flush` and at shutdown. Counts whose event could not be written are kept for the next window.
 */
function createReadCounter(ctx: ServiceContext, windowMs: number): ReadCounter {
  interface Count {
    actor: string;
    appId: string;
    count: number;
    categories: Set<string>;
    from: number;
    to: number;
  }
  let counts = new Map<string, Count>();
  let timer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const current = counts;
    counts = new Map();
    await Promise.all(
      [...current.entries()].map(async ([k, c]) => {
        try {
          await ctx.auditBatcher.record({
            actor: c.actor,
            action: 'vault.read',
            appId: c.appId,
            categories: [...c.categories],
            count: c.count,
            details: { view: 'masked', window: { from: c.from, to: c.to } },
          });
        } catch {
          const again = counts.get(k);
          if (again === undefined) counts.set(k, c);
          else {
            again.count += c.count;
            again.from = Math.min(again.from, c.from);
            for (const cat of c.categories) again.categories.add(cat);
          }
        }
      }),
    );
  };
  return {
    add(actor, appId, categories) {
      const k = `${actor}\u0000${appId}`;
      const now = ctx.clock();
      let c = counts.get(k);
      if (c === undefined) {
        c = { actor, appId, count: 0, categories: new Set(), from: now, to: now };
        counts.set(k, c);
      }
      c.count++;
      c.to = now;
      for (const cat of categories) c.categories.add(cat);
      if (timer === undefined) {
        timer = setTimeout(() => void flush(), windowMs);
        timer.unref();
      }
    },
    flush,
    close: flush,
  };
}

interface MaskedCache {
  get(appId: string, subjectId: string, envelope: Buffer): MaskedFields | undefined;
  set(appId: string, subjectId: string, envelope: Buffer, masked: MaskedFields): void;
  drop(appId: string, subjectId: string): void;
}

/**
 * A subject's masked values with the record envelope they were computed from (LRU by subject). A hit
 * needs the stored envelope to be byte-for-byte the one that was authenticated and decrypted for this
 * very app and subject (the AAD), so it can neither be stale nor be fooled by a swapped or altered
 * envelope (those miss, and fail decryption). Erasure drops the subject's entry, so rows restored
 * after a crypto-shredding are never shown from memory. Holds masked values only, never plain ones.
 */
function createMaskedCache(maxSubjects: number): MaskedCache {
  const bySubject = new Map<string, { envelope: Buffer; masked: MaskedFields }>();
  const id = (appId: string, subjectId: string) => `${appId}\u0000${subjectId}`;
  return {
    get(appId, subjectId, envelope) {
      if (maxSubjects <= 0) return undefined;
      const k = id(appId, subjectId);
      const entry = bySubject.get(k);
      if (entry === undefined || !entry.envelope.equals(envelope)) return undefined;
      bySubject.delete(k);
      bySubject.set(k, entry);
      return entry.masked;
    },
    set(appId, subjectId, envelope, masked) {
      if (maxSubjects <= 0) return;
      const k = id(appId, subjectId);
      bySubject.delete(k);
      // The envelope is the row's own buffer (the drivers allocate one per row), never reused: kept as is.
      bySubject.set(k, { envelope, masked });
      while (bySubject.size > maxSubjects) {
        const oldest = bySubject.keys().next();
        if (oldest.done === true) break;
        bySubject.delete(oldest.value);
      }
    },
    drop(appId, subjectId) {
      bySubject.delete(id(appId, subjectId));
    },
  };
}

/** The `declaration` rule: the purpose is declared for every category asked for; the denial, or undefined. */
function declarationDenial(
  vp: VaultPolicy,
  purpose: string,
  categories: readonly string[],
  declared: ReadonlySet<string>,
): Decision | undefined {
  const missing = categories.find((c) => !declared.has(c));
  if (missing === undefined) return undefined;
  const k = vp.policy.declaration.purposes.findIndex((p) => p.id === purpose);
  return {
    allow: false,
    reason: {
      code: 'category.undeclared-for-purpose',
      en: `purpose ${purpose} does not use category ${missing}`,
      zh: `目的 ${purpose} 未声明使用类别 ${missing}`,
    },
    clause: [`$.purposes[${k}].categories`],
    category: missing,
  };
}
