/**
 * The audit log: a hash chain in `audit_events`, extended inside the caller's transaction.
 *
 * ```ts
 * const audit = createAuditLog({ db: database.db, clock, pseudonymise: (id) => pseudonyms.audit(id), signer });
 * await withTransaction(database.db, async (trx) => {
 *   await vaultRepo.write(trx, ...);
 *   await audit.append(trx, { actor: 'key_x', action: 'vault.write', appId, subject: 'sub_1', categories: ['phone'], requestId });
 * }); // the event and the change commit together, or neither does: audit fails closed
 * ```
 *
 * Appending reads the head (`chain_heads` row `audit`), numbers and hashes the events, inserts them
 * and moves the head, all in the caller's transaction. PostgreSQL: the head row is locked
 * (`SELECT … FOR UPDATE`) until that transaction ends, so appends from any number of processes form
 * one chain; the lock is held until commit, so append as late in the transaction as you can. SQLite:
 * the transaction already holds the database's single write lock (`BEGIN IMMEDIATE`).
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { type Capabilities, capabilitiesOfKysely } from '../store/capabilities.js';
import { markHot } from '../store/hot-statements.js';
import { rowsInStatement } from '../store/prepared.js';
import type { NewRow, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { auditHashInputOf, canonicalCategories, canonicalJson, sha256Hex } from './chain.js';
import type { Checkpoint, CheckpointSigner } from './checkpoint.js';
import { AuditError } from './errors.js';
import { type AuditExportOptions, exportAuditRange } from './export.js';
import { AUDIT_CHAIN, AUDIT_COLUMNS, type ChainHead, moveHead, readHead, recordToEvent } from './records.js';
import { AUDIT_OUTCOMES, type AuditEvent, type AuditEventInput, type AuditRecord, type Clock } from './types.js';
import { type VerifyOptions, type VerifyResult, verifyAuditChain } from './verify.js';

export interface AuditLogOptions {
  db: Kysely<Schema>;
  /** Default: derived from `db`. */
  caps?: Capabilities;
  /** Default: `Date.now`. */
  clock?: Clock;
  /** Raw subject id → audit pseudonym (`Pseudonymizer.audit`). Without it, events must carry `subjectPseudonym`. */
  pseudonymise?: (subjectId: string) => string;
  /** Signs checkpoints. */
  signer?: CheckpointSigner;
  /** Largest `details` (canonical JSON, UTF-8 bytes). Default 16 384. */
  maxDetailsBytes?: number;
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
  /** Hash of the last event appended (the new head). */
  hash: string;
}

export interface HistoryQuery {
  /** The subject's raw id (pseudonymised here) … (give one of the two) */
  subject?: string;
  /** … or its audit pseudonym. */
  subjectPseudonym?: string;
  /** Only this app's events. */
  appId?: string;
  /** Only these actions. */
  actions?: readonly string[];
  /** Page cursor: events with `seq` below this (from the previous page's `nextBefore`). */
  before?: number;
  /** Default 50, at most 500. */
  limit?: number;
}

export interface HistoryPage {
  /** Newest first. */
  events: AuditEvent[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  nextBefore: number | null;
}

export interface EventsQuery {
  /** Events with `seq` above this. Default 0. */
  after?: number;
  /** Default 100, at most 1000. */
  limit?: number;
  appId?: string;
  requestId?: string;
}

export interface AuditLog {
  /** Append one event inside `trx` (or in a transaction of its own when given the database). */
  append(trx: Kysely<Schema>, event: AuditEventInput): Promise<AuditEvent>;
  /** Append several events at once: one head update, multi-row inserts (the fast path). */
  appendMany(trx: Kysely<Schema>, events: readonly AuditEventInput[]): Promise<AppendResult>;
  /** The current head (seq 0 and 64 zeros when the log is empty). */
  head(): Promise<ChainHead>;
  /** Sign and store a checkpoint of the current head; null when the log is empty. */
  checkpoint(): Promise<Checkpoint | null>;
  /** Recompute the chain (see `verifyAuditChain`). */
  verify(options?: VerifyOptions): Promise<VerifyResult>;
  /** Who accessed a subject's data, when and why: the subject's events, newest first, paged. */
  history(query: HistoryQuery): Promise<HistoryPage>;
  /** Events in sequence order (admin views, export to a SIEM). */
  events(query?: EventsQuery): Promise<AuditEvent[]>;
  /** JSON lines of a range and its checkpoints (see export.ts); `checkpoint: true` signs the head first. */
  exportRange(options?: AuditExportOptions & { checkpoint?: boolean }): AsyncGenerator<string>;
  /**
   * A group-commit buffer for events that belong to no transaction of the caller (decisions, which
   * the hot path answers without I/O; reads logged after the fact). See `AuditBatcher`.
   */
  batcher(options?: AuditBatcherOptions): AuditBatcher;
}

export interface AuditBatcherOptions {
  /** Most events written in one transaction. Default 10 000. */
  maxBatch?: number;
  /** Wait this long for more events before writing a batch. Default 0 (the next turn of the event loop). */
  maxDelayMs?: number;
  /** Most events waiting; beyond it `record` rejects with `overloaded`. Default 100 000. */
  maxQueue?: number;
}

/**
 * Group commit. `record` validates the event at once (rejecting a bad one alone), queues it, and
 * resolves with its sequence number once the transaction holding it has committed; while one batch
 * is being written the next one fills, so batches grow with the load and each commit carries many
 * events. If a batch cannot be written, every `record` in it rejects: nothing is acknowledged that
 * is not durable. Events still queued when the process dies were never acknowledged.
 */
export interface AuditBatcher {
  record(event: AuditEventInput): Promise<number>;
  /** Resolves when everything recorded so far is written (or has failed). */
  flush(): Promise<void>;
  /** Flush, then refuse new events. */
  close(): Promise<void>;
  /** Events waiting to be written. */
  readonly pending: number;
}

const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const MAX_TEXT = 256;
/** `count` is a 32-bit `integer` column on every dialect. */
const MAX_COUNT = 2 ** 31 - 1;

type Prepared = Omit<AuditRecord, 'seq' | 'at' | 'prev_hash' | 'hash'>;

/** Same rule as crypto's `isPseudonym` (`psn_` + 16..52 base32 letters), without a regex: it runs per event. */
function isAuditPseudonym(value: string): boolean {
  if (value.length < 20 || value.length > 56 || !value.startsWith('psn_')) return false;
  for (let i = 4; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 50 && c <= 55))) return false;
  }
  return true;
}

function bad(message: string, messageZh: string): AuditError {
  return new AuditError('invalid_event', message, messageZh);
}

/** C0 controls and DEL: PostgreSQL refuses NUL in text (SQLite would store it), and a line break in an id could forge log lines. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function text(name: string, value: string | null | undefined, required: boolean): string | null {
  if (value === undefined || value === null) {
    if (required) throw bad(`audit event: ${name} is required`, `审计事件：缺少 ${name}`);
    return null;
  }
  if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT) {
    throw bad(
      `audit event: ${name} must be a non-empty string of at most ${MAX_TEXT} characters`,
      `审计事件：${name} 必须是不超过 ${MAX_TEXT} 个字符的非空字符串`,
    );
  }
  if (hasControl(value)) {
    throw bad(`audit event: ${name} must not contain control characters`, `审计事件：${name} 不能包含控制字符`);
  }
  return value;
}

function invalidArgument(message: string, messageZh: string): AuditError {
  return new AuditError('invalid_argument', message, messageZh);
}

/** A page size: a finite number, clamped to 1..max (default when absent). */
function pageLimit(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(`${name} must be a number (got ${String(value)})`, `${name} 必须是数字（实际为 ${String(value)}）`);
  }
  return Math.min(Math.max(1, Math.floor(value)), max);
}

/** A sequence number cursor: an integer. */
function cursor(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidArgument(`${name} must be a sequence number (got ${String(value)})`, `${name} 必须是序号（实际为 ${String(value)}）`);
  }
  return value;
}

export function createAuditLog(options: AuditLogOptions): AuditLog {
  const { db } = options;
  const caps = options.caps ?? capabilitiesOfKysely(db);
  const clock: Clock = options.clock ?? { now: () => Date.now() };
  const maxDetails = options.maxDetailsBytes ?? 16_384;
  const inserts = new Map<number, CompiledQuery | null>();

  const prepare = (e: AuditEventInput): Prepared => {
    const action = text('action', e.action, true) as string;
    if (!ACTION.test(action)) {
      throw bad(
        `audit event: action "${action}" must be dotted lower case (e.g. vault.read)`,
        `审计事件：action「${action}」必须是以点分隔的小写名称（例如 vault.read）`,
      );
    }
    let pseudonym: string | null = null;
    if (e.subject !== undefined && e.subject !== null) {
      if (e.subjectPseudonym !== undefined && e.subjectPseudonym !== null) {
        throw bad('audit event: give subject or subjectPseudonym, not both', '审计事件：subject 与 subjectPseudonym 只能给出其一');
      }
      if (options.pseudonymise === undefined) {
        throw new AuditError(
          'no_pseudonymiser',
          'audit event names a subject but the audit log has no pseudonymiser (it never stores raw subject ids)',
          '审计事件指明了主体，但审计日志未配置假名化函数（审计日志不保存原始主体标识）',
        );
      }
      pseudonym = options.pseudonymise(text('subject', e.subject, true) as string);
    } else if (e.subjectPseudonym !== undefined && e.subjectPseudonym !== null) {
      pseudonym = e.subjectPseudonym;
    }
    if (pseudonym !== null && !isAuditPseudonym(pseudonym)) {
      throw bad('audit event: subjectPseudonym must be an audit pseudonym (psn_…)', '审计事件：subjectPseudonym 必须是审计假名（psn_…）');
    }
    const categories = e.categories ?? [];
    for (const c of categories) text('categories[]', c, true);
    const outcome = e.outcome ?? 'ok';
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) {
      throw bad(
        `audit event: outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`,
        `审计事件：outcome 只能是 ${AUDIT_OUTCOMES.join('、')}`,
      );
    }
    const count = e.count ?? 1;
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_COUNT) {
      throw bad(`audit event: count must be a positive integer up to ${MAX_COUNT}`, `审计事件：count 必须是不超过 ${MAX_COUNT} 的正整数`);
    }
    let details: string | null = null;
    if (e.details !== undefined && e.details !== null) {
      details = canonicalJson(e.details);
      if (Buffer.byteLength(details, 'utf8') > maxDetails) {
        throw bad(`audit event: details exceed ${maxDetails} bytes`, `审计事件：details 超过 ${maxDetails} 字节`);
      }
    }
    return {
      actor: text('actor', e.actor, true) as string,
      action,
      app_id: text('appId', e.appId, false),
      subject_pseudonym: pseudonym,
      categories: canonicalCategories(categories),
      purpose: text('purpose', e.purpose, false),
      outcome,
      count,
      request_id: text('requestId', e.requestId, false),
      details,
    };
  };

  /** A compiled n-row insert whose parameters are the rows' columns in order, or null if Kysely compiles otherwise. */
  const insertFor = (executor: Kysely<Schema>, n: number): CompiledQuery | null => {
    const cached = inserts.get(n);
    if (cached !== undefined) return cached;
    const sentinels: string[] = [];
    const rows: Record<string, string>[] = [];
    for (let r = 0; r < n; r++) {
      const row: Record<string, string> = {};
      for (const c of AUDIT_COLUMNS) {
        const s = `\u0001${r}:${c}`;
        row[c] = s;
        sentinels.push(s);
      }
      rows.push(row);
    }
    const compiled = executor
      .insertInto('audit_events')
      .values(rows as unknown as NewRow<'audit_events'>[])
      .compile();
    const same = compiled.parameters.length === sentinels.length && compiled.parameters.every((p, i) => p === sentinels[i]);
    const result = same ? compiled : null;
    // On PostgreSQL a named prepared statement of each connection, planned once (store/hot-statements.ts).
    if (result !== null) markHot(result.sql);
    inserts.set(n, result);
    return result;
  };

  const WIDTH = AUDIT_COLUMNS.length;

  /** Insert `count` rows whose values lie flat in `values` (WIDTH per row, in AUDIT_COLUMNS order). */
  const insertRows = async (executor: Kysely<Schema>, values: unknown[], count: number): Promise<void> => {
    let i = 0;
    while (i < count) {
      const left = count - i;
      // A usual batch in one statement; few distinct statements, each prepared once.
      const n = rowsInStatement(left);
      const params = values.slice(i * WIDTH, (i + n) * WIDTH);
      i += n;
      const compiled = insertFor(executor, n);
      if (compiled !== null) {
        await executor.executeQuery({ ...compiled, parameters: params });
        continue;
      }
      const rows: Record<string, unknown>[] = [];
      for (let r = 0; r < n; r++) {
        const row: Record<string, unknown> = {};
        AUDIT_COLUMNS.forEach((c, k) => {
          row[c] = params[r * WIDTH + k];
        });
        rows.push(row);
      }
      await executor
        .insertInto('audit_events')
        .values(rows as unknown as NewRow<'audit_events'>[])
        .execute();
    }
  };

  interface Appended {
    firstSeq: number;
    lastSeq: number;
    lastAt: number;
    hash: string;
    /** The first event, as stored (for `append`). */
    first: AuditRecord;
  }

  const appendPrepared = async (trx: Kysely<Schema>, prepared: Prepared[]): Promise<Appended> => {
    const head = await readHead(trx, caps, AUDIT_CHAIN, true);
    let seq = head.seq;
    let prev = head.hash;
    let at = 0;
    const values: unknown[] = new Array(prepared.length * WIDTH);
    let k = 0;
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i] as Prepared;
      seq++;
      at = clock.now();
      if (!Number.isSafeInteger(at) || at < 0) {
        throw invalidArgument(
          `the audit clock must return whole milliseconds since the epoch (got ${String(at)})`,
          `审计时钟必须返回自纪元起的整数毫秒（实际为 ${String(at)}）`,
        );
      }
      const hash = sha256Hex(auditHashInputOf(seq, at, p, prev));
      values[k++] = seq;
      values[k++] = at;
      values[k++] = p.actor;
      values[k++] = p.action;
      values[k++] = p.app_id;
      values[k++] = p.subject_pseudonym;
      values[k++] = p.categories;
      values[k++] = p.purpose;
      values[k++] = p.outcome;
      values[k++] = p.count;
      values[k++] = p.request_id;
      values[k++] = p.details;
      values[k++] = prev;
      values[k++] = hash;
      prev = hash;
    }
    await insertRows(trx, values, prepared.length);
    await moveHead(trx, caps, AUDIT_CHAIN, { seq, hash: prev }, at);
    const first = Object.fromEntries(AUDIT_COLUMNS.map((c, i) => [c, values[i]])) as unknown as AuditRecord;
    return { firstSeq: head.seq + 1, lastSeq: seq, lastAt: at, hash: prev, first };
  };

  const inTransaction = <T>(executor: Kysely<Schema>, fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> =>
    executor.isTransaction ? fn(executor) : withTransaction(executor, fn);

  const log: AuditLog = {
    async append(trx, event) {
      const prepared = [prepare(event)];
      const appended = await inTransaction(trx, (t) => appendPrepared(t, prepared));
      return recordToEvent(appended.first);
    },

    async appendMany(trx, events) {
      if (events.length === 0) {
        throw new AuditError('invalid_argument', 'appendMany needs at least one event', 'appendMany 至少需要一个事件');
      }
      const prepared = events.map(prepare);
      const { firstSeq, lastSeq, hash } = await inTransaction(trx, (t) => appendPrepared(t, prepared));
      return { firstSeq, lastSeq, hash };
    },

    head() {
      return readHead(db, caps, AUDIT_CHAIN, false);
    },

    async checkpoint() {
      const signer = options.signer;
      if (signer === undefined) {
        throw new AuditError('no_signing_key', 'no checkpoint signing key is configured', '未配置检查点签名密钥');
      }
      return withTransaction(db, async (trx) => {
        const head = await readHead(trx, caps, AUDIT_CHAIN, false);
        if (head.seq === 0) return null;
        const stored = async (): Promise<Checkpoint | null> => {
          const row = await trx.selectFrom('audit_checkpoints').selectAll().where('seq', '=', head.seq).executeTakeFirst();
          if (row === undefined) return null;
          const { seq, hash, at, key_id: keyId, public_key: publicKey, signature } = row;
          return { seq: Number(seq), hash, at: Number(at), keyId, publicKey, signature };
        };
        const existing = await stored();
        if (existing !== null) return existing;
        const cp = signer.sign({ seq: head.seq, hash: head.hash, at: clock.now() });
        // Another node may checkpoint the same head at the same time (PostgreSQL): the first one stays,
        // and both return it.
        await trx
          .insertInto('audit_checkpoints')
          .values({ seq: cp.seq, hash: cp.hash, at: cp.at, key_id: cp.keyId, public_key: cp.publicKey, signature: cp.signature })
          .onConflict((oc) => oc.column('seq').doNothing())
          .execute();
        return (await stored()) ?? cp;
      });
    },

    verify(verifyOptions) {
      return verifyAuditChain(db, verifyOptions);
    },

    async history(query) {
      let pseudonym = query.subjectPseudonym;
      if (query.subject !== undefined && query.subjectPseudonym !== undefined) {
        throw invalidArgument('history: give subject or subjectPseudonym, not both', '查询历史：subject 与 subjectPseudonym 只能给出其一');
      }
      if (query.subject !== undefined) {
        if (options.pseudonymise === undefined) {
          throw new AuditError('no_pseudonymiser', 'history by subject id needs a pseudonymiser', '按主体标识查询历史需要配置假名化函数');
        }
        pseudonym = options.pseudonymise(query.subject);
      }
      if (pseudonym === undefined) {
        throw new AuditError('invalid_argument', 'history needs subject or subjectPseudonym', '查询历史需要 subject 或 subjectPseudonym');
      }
      const limit = pageLimit('limit', query.limit, 50, 500);
      const before = cursor('before', query.before);
      let q = db.selectFrom('audit_events').selectAll().where('subject_pseudonym', '=', pseudonym);
      if (before !== undefined) q = q.where('seq', '<', before);
      if (query.appId !== undefined) q = q.where('app_id', '=', query.appId);
      if (query.actions !== undefined && query.actions.length > 0) q = q.where('action', 'in', [...query.actions]);
      const rows = (await q
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute()) as AuditRecord[];
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      return { events: page.map(recordToEvent), nextBefore: more ? (page[page.length - 1]?.seq ?? null) : null };
    },

    async events(query = {}) {
      const limit = pageLimit('limit', query.limit, 100, 1000);
      let q = db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', cursor('after', query.after) ?? 0);
      if (query.appId !== undefined) q = q.where('app_id', '=', query.appId);
      if (query.requestId !== undefined) q = q.where('request_id', '=', query.requestId);
      const rows = (await q.orderBy('seq', 'asc').limit(limit).execute()) as AuditRecord[];
      return rows.map(recordToEvent);
    },

    batcher(batcherOptions = {}) {
      const maxBatch = Math.max(1, Math.floor(batcherOptions.maxBatch ?? 10_000));
      const maxQueue = Math.max(maxBatch, Math.floor(batcherOptions.maxQueue ?? 100_000));
      const delay = Math.max(0, batcherOptions.maxDelayMs ?? 0);
      interface Waiting {
        prepared: Prepared;
        resolve: (seq: number) => void;
        reject: (err: unknown) => void;
      }
      let queue: Waiting[] = [];
      let running: Promise<void> | null = null;
      let scheduled = false;
      let closed = false;

      const drain = async (): Promise<void> => {
        while (queue.length > 0) {
          const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
          queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
          try {
            const { firstSeq } = await withTransaction(db, (trx) =>
              appendPrepared(
                trx,
                batch.map((w) => w.prepared),
              ),
            );
            batch.forEach((w, i) => {
              w.resolve(firstSeq + i);
            });
          } catch (err) {
            for (const w of batch) w.reject(err);
          }
        }
      };
      const start = () => {
        scheduled = false;
        if (running !== null) return;
        running = drain().finally(() => {
          running = null;
          if (queue.length > 0) schedule();
        });
      };
      const schedule = () => {
        if (scheduled || running !== null) return;
        scheduled = true;
        if (delay > 0) setTimeout(start, delay);
        else setImmediate(start);
      };
      const flush = async (): Promise<void> => {
        while (running !== null || queue.length > 0) {
          if (running === null) start();
          await running;
        }
      };
      return {
        record(event) {
          if (closed) return Promise.reject(new AuditError('invalid_argument', 'the audit batcher is closed', '审计批量写入器已关闭'));
          if (queue.length >= maxQueue) {
            return Promise.reject(
              new AuditError(
                'overloaded',
                `more than ${maxQueue} audit events are waiting to be written`,
                `等待写入的审计事件超过 ${maxQueue} 条`,
              ),
            );
          }
          let prepared: Prepared;
          try {
            prepared = prepare(event);
          } catch (err) {
            return Promise.reject(err);
          }
          return new Promise<number>((resolve, reject) => {
            queue.push({ prepared, resolve, reject });
            schedule();
          });
        },
        flush,
        async close() {
          closed = true;
          await flush();
        },
        get pending() {
          return queue.length;
        },
      };
    },

    async *exportRange(exportOptions = {}) {
      let to = exportOptions.to;
      if (exportOptions.checkpoint === true) {
        const cp = await log.checkpoint();
        if (cp !== null && to === undefined) to = cp.seq;
      }
      yield* exportAuditRange(db, { ...exportOptions, ...(to !== undefined ? { to } : {}) });
    },
  };
  return log;
}

/** Rows in `audit_events` (tests, stats). */
export async function countAuditEvents(db: Kysely<Schema>): Promise<number> {
  const row = await db.selectFrom('audit_events').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
