/**
 * Group commit for vault writes. A write is validated, its blind indexes computed and its data key
 * loaded by its caller (no transaction held), then queued; the writer puts every queued write into
 * one transaction: check the subjects (locked on PostgreSQL, so an erasure or another node's write
 * cannot interleave), insert the data keys of new subjects, read the current records of the others,
 * merge each write into its subject's record and seal it (one envelope per subject: record.ts),
 * upsert the records and blind indexes, append one audit event per write, commit. Only
 * then is each caller acknowledged: nothing is acknowledged that is not durable, and a failed audit
 * append fails the writes (fail closed). While one batch commits the next one fills, so batches grow
 * with the load and the per-transaction cost (commit, audit head) is shared.
 *
 * One write per subject per batch: a second write to the same subject waits for the next batch, so
 * writes to one subject apply in the order they were made. A write refused for its own reason
 * (unknown or erased subject) is rejected alone; if the batch transaction itself fails, its writes
 * are retried one by one so a single bad write cannot fail the others.
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { AuditEventInput, JsonValue } from '../audit/types.js';
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { forUpdate } from '../store/capabilities.js';
import { type Prepared, param, prepare, preparedIn, rowsInStatement } from '../store/prepared.js';
import type { NewRow, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import type { SubjectKey } from './data-keys.js';
import { manifestOf, openRecord, type RecordFields, sealRecord } from './record.js';

/** A value to store: the category, the value (checked by the caller), its blind index when the category has one. */
export interface FieldValue {
  category: string;
  value: string;
  blindIndex: Buffer | null;
}

export interface QueuedWrite {
  appId: string;
  subjectId: string;
  mode: 'merge' | 'replace';
  key: SubjectKey;
  values: FieldValue[];
  /** Categories to delete (merge: given as null). */
  removed: string[];
  audit: AuditEventInput;
}

export interface WriteAck {
  at: number;
  auditSeq: number;
  /** The categories the subject held before the write and not after it (sorted). */
  removed: string[];
}

/** Thrown to a write whose new data key lost a race with another node creating one: re-encrypt and retry. */
export class KeyRaceError extends Error {
  constructor() {
    super('another writer created the subject data key first');
    this.name = 'KeyRaceError';
  }
}

export interface VaultWriter {
  write(w: QueuedWrite): Promise<WriteAck>;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly pending: number;
}

export interface VaultWriterOptions {
  /** Most writes per transaction. Default 256. */
  maxBatch?: number;
  /** Most writes waiting; beyond it `write` rejects with `unavailable`. Default 50 000. */
  maxQueue?: number;
  /** Called after commit for each write whose data key was new (so the key store caches it). */
  onCommitted?: (key: SubjectKey) => void;
}

interface Waiting {
  w: QueuedWrite;
  resolve: (ack: WriteAck) => void;
  reject: (err: unknown) => void;
}

const RECORD_COLUMNS = ['subject_id', 'app_id', 'envelope', 'fields', 'key_version', 'created_at', 'updated_at'] as const;
const INDEX_COLUMNS = ['subject_id', 'category', 'app_id', 'blind_index'] as const;
const KEY_COLUMNS = ['subject_id', 'app_id', 'kek_version', 'wrapped_dek', 'suite', 'created_at', 'rotated_at'] as const;

interface MultiRow {
  /** Run for `count` rows whose values lie flat in `values` (columns in order); returns the rows the statements return. */
  run<R>(trx: Kysely<Schema>, values: unknown[], count: number): Promise<R[]>;
}

/**
 * A multi-row statement compiled once per row count (`rowsInStatement`: a usual batch in one
 * statement, few distinct statements, each prepared once by the driver), bound by position.
 */
function multiRow(columns: readonly string[], build: (rows: Record<string, unknown>[]) => Compilable): MultiRow {
  const width = columns.length;
  const cache = new Map<number, { compiled: CompiledQuery; positional: boolean; prepared: Prepared<string> }>();
  const statement = (n: number) => {
    let s = cache.get(n);
    if (s === undefined) {
      const names: string[] = [];
      const rows: Record<string, unknown>[] = [];
      for (let r = 0; r < n; r++) {
        const row: Record<string, unknown> = {};
        for (const c of columns) {
          const name = `${r}:${c}`;
          row[c] = param(name);
          names.push(name);
        }
        rows.push(row);
      }
      const compiled = build(rows).compile();
      // Usually the parameters are the rows' values in order: then binding is a slice.
      const positional =
        compiled.parameters.length === names.length && compiled.parameters.every((p, i) => p === param(names[i] as string));
      s = { compiled, positional, prepared: prepare(compiled, names) };
      cache.set(n, s);
    }
    return s;
  };
  return {
    async run<R>(trx: Kysely<Schema>, values: unknown[], count: number): Promise<R[]> {
      const out: R[] = [];
      let i = 0;
      while (i < count) {
        const left = count - i;
        const n = rowsInStatement(left);
        const s = statement(n);
        let query: CompiledQuery;
        if (s.positional) query = { ...s.compiled, parameters: values.slice(i * width, (i + n) * width) };
        else {
          const bound: Record<string, unknown> = {};
          for (let r = 0; r < n; r++) {
            for (let k = 0; k < width; k++) bound[`${r}:${columns[k]}`] = values[(i + r) * width + k];
          }
          query = s.prepared.bind(bound);
        }
        i += n;
        const result = await trx.executeQuery<R>(query);
        for (const row of result.rows) out.push(row);
      }
      return out;
    },
  };
}

export function createVaultWriter(ctx: ServiceContext, options: VaultWriterOptions = {}): VaultWriter {
  const maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 256));
  const maxQueue = Math.max(maxBatch, Math.floor(options.maxQueue ?? 50_000));
  const caps = ctx.database.caps;
  let queue: Waiting[] = [];
  let running: Promise<void> | null = null;
  let scheduled = false;
  let closed = false;

  const upsertRecords = multiRow(RECORD_COLUMNS, (rows) =>
    ctx.db
      .insertInto('vault_records')
      .values(rows as NewRow<'vault_records'>[])
      .onConflict((oc) =>
        oc.column('subject_id').doUpdateSet((eb) => ({
          envelope: eb.ref('excluded.envelope'),
          fields: eb.ref('excluded.fields'),
          key_version: eb.ref('excluded.key_version'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      ),
  );
  const upsertIndex = multiRow(INDEX_COLUMNS, (rows) =>
    ctx.db
      .insertInto('vault_index')
      .values(rows as NewRow<'vault_index'>[])
      .onConflict((oc) => oc.columns(['subject_id', 'category']).doUpdateSet((eb) => ({ blind_index: eb.ref('excluded.blind_index') }))),
  );
  const insertKeys = multiRow(KEY_COLUMNS, (rows) =>
    ctx.db
      .insertInto('data_keys')
      .values(rows as NewRow<'data_keys'>[])
      .onConflict((oc) => oc.column('subject_id').doNothing())
      .returning('subject_id'),
  );
  /** The subjects of a batch, locked on PostgreSQL (an erasure or another node's write waits). */
  const selectSubjects = preparedIn<{ id: string; app_id: string; status: string }>((ids) =>
    forUpdate(ctx.db.selectFrom('subjects').select(['id', 'app_id', 'status']).where('id', 'in', ids), caps),
  );
  /** The current records of subjects that have one (merges read them, in the batch's transaction). */
  const selectRecords = preparedIn<{ subject_id: string; envelope: Buffer }>((ids) =>
    ctx.db.selectFrom('vault_records').select(['subject_id', 'envelope']).where('subject_id', 'in', ids),
  );

  /** Write one batch in one transaction; per-write refusals are returned, a thrown error fails the batch. */
  const writeBatch = async (batch: Waiting[]): Promise<Map<Waiting, unknown>> => {
    const refused = new Map<Waiting, unknown>();
    const acks = await withTransaction(ctx.db, async (trx) => {
      refused.clear();
      const at = ctx.clock();
      const ids = [...new Set(batch.map((b) => b.w.subjectId))];
      const subjects = await selectSubjects(trx, ids);
      const byId = new Map(subjects.map((s) => [s.id, s]));
      let accepted: Waiting[] = [];
      for (const b of batch) {
        const s = byId.get(b.w.subjectId);
        if (s === undefined || s.app_id !== b.w.appId) {
          refused.set(b, unknownSubject(b.w.appId, b.w.subjectId));
        } else if (s.status === 'erased') {
          refused.set(b, new PipaError('conflict', `subject ${b.w.subjectId} was erased; nothing can be stored for it`));
        } else if (s.status === 'frozen') {
          refused.set(
            b,
            new PipaError('conflict', `processing of subject ${b.w.subjectId} is restricted (frozen); its data cannot be changed`),
          );
        } else accepted.push(b);
      }
      // Data keys of new subjects. A key another node created first wins; the write re-encrypts under it.
      const newKeys = accepted.filter((b) => !b.w.key.stored);
      if (newKeys.length > 0) {
        const keyValues: unknown[] = [];
        for (const b of newKeys) {
          keyValues.push(b.w.subjectId, b.w.appId, b.w.key.kekVersion ?? 0, b.w.key.wrapped ?? Buffer.alloc(0), b.w.key.suite, at, null);
        }
        const inserted = await insertKeys.run<{ subject_id: string }>(trx, keyValues, newKeys.length);
        const ok = new Set(inserted.map((r) => r.subject_id));
        const lost = new Set(newKeys.filter((b) => !ok.has(b.w.subjectId)));
        if (lost.size > 0) {
          for (const b of lost) refused.set(b, new KeyRaceError());
          accepted = accepted.filter((b) => !lost.has(b));
        }
      }
      // Merge into the current records (subjects whose key is new in this batch have none).
      const existing = new Map<string, Buffer>();
      const stored = accepted.filter((b) => b.w.key.stored).map((b) => b.w.subjectId);
      if (stored.length > 0) for (const r of await selectRecords(trx, stored)) existing.set(r.subject_id, r.envelope);
      const records: unknown[] = [];
      const indexes: unknown[] = [];
      const written: Waiting[] = [];
      const removedBy = new Map<Waiting, string[]>();
      let recordCount = 0;
      let indexCount = 0;
      for (const b of accepted) {
        const w = b.w;
        const envelope = existing.get(w.subjectId);
        let fields: RecordFields;
        try {
          fields = envelope === undefined ? new Map() : openRecord(ctx, w.key.dek, w.appId, w.subjectId, envelope);
        } catch (err) {
          // An unreadable record is not overwritten: it is evidence, and the write is refused.
          refused.set(b, err);
          continue;
        }
        const gone: string[] = [];
        if (w.mode === 'replace') {
          const kept = new Set(w.values.map((v) => v.category));
          for (const c of fields.keys()) if (!kept.has(c)) gone.push(c);
        } else for (const c of w.removed) if (fields.has(c)) gone.push(c);
        for (const c of gone) fields.delete(c);
        gone.sort();
        removedBy.set(b, gone);
        let sealed: Buffer | undefined;
        for (const v of w.values) {
          fields.set(v.category, { value: v.value, createdAt: fields.get(v.category)?.createdAt ?? at, updatedAt: at });
          if (v.blindIndex !== null) {
            indexes.push(w.subjectId, v.category, w.appId, v.blindIndex);
            indexCount++;
          }
        }
        if (fields.size > 0) {
          try {
            sealed = sealRecord(ctx, w.key.suite, w.key.dek, w.appId, w.subjectId, fields);
          } catch (err) {
            // The key was shredded between loading and use (an erasure): refused, the caller retries once.
            refused.set(b, err);
            continue;
          }
        }
        if (gone.length > 0) {
          await trx.deleteFrom('vault_index').where('subject_id', '=', w.subjectId).where('category', 'in', gone).execute();
        }
        if (sealed === undefined) {
          if (envelope !== undefined) await trx.deleteFrom('vault_records').where('subject_id', '=', w.subjectId).execute();
        } else {
          records.push(w.subjectId, w.appId, sealed, manifestOf(fields), w.key.dek.version, at, at);
          recordCount++;
        }
        written.push(b);
      }
      accepted = written;
      if (recordCount > 0) await upsertRecords.run(trx, records, recordCount);
      if (indexCount > 0) await upsertIndex.run(trx, indexes, indexCount);
      if (accepted.length === 0) return new Map<Waiting, WriteAck>();
      // The event names what the write removed as it happened in this transaction: a replace removes
      // every held category it leaves out, a merge only the held ones it gives as null.
      const events = accepted.map((b) => withRemoved(b.w.audit, removedBy.get(b) ?? []));
      const { firstSeq } = await ctx.audit.appendMany(trx, events);
      return new Map(accepted.map((b, i) => [b, { at, auditSeq: firstSeq + i, removed: removedBy.get(b) ?? [] }]));
    });
    let removed = false;
    for (const [b, ack] of acks) {
      if (!b.w.key.stored) options.onCommitted?.(b.w.key);
      if (ack.removed.length > 0) removed = true;
      b.resolve(ack);
    }
    // Values removed by a write leave the SQLite log too (store/database.ts scrubLog).
    if (removed) void ctx.database.scrubLog();
    return refused;
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      // Take up to maxBatch writes, at most one per subject; the rest keep their order for the next batch.
      const batch: Waiting[] = [];
      const rest: Waiting[] = [];
      const seen = new Set<string>();
      for (const q of queue) {
        if (batch.length < maxBatch && !seen.has(q.w.subjectId)) {
          seen.add(q.w.subjectId);
          batch.push(q);
        } else rest.push(q);
      }
      queue = rest;
      try {
        const refused = await writeBatch(batch);
        for (const [b, err] of refused) b.reject(err);
      } catch (err) {
        if (batch.length === 1) {
          batch[0]?.reject(err);
          continue;
        }
        // Isolate the write that failed the batch: each alone.
        for (const b of batch) {
          try {
            const refused = await writeBatch([b]);
            const own = refused.get(b);
            if (own !== undefined) b.reject(own);
          } catch (e) {
            b.reject(e);
          }
        }
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
    setImmediate(start);
  };
  const flush = async (): Promise<void> => {
    while (running !== null || queue.length > 0) {
      if (running === null) start();
      await running;
    }
  };

  return {
    write(w) {
      if (closed) return Promise.reject(new PipaError('unavailable', 'the vault is shutting down'));
      if (queue.length >= maxQueue) {
        return Promise.reject(new PipaError('unavailable', `more than ${maxQueue} vault writes are waiting; retry shortly`));
      }
      return new Promise<WriteAck>((resolve, reject) => {
        queue.push({ w, resolve, reject });
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
}

/** The write's audit event with `removed` (categories and details) as the transaction found it. */
function withRemoved(event: AuditEventInput, removed: readonly string[]): AuditEventInput {
  const given = event.details;
  const details: { [key: string]: JsonValue } =
    given !== null && given !== undefined && typeof given === 'object' && !Array.isArray(given) ? { ...given } : {};
  if (removed.length > 0) details.removed = [...removed];
  const categories = [...new Set([...(event.categories ?? []), ...removed])];
  return { ...event, categories, details };
}

export function unknownSubject(appId: string, subjectId: string): PipaError {
  return new PipaError('unknown_subject', `unknown subject ${subjectId} of app ${appId}`, [
    { path: '$.params.subject', message: `app ${appId} has no subject ${subjectId}` },
  ]);
}
