/**
 * The vault, in process, against plaintext baselines measured in the same run, on the same store
 * with the same durability (SQLite file in WAL mode, `durability=process`; PostgreSQL with its
 * default `synchronous_commit=on` when PIPA_TEST_POSTGRES_URL is set):
 *
 * - write: a 10-field profile (checked, sealed as one record under a new per-subject data key wrapped
 *   by the master key, phone and e-mail blind-indexed, audited, acknowledged once committed) vs
 *   inserting the same 10 values in plaintext into a 10-column table, one acknowledged row per insert.
 *   Both run with the same number of callers in flight. Target ratio >= 0.20. Also printed, without a
 *   target: the same plaintext inserts group-committed as the vault's writes are (one transaction per
 *   batch of callers), the store's raw batched insert rate; a write's own work alone (values checked,
 *   blind indexes, a data key generated and wrapped, the record sealed, the audit pseudonym, in a
 *   loop) beside the per-write cost of the write path; and, on SQLite, the pages a vault write adds
 *   to the WAL, by b-tree.
 * - masked read: reading a subject's 10 fields masked (the record decrypted, masked per category, audited) vs
 *   selecting the same row of the plaintext table, random subjects, same callers. Target >= 0.40.
 *   Also printed: a first read's own work alone (each stored record decrypted and parsed, its fields
 *   masked, in a loop) beside the per-read cost of the first read, the repeated read and the select;
 *   and, without a target, first reads of subjects whose data key is not cached either (unwrapped by
 *   the master key on each read), as most masked reads of the service scenario are.
 * - erasure: median time to erase one subject (crypto-shred + delete + mark erased + audit) with
 *   100,000 subjects stored vs with 1,000. Target ratio <= 1.5.
 *
 * Every figure is a ratio against a baseline of the same run: the machine is noisy. The write and read
 * figures run in rounds (baseline, then the row, in each) and take the median of the per-round ratios.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeclarationInput, validateDeclaration } from '@pipa/policy';
import BetterSqlite3 from 'better-sqlite3';
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { DataKey } from '../../packages/server/dist/crypto/data-key.js';
import { openServiceContext, type ServiceContext } from '../../packages/server/dist/service/context.js';
import { publishForTest } from '../../packages/server/dist/service/test-context.js';
import type { Schema } from '../../packages/server/dist/store/schema.js';
import { withTransaction } from '../../packages/server/dist/store/transaction.js';
import { createSubjectService, newSubjectId } from '../../packages/server/dist/subjects/index.js';
import {
  checkValue,
  createVaultService,
  maskFor,
  type VaultActor,
  type VaultService,
  vaultCategories,
} from '../../packages/server/dist/vault/index.js';
import { openRecord, sealRecord } from '../../packages/server/dist/vault/record.js';
import { readStatements } from '../../packages/server/dist/vault/service.js';
import { type Figure, median, pairedRatioFigure, round, type Scenario } from '../lib.js';
import { benchDeclaration, profile } from '../profile.js';

const APP = 'bench-vault';
const MASTER_KEY = randomBytes(32).toString('base64');
const ACTOR: VaultActor = { id: 'key_bench', scopes: new Set(['vault:write', 'vault:read']) };

const DECLARATION: DeclarationInput = benchDeclaration(APP);

const COLUMNS = Object.keys(profile(0));

interface Store {
  label: string;
  /** SQLite: the database file. */
  file?: string;
  ctx: ServiceContext;
  vault: VaultService;
  dispose: () => Promise<void>;
}

async function openStore(kind: 'sqlite' | 'postgres', pgUrl: string | undefined): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-bench-vault-'));
  let dropSchema: (() => Promise<void>) | undefined;
  let db: string | { url: string; schema: string; poolSize: number };
  if (kind === 'sqlite') db = `sqlite:${join(dir, 'pipa.db')}`;
  else {
    const schema = `pipa_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema "${schema}"`);
    await admin.end();
    db = { url: pgUrl as string, schema, poolSize: 10 };
    dropSchema = async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    };
  }
  const ctx = await openServiceContext({ db, dataDir: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
  await publishForTest(ctx, validateDeclaration(DECLARATION, 'bench declaration'));
  const subjects = createSubjectService(ctx);
  const vault = createVaultService(ctx, { subjects });
  await sql`create table bench_plain (id text primary key, ${sql.join(COLUMNS.map((_, i) => sql.raw(`c${i} text not null`)))})`.execute(
    ctx.db,
  );
  return {
    label: kind === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    ...(kind === 'sqlite' ? { file: join(dir, 'pipa.db') } : {}),
    ctx,
    vault,
    dispose: async () => {
      await ctx.close();
      await dropSchema?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The baseline's select: the 10 plaintext values of one row of `bench_plain`, by id (the one parameter). */
function plainSelectQuery(db: Kysely<Schema>): CompiledQuery {
  return db
    .selectFrom('bench_plain' as never)
    .select(COLUMNS.map((_, i) => `c${i}`) as never)
    .where('id' as never, '=', 'x' as never)
    .compile();
}

/** Insert `n` subjects directly (fixture set-up, not measured). */
async function makeSubjects(db: Kysely<Schema>, n: number, at: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => newSubjectId());
  for (let i = 0; i < n; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    await withTransaction(db, (trx) =>
      trx
        .insertInto('subjects')
        .values(
          chunk.map((id) => ({
            id,
            app_id: APP,
            kind: 'account' as const,
            external_id: null,
            linked_to: null,
            status: 'active' as const,
            birth_date: null,
            created_at: at,
            updated_at: at,
            frozen_at: null,
            erased_at: null,
          })),
        )
        .execute(),
    );
  }
  return ids;
}

/** Run `total` calls of `fn(i)` with `concurrency` in flight; returns calls per second. */
/**
 * How a rate's time is measured. `wall`: elapsed time (PostgreSQL, where the database server does part
 * of the work in other processes). `cpu`: CPU time of this process, user + system (SQLite, where all
 * the work, the database's included, happens in this process): on a shared, loaded machine it is not
 * inflated by other processes taking the CPU, and it is the same measure for the vault and its baseline.
 */
type Clock = 'wall' | 'cpu';
let clock: Clock = 'wall';
const now = (): number => {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function rate(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await fn(i);
      }
    }),
  );
  return total / ((now() - t0) / 1000);
}

/** Per round (row and baseline measured one after the other in each), except the informational ones. */
interface WriteReadFigures {
  writes: number[];
  inserts: number[];
  /** The plaintext inserts group-committed (informational). */
  grouped: number[];
  update: number;
  colds: number[];
  /** First reads with the subject's data key not cached either (unwrapped by the master key). */
  keyless: number[];
  warms: number[];
  selects: number[];
  eachRead: number;
  /** SQLite: pages written to the log per write, by b-tree. */
  walPages: { total: number; byTree: [string, number][] } | undefined;
  /** A write's own work measured alone, per write. */
  own: WriteParts;
  /** A first read's parts measured alone, per read. */
  firstRead: FirstReadParts;
}

async function measureWriteRead(store: Store, quick: boolean, log: (l: string) => void): Promise<WriteReadFigures> {
  const { ctx, vault } = store;
  // 5 rounds of 1,800: the 9,000 subjects read fit the masked-value cache (10,000), which the
  // repeated-read figure is about; 5 rounds so that one disturbed round does not make the median.
  const rounds = quick ? 1 : 5;
  const perRound = quick ? 2000 : 1800;
  const concurrency = 64;
  const WAL_SAMPLE = 1000;
  const subjects = await makeSubjects(ctx.db, rounds * perRound + 500 + WAL_SAMPLE, ctx.clock());
  const insert = ctx.db
    .insertInto('bench_plain' as never)
    .values(Object.fromEntries([['id', 'x'], ...COLUMNS.map((_, i) => [`c${i}`, 'x'])]) as never)
    .compile();
  const select = plainSelectQuery(ctx.db);
  // The baselines run through the same store (Kysely, the same connection or pool), compiled once.
  const plainInsert = async (id: string, i: number) => {
    const p = profile(i);
    await ctx.db.executeQuery({ ...insert, parameters: [id, ...COLUMNS.map((c) => p[c])] });
  };
  // The same inserts group-committed as the vault's writes are (every caller's row queued, one
  // transaction per batch, each caller answered after its batch commits): same durability per
  // acknowledged row. Informational: what a write costs against the store's raw batched insert rate.
  let queued: { id: string; i: number; done: () => void; fail: (e: unknown) => void }[] = [];
  let flushing = false;
  // Scheduled by the first caller of a batch (which sets `flushing`), runs until the queue is empty.
  const flushPlain = async () => {
    while (queued.length > 0) {
      const batch = queued;
      queued = [];
      try {
        await withTransaction(ctx.db, async (trx) => {
          for (const q of batch) {
            const p = profile(q.i);
            await trx.executeQuery({ ...insert, parameters: [q.id, ...COLUMNS.map((c) => p[c])] });
          }
        });
        for (const q of batch) q.done();
      } catch (e) {
        for (const q of batch) q.fail(e);
      }
    }
    flushing = false;
  };
  const plainGrouped = (id: string, i: number) =>
    new Promise<void>((done, fail) => {
      queued.push({ id, i, done, fail });
      if (!flushing) {
        flushing = true;
        setImmediate(() => void flushPlain());
      }
    });
  const plainSelect = async (id: string) => {
    const r = await ctx.db.executeQuery<Record<string, string>>({ ...select, parameters: [id] });
    if (r.rows.length !== 1) throw new Error('plaintext row missing');
  };
  const readAll = async (v: VaultService, id: string) => {
    const rec = await v.read(APP, id, ACTOR);
    if (Object.keys(rec.fields).length !== 10) throw new Error('record incomplete');
  };
  // Warm-up of both paths (statement caches, JIT), on subjects not used below.
  const warm = subjects.slice(rounds * perRound, rounds * perRound + 500);
  await rate(warm.length, concurrency, (i) => plainInsert(`w${i}`, i));
  await rate(warm.length, concurrency, (i) => plainGrouped(`gw${i}`, i));
  await rate(warm.length, concurrency, (i) => vault.put(APP, warm[i] as string, profile(i), ACTOR));
  await rate(warm.length, concurrency, (i) => readAll(vault, warm[i] as string));
  await rate(warm.length, concurrency, (i) => plainSelect(`w${i}`));

  const writes: number[] = [];
  const inserts: number[] = [];
  const grouped: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const base = r * perRound;
    inserts.push(await rate(perRound, concurrency, (i) => plainInsert(subjects[base + i] as string, base + i)));
    grouped.push(await rate(perRound, concurrency, (i) => plainGrouped(`g${subjects[base + i]}`, base + i)));
    writes.push(await rate(perRound, concurrency, (i) => vault.put(APP, subjects[base + i] as string, profile(base + i), ACTOR)));
  }
  const stored = rounds * perRound;
  const walPages = store.file === undefined ? undefined : await walPagesPerWrite(store, subjects.slice(-WAL_SAMPLE), concurrency);
  // Updates of existing subjects (data keys cached): the common case after sign-up. Informational.
  const update = await rate(perRound, concurrency, (i) =>
    vault.put(APP, subjects[i] as string, { 'contact.phone': `15${String(i).padStart(9, '0')}` }, ACTOR),
  );

  // Masked reads. First read of each subject: a vault whose masked-value cache is empty decrypts and
  // masks every field (data keys cached, as after the writes). Repeated reads: the cache holds the
  // masked values of exactly the stored ciphertexts, so nothing is decrypted.
  const pick = (i: number, r: number) => subjects[(i * 7919 + r * 104_729) % stored] as string;
  const selects: number[] = [];
  const colds: number[] = [];
  const warms: number[] = [];
  const keylessRates: number[] = [];
  const subjectsService = createSubjectService(ctx);
  for (let r = 0; r < rounds; r++) {
    const fresh = createVaultService(ctx, { subjects: subjectsService });
    selects.push(await rate(stored, concurrency, (i) => plainSelect(pick(i, r))));
    colds.push(await rate(stored, concurrency, (i) => readAll(fresh, pick(i, r))));
    warms.push(await rate(stored, concurrency, (i) => readAll(fresh, pick(i, r + 1))));
    // First reads whose data key is not cached either (the key cache emptied, its keys destroyed):
    // each read also unwraps the key with the master key, as most reads of the service scenario do
    // (they spread over more subjects than the caches hold). The reads cache every key again.
    ctx.dataKeys.clear();
    const keyless = createVaultService(ctx, { subjects: subjectsService });
    keylessRates.push(await rate(stored, concurrency, (i) => readAll(keyless, pick(i, r + 2))));
  }
  const parts = await firstReadParts(ctx, subjects.slice(0, stored));
  const own = await writeParts(ctx, perRound);
  // Masked reads each audited as their own event, durable before the read returns (option `each`). Informational.
  const each = createVaultService(ctx, { subjects: subjectsService }, { maskedReadAudit: 'each' });
  await rate(stored, concurrency, (i) => readAll(each, pick(i, 0)));
  const eachRead = await rate(stored, concurrency, (i) => readAll(each, pick(i, 1)));
  await vault.flush();
  const fmt = (xs: number[]) => xs.map((x) => round(x, 0)).join('/');
  log(
    `${store.label} (per ${clock === 'cpu' ? 'CPU-second of this process' : 'second'}): write ${fmt(writes)} /s vs plaintext insert ${fmt(inserts)} /s (group-committed: ${fmt(grouped)} /s); update ${round(update, 0)} /s; ` +
      `masked read first ${fmt(colds)} /s, repeated ${fmt(warms)} /s, repeated with an audit event each ${round(eachRead, 0)} /s; plaintext select ${fmt(selects)} /s`,
  );
  log(
    `${store.label}: the first read's own work alone, in a loop over the ${parts.n.toLocaleString('en')} stored records (${clock === 'cpu' ? 'CPU time' : 'time'} per record): ` +
      `${firstReadPartsText(parts)}; ` +
      `in the read path, first read ${round(usPerCall(colds), 1)} µs (its data key not cached either: ${round(usPerCall(keylessRates), 1)} µs) vs repeated ${round(usPerCall(warms), 1)} µs vs plaintext select ${round(usPerCall(selects), 1)} µs`,
  );
  log(
    `${store.label}: a write's own work alone, in a loop over ${own.n.toLocaleString('en')} profiles (${clock === 'cpu' ? 'CPU time' : 'time'} per write): ` +
      `10 values checked ${round(own.checkUs, 1)} µs, ${own.indexes} blind indexes ${round(own.indexUs, 1)} µs, a data key generated and wrapped ${round(own.keyUs, 1)} µs, ` +
      `the record sealed ${round(own.sealUs, 1)} µs, the audit pseudonym ${round(own.pseudonymUs, 1)} µs; in all ${round(own.totalUs, 1)} µs, ` +
      `against ${round(usPerCall(writes), 1)} µs per write in the write path (the rest: its statements, commit and the code around them) and ${round(usPerCall(inserts), 1)} µs per plaintext insert`,
  );
  if (walPages !== undefined) {
    log(
      `${store.label}: pages written to the WAL per vault write (${WAL_SAMPLE.toLocaleString('en')} writes, ${concurrency} in flight), by b-tree: ` +
        walPages.byTree.map(([name, n]) => `${name} ${round(n, 2)}`).join(', ') +
        `; in all ${round(walPages.total, 2)} (a plaintext insert: about 1)`,
    );
  }
  return { writes, inserts, grouped, update, colds, keyless: keylessRates, warms, selects, eachRead, walPages, own, firstRead: parts };
}

/** µs per call at the median rate (calls per second; CPU time on SQLite, elapsed time on PostgreSQL). */
const usPerCall = (rates: number[]): number => 1e6 / median(rates);

/** What a first read costs, part by part, each measured alone (CPU or elapsed time per record, µs). */
interface FirstReadParts {
  n: number;
  /** The vault's read statement (subject, record, linked devices; data key cached). */
  statementUs: number;
  /** The baseline's plaintext select of the same subject's row. */
  selectUs: number;
  openUs: number;
  maskUs: number;
}

/**
 * What a first read does, measured alone: the vault's own read statement (the one a read runs when
 * the subject's data key is cached: subject, record and linked devices) beside the baseline's
 * plaintext select of the same row, then each stored record opened (one decryption, the JSON parsed)
 * and its 10 fields masked by the rules of the declaration, in tight loops over records whose data
 * keys are cached. Set against the read-path figures it shows how much of a first read is this work
 * and how much the rest of the path around it; and statement + open + mask is a floor under a first
 * read's cost whatever the code around them does.
 */
async function firstReadParts(ctx: ServiceContext, ids: readonly string[]): Promise<FirstReadParts> {
  const categories = vaultCategories(ctx.policies.require(APP));
  const rows: { id: string; envelope: Buffer; dek: DataKey }[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const found = await ctx.db.selectFrom('vault_records').select(['subject_id', 'envelope']).where('subject_id', 'in', chunk).execute();
    for (const r of found) {
      const dek = ctx.dataKeys.get(APP, r.subject_id);
      if (dek !== undefined) rows.push({ id: r.subject_id, envelope: r.envelope, dek });
    }
  }
  if (rows.length === 0) throw new Error('first-read parts: no record with a cached data key');
  // The statements in the same random order as the read rounds, each over every record.
  const order = rows.map((_, i) => rows[(i * 7919) % rows.length] as (typeof rows)[number]);
  const { cached: statement } = readStatements(ctx.db);
  const select = plainSelectQuery(ctx.db);
  let statementMs = 0;
  let selectMs = 0;
  let found = 0;
  for (let pass = 0; pass < 2; pass++) {
    // Alternately, so that both see the same machine; the first pass warms both up and is not counted.
    const t0 = now();
    for (const r of order) found += (await ctx.db.executeQuery(statement.bind({ subject: r.id, app: APP }))).rows.length;
    const t1 = now();
    for (const r of order) found += (await ctx.db.executeQuery({ ...select, parameters: [r.id] })).rows.length;
    if (pass > 0) {
      statementMs += t1 - t0;
      selectMs += now() - t1;
    }
  }
  if (found !== 4 * order.length) throw new Error('first-read parts: a statement did not find its row');
  // In chunks of 100 (as a read, nothing is kept for long): the chunk's records opened, then masked.
  let openMs = 0;
  let maskMs = 0;
  let chars = 0;
  for (let k = 0; k < rows.length; k += 100) {
    const t0 = now();
    const opened = rows.slice(k, k + 100).map((r) => openRecord(ctx, r.dek, APP, r.id, r.envelope));
    const t1 = now();
    for (const record of opened) {
      for (const [category, field] of record) {
        const declared = categories.get(category);
        if (declared === undefined) throw new Error(`first-read parts: category ${category} is not declared`);
        chars += maskFor(declared.rule.mask, field.value).length;
      }
    }
    openMs += t1 - t0;
    maskMs += now() - t1;
  }
  if (chars === 0) throw new Error('first-read parts: nothing masked');
  const us = (ms: number) => (ms * 1000) / rows.length;
  return { n: rows.length, statementUs: us(statementMs), selectUs: us(selectMs), openUs: us(openMs), maskUs: us(maskMs) };
}

/**
 * A first read's parts alone and the floor they put under it: the ratio to the select a first read
 * could reach with nothing else around them.
 */
function firstReadPartsText(p: FirstReadParts): string {
  const floorUs = p.statementUs + p.openUs + p.maskUs;
  return (
    `the read statement ${round(p.statementUs, 1)} µs (the plaintext select of the row ${round(p.selectUs, 1)} µs), ` +
    `decrypt and parse ${round(p.openUs, 1)} µs, mask 10 fields ${round(p.maskUs, 1)} µs; together ${round(floorUs, 1)} µs, ` +
    `a ratio of at most ${round(p.selectUs / floorUs, 3)} even with nothing around them`
  );
}

interface WriteParts {
  n: number;
  /** Blind indexes per profile. */
  indexes: number;
  checkUs: number;
  indexUs: number;
  keyUs: number;
  sealUs: number;
  pseudonymUs: number;
  totalUs: number;
}

/**
 * What a write to a new subject does besides the database, measured alone: its 10 values checked
 * against their categories' value kinds, the blind indexes computed, a data key generated and
 * wrapped by the master key, the record sealed, the subject's audit pseudonym. In chunks of 100
 * profiles, each step over the chunk in turn (subject ids made up: nothing is stored). Set against the
 * write path's figure it shows how much of a write is this work and how much its statements, its
 * commit and the code around them.
 */
async function writeParts(ctx: ServiceContext, n: number): Promise<WriteParts> {
  const categories = vaultCategories(ctx.policies.require(APP));
  const at = ctx.clock();
  const total = { check: 0, index: 0, key: 0, seal: 0, pseudonym: 0 };
  let indexes = 0;
  let bytes = 0;
  for (let k = 0; k < n; k += 100) {
    const chunk = Array.from({ length: Math.min(100, n - k) }, (_, i) => ({ subject: newSubjectId(), values: profile(1_000_000 + k + i) }));
    let t = now();
    for (const { values } of chunk) {
      for (const [category, value] of Object.entries(values)) {
        const declared = categories.get(category);
        if (declared === undefined) throw new Error(`write parts: category ${category} is not declared`);
        if (checkValue(declared.rule.value, value, at) !== undefined) throw new Error(`write parts: ${category} refused`);
      }
    }
    let t1 = now();
    total.check += t1 - t;
    t = t1;
    for (const { values } of chunk) {
      for (const [category, value] of Object.entries(values)) {
        const kind = categories.get(category)?.rule.index;
        if (kind === undefined) continue;
        bytes += ctx.blindIndex.index(APP, category, kind, value).length;
        indexes++;
      }
    }
    t1 = now();
    total.index += t1 - t;
    t = t1;
    const keys: DataKey[] = [];
    for (const { subject } of chunk) keys.push((await ctx.keyring.generateDataKey({ app: APP, subject })).dataKey);
    t1 = now();
    total.key += t1 - t;
    t = t1;
    chunk.forEach(({ subject, values }, i) => {
      const fields = new Map(Object.entries(values).map(([c, value]) => [c, { value, createdAt: at, updatedAt: at }]));
      bytes += sealRecord(ctx, ctx.suite, keys[i] as DataKey, APP, subject, fields).length;
    });
    t1 = now();
    total.seal += t1 - t;
    t = t1;
    for (const { subject } of chunk) bytes += ctx.pseudonyms.audit(subject).length;
    total.pseudonym += now() - t;
  }
  if (bytes === 0 || indexes === 0) throw new Error('write parts: nothing computed');
  const us = (ms: number) => (ms * 1000) / n;
  const parts = {
    checkUs: us(total.check),
    indexUs: us(total.index),
    keyUs: us(total.key),
    sealUs: us(total.seal),
    pseudonymUs: us(total.pseudonym),
  };
  return { n, indexes: indexes / n, ...parts, totalUs: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/**
 * SQLite: how many pages a vault write adds to the write-ahead log, and which b-trees they belong to
 * (the frames' page numbers mapped through the dbstat table). Each page is two writes to the log file
 * at commit, which is most of a commit's cost; a plaintext insert adds about one.
 *
 * The log must hold exactly the sample's frames. It is emptied first (a TRUNCATE checkpoint, retried
 * while the background checkpointer holds the lock), and a second connection keeps a read
 * transaction open on the empty log during the sample: while it does, no checkpoint copies a frame
 * back, so the writer never starts the log again from its beginning (which would overwrite the
 * sample's first frames). Only frames carrying the log header's salts are counted.
 */
async function walPagesPerWrite(store: Store, ids: string[], concurrency: number): Promise<{ total: number; byTree: [string, number][] }> {
  const { ctx, vault } = store;
  const file = store.file as string;
  await vault.flush();
  for (let attempt = 0; ; attempt++) {
    const r = (await sql<{ busy: number; log: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(ctx.db)).rows[0];
    if (r !== undefined && r.busy === 0 && r.log <= 0) break;
    if (attempt === 50) throw new Error('WAL sample: the log could not be emptied (checkpoint busy)');
    await new Promise((done) => setTimeout(done, 20));
  }
  const pin = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  let frames = 0;
  const counts = new Map<string, number>();
  try {
    pin.exec('begin');
    pin.prepare('select count(*) from sqlite_schema').get();
    await rate(ids.length, concurrency, (i) => vault.put(APP, ids[i] as string, profile(900_000 + i), ACTOR));
    await vault.flush();
    const wal = readFileSync(`${file}-wal`);
    const pageSize = wal.readUInt32BE(8);
    const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
    const stat = (await sql<{ name: string; pageno: number }>`select name, pageno from dbstat`.execute(ctx.db)).rows;
    const owner = new Map(stat.map((r) => [r.pageno, r.name]));
    for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
      if (wal.readUInt32BE(off + 8) !== salts[0] || wal.readUInt32BE(off + 12) !== salts[1]) break;
      const name = owner.get(wal.readUInt32BE(off)) ?? '(freed)';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      frames++;
    }
  } finally {
    pin.close();
  }
  if (frames === 0) throw new Error('WAL sample: no frame of the sample found in the log');
  const byTree = [...counts]
    .map(([name, n]): [string, number] => [name, n / ids.length])
    .filter(([, n]) => n >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  return { total: frames / ids.length, byTree };
}

/** Fill a store with `population` subjects holding 10-field profiles, through the vault itself. */
async function fill(store: Store, population: number, log: (l: string) => void): Promise<string[]> {
  const { ctx, vault } = store;
  const t0 = performance.now();
  const ids = await makeSubjects(ctx.db, population, ctx.clock());
  await rate(population, 256, (i) => vault.put(APP, ids[i] as string, profile(i), ACTOR));
  await vault.flush();
  log(`${store.label}: ${population.toLocaleString('en')} subjects stored in ${round((performance.now() - t0) / 1000, 1)} s`);
  return ids;
}

/**
 * Median time (ms) to erase one subject in each store, erasing alternately from the small and the
 * large store so that both see the same machine conditions.
 */
async function measureErasure(
  small: Store,
  smallIds: string[],
  large: Store,
  largeIds: string[],
  samples: number,
): Promise<{ small: number; large: number }> {
  const pickFrom = (ids: string[]) =>
    Array.from({ length: samples }, (_, k) => ids[Math.floor(((k + 0.5) * ids.length) / samples)] as string);
  const victims = { small: pickFrom(smallIds), large: pickFrom(largeIds) };
  const times = { small: [] as number[], large: [] as number[] };
  for (let k = 0; k < samples; k++) {
    for (const which of k % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const)) {
      const store = which === 'small' ? small : large;
      const t = now();
      await store.vault.erase(APP, victims[which][k] as string, { confirm: true }, ACTOR);
      // The first five of each are warm-up.
      if (k >= 5) times[which].push(now() - t);
    }
  }
  return { small: median(times.small), large: median(times.large) };
}

/** The first-read row's note: its parts measured alone, and the ratio they leave room for. */
function withFirstReadNote(f: Figure, p: FirstReadParts): Figure {
  const parts = `its parts alone: ${firstReadPartsText(p)}`;
  return { ...f, note: f.note === undefined ? parts : `${f.note}; ${parts}` };
}

/** The write row's note: what the write's own work costs alone, and (SQLite) the pages it adds to the WAL. */
function withWriteNote(f: Figure, m: WriteReadFigures): Figure {
  const own =
    `a write's own work alone (values checked, ${m.own.indexes} blind indexes, a data key generated and wrapped, the record sealed, ` +
    `the audit pseudonym) ${round(m.own.totalUs, 1)} µs of the ${round(usPerCall(m.writes), 1)} µs per write; the rest is its statements, its commit and the code around them`;
  const wal = m.walPages;
  const pages =
    wal === undefined
      ? ''
      : `; ${round(wal.total, 2)} pages to the WAL per write (${wal.byTree
          .slice(0, 3)
          .map(([name, n]) => `${name} ${round(n, 2)}`)
          .join(', ')}, …)`;
  return { ...f, note: `${f.note}; ${own}${pages}` };
}

/**
 * First reads whose data key is not cached either (informational): what most masked reads of the
 * service scenario cost the vault, since they spread over more subjects than the caches hold.
 */
function keylessReadFigure(label: string, m: WriteReadFigures, unit: string): Figure {
  const f = pairedRatioFigure(
    `masked read, 10 fields, first read with the data key not cached either (unwrapped by the master key), in process, ${label} (vs plaintext select of the same row; informational)`,
    m.keyless,
    unit,
    m.selects,
    0,
  );
  return {
    ...f,
    target:
      'none (informational: most masked reads of the service scenario are such reads; they spread over more subjects than the caches hold)',
    ok: true,
    note: `${f.note}; ${round(usPerCall(m.keyless), 1)} µs per read, against ${round(usPerCall(m.colds), 1)} µs with the key cached and ${round(usPerCall(m.selects), 1)} µs per plaintext select`,
  };
}

export const vaultScenario: Scenario = {
  name: 'vault',
  description: 'vault write / masked read vs plaintext on the same store, erasure at 100k vs 1k subjects',
  async run({ quick, log }) {
    const figures: Figure[] = [];
    const pgUrl = process.env.PIPA_TEST_POSTGRES_URL;
    const kinds: ('sqlite' | 'postgres')[] = pgUrl !== undefined && pgUrl !== '' ? ['sqlite', 'postgres'] : ['sqlite'];
    if (kinds.length === 1) log('PIPA_TEST_POSTGRES_URL not set: PostgreSQL skipped');
    for (const kind of kinds) {
      const store = await openStore(kind, pgUrl);
      clock = kind === 'sqlite' ? 'cpu' : 'wall';
      try {
        const m = await measureWriteRead(store, quick, log);
        const per = (what: string) => (clock === 'cpu' ? `${what} per CPU-second` : `${what}/s`);
        figures.push(
          withWriteNote(
            pairedRatioFigure(
              `vault write, 10-field profile, in process, ${store.label} (vs plaintext insert of the same 10 values)`,
              m.writes,
              per('writes'),
              m.inserts,
              0.2,
            ),
            m,
          ),
          {
            ...pairedRatioFigure(
              `vault write, in process, ${store.label}, vs plaintext inserts group-committed like the vault's writes (informational)`,
              m.writes,
              per('writes'),
              m.grouped,
              0,
            ),
            target: 'none (informational: the plaintext insert above commits each row, as one insert alone must)',
            ok: true,
          },
          withFirstReadNote(
            pairedRatioFigure(
              `masked read, 10 fields, first read of each subject (decrypt + mask), in process, ${store.label} (vs plaintext select of the same row)`,
              m.colds,
              per('reads'),
              m.selects,
              0.4,
            ),
            m.firstRead,
          ),
          pairedRatioFigure(
            `masked read, 10 fields, repeated (masked values cached per ciphertext), in process, ${store.label} (vs plaintext select of the same row)`,
            m.warms,
            per('reads'),
            m.selects,
            0.4,
          ),
          keylessReadFigure(store.label, m, per('reads')),
        );
      } finally {
        clock = 'wall';
        await store.dispose();
      }
    }
    for (const kind of kinds) {
      const small = await openStore(kind, pgUrl);
      const large = await openStore(kind, pgUrl);
      try {
        const samples = quick ? 45 : 205;
        const bigN = quick ? 20_000 : 100_000;
        const smallIds = await fill(small, 1000, log);
        const largeIds = await fill(large, bigN, log);
        if (kind === 'sqlite') {
          // The log the fixtures left is copied back now, not by the background checkpointer during
          // the measurement: the CPU clock is the process's, which counts that worker thread too.
          for (const s of [small, large]) await sql`pragma wal_checkpoint(TRUNCATE)`.execute(s.ctx.db);
        }
        clock = kind === 'sqlite' ? 'cpu' : 'wall';
        const { small: tSmall, large: tLarge } = await measureErasure(small, smallIds, large, largeIds, samples);
        clock = 'wall';
        const ratio = tLarge / tSmall;
        const unit = kind === 'sqlite' ? 'ms of CPU' : 'ms';
        log(
          `${small.label}: erasure ${round(tSmall, 3)} ${unit} at 1,000 subjects, ${round(tLarge, 3)} ${unit} at ${bigN.toLocaleString('en')}`,
        );
        figures.push({
          name: `erasure of one subject (crypto-shred, delete, mark erased, audit), ${small.label}: ${bigN.toLocaleString('en')} subjects stored vs 1,000`,
          value: round(tLarge, 3),
          unit,
          baseline: round(tSmall, 3),
          ratio: round(ratio, 3),
          target: 'ratio <= 1.5',
          ok: ratio <= 1.5,
        });
      } finally {
        await small.dispose();
        await large.dispose();
      }
    }
    return figures;
  },
};
