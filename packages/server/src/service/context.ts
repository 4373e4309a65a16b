/**
 * The service context: everything a domain service (policies, vault, consent, decisions, rights)
 * needs, opened once per process. `openServiceContext` checks the master key configuration, connects
 * the database, runs the migrations, opens the master key, unwraps (or, for a new installation,
 * creates) the system keys, and builds the audit log, the policy registry and the (empty) consent
 * projection.
 *
 * A new installation (no system keys in the database) is set up only when `setup` is not false
 * (`pipa serve`, `pipa start`): then, and only then, a missing key file is created. An existing
 * installation is never given a new key file: without its master key the open is refused
 * (`master_key_missing`), and a configured master key that unwraps none of its system keys is
 * another installation's key (`master_key_mismatch`), told apart from tampering (some unwrap, some
 * do not: `authentication_failed`). Domain services take the context and
 * keep no global state of their own, so a test opens a context on a throw-away database and gets a
 * complete service.
 *
 * Cross-node cache invalidation: services that change something another `pipa serve` process caches
 * call `ctx.database.notify(channel, payload, trx)` inside their transaction; the channels are listed in
 * `CHANNELS`. On SQLite (one process) the notification is local.
 */
import { resolve } from 'node:path';
import { type Declaration, validateDeclaration } from '@pipa/policy';
import type { Kysely } from 'kysely';
import { type AuditBatcher, type AuditLog, createAuditLog } from '../audit/audit-log.js';
import { type CheckpointSigner, createCheckpointSigner } from '../audit/checkpoint.js';
import { type CompiledPolicy, compilePolicy } from '../consent/compile.js';
import { type ConsentProjection, createConsentProjection } from '../consent/projection.js';
import { type BlindIndex, createBlindIndex } from '../crypto/blind-index.js';
import { createDataKeyCache, type DataKeyCache } from '../crypto/data-key.js';
import { CryptoError, isCryptoError } from '../crypto/errors.js';
import { createFieldCipher, type FieldCipher } from '../crypto/field-cipher.js';
import { keyFilePath } from '../crypto/key-file.js';
import { createKeyring, type Keyring, SYSTEM_KEY_PURPOSES, type SystemKeys } from '../crypto/keyring.js';
import { ENV_MASTER_KEY, type MasterKeyProvider } from '../crypto/master-key.js';
import { type MasterKeyConfig, prepareMasterKeyProvider } from '../crypto/provider.js';
import { createPseudonymizer, type Pseudonymizer } from '../crypto/pseudonym.js';
import { isSuiteName, type SuiteName } from '../crypto/suites.js';
import { PipaError } from '../errors.js';
import { makeDirectories } from '../fs.js';
import type { DatabaseConfig } from '../store/config.js';
import { createDatabase, type Database } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';

/** Notification channels between `pipa serve` processes on one PostgreSQL database. */
export const CHANNELS = {
  /** Payload: the app id whose current policy version changed. */
  policy: 'pipa_policy',
  /** Payload: the consent event's `seq` (listeners read events after their high-water mark). */
  consent: 'pipa_consent',
  /** Payload: `<app>\t<subject>` whose status, birth date or device link changed. */
  subject: 'pipa_subject',
  /** Payload: the API key id that was revoked or changed. */
  apiKey: 'pipa_api_key',
} as const;

/** Which decisions the audit log records (DESIGN.md "Audit"). */
export const DECISION_AUDIT_MODES = ['all', 'denied', 'counted'] as const;
export type DecisionAuditMode = (typeof DECISION_AUDIT_MODES)[number];

/** The published policy of an app, as the services enforce it. */
export interface AppPolicy {
  readonly appId: string;
  readonly name: string;
  /** The version in force. */
  readonly version: string;
  /** The version of the last material change (grants from before it may need re-consent). */
  readonly materialVersion: string;
  readonly declaration: Declaration;
  readonly compiled: CompiledPolicy;
  readonly publishedAt: number;
}

export interface PolicyRegistry {
  get(appId: string): AppPolicy | undefined;
  /** The app's policy, or `PipaError('unknown_app')`. */
  /** The app's policy, else `unknown_app` with `path` in its details (default `app`; the HTTP layer's `$.params.app`). */
  require(appId: string, path?: string): AppPolicy;
  list(): AppPolicy[];
  /** Re-read one app (or all) from the database: after a notification or a publication. */
  reload(appId?: string): Promise<void>;
  /** Subscribe to changes (after a reload that changed the version). Returns an unsubscribe function. */
  onChange(listener: (policy: AppPolicy) => void): () => void;
}

export interface ServiceOptions {
  /** Database URL or configuration. Default: SQLite in `<dataDir>/pipa.db`. */
  db?: string | DatabaseConfig;
  /** Failures in the background (the database's: a lost connection, a failed checkpoint). */
  onError?: (error: Error, context: string) => void;
  /** Where the embedded database and the master key file live. Default `./.pipa`. */
  dataDir?: string;
  /** Master key provider. Default: `PIPA_MASTER_KEY` when set, else the key file in `dataDir` (created for a new installation, see `setup`). */
  masterKey?: MasterKeyConfig;
  /**
   * Whether this open may set up a new installation: on a database without system keys, create the
   * key file (when the master key comes from a key file that does not exist) and the system keys.
   * Default true (`pipa serve`, `pipa start`, tests). The CLI's other commands pass false: on a
   * database without system keys they are refused and nothing is written.
   */
  setup?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** Suite for new subjects' data keys. Default `aes-256-gcm`; `sm4` for GM/T deployments. */
  suite?: SuiteName;
  /** Injected clock (ms since the epoch). Default `Date.now`. */
  clock?: () => number;
  /** Run migrations at open. Default true. */
  migrate?: boolean;
  /** Which decisions are audited. Default `denied`. */
  auditDecisions?: DecisionAuditMode;
  /** Sizes of the in-memory caches of keys and masked values (see `ServiceCaches`). */
  caches?: Partial<ServiceCaches>;
  /** An already open database (tests): used as is and not closed by `close`. */
  database?: Database;
}

/**
 * What the service keeps in memory to answer the vault's reads without unwrapping or decrypting again.
 * An operator's trade-off: larger caches make more reads cheap (a read whose data key is not cached
 * unwraps it with the master key, one call to the KMS with a KMS provider; a read whose masked values
 * are not cached decrypts the record), at the cost of memory and of more subjects' keys and masked
 * values held in the process. Erasing a subject drops its entries (crypto-shredding in memory too).
 */
export interface ServiceCaches {
  /** Unwrapped data keys kept (least recently used dropped first). Default 10,000; 1 to 1,000,000. */
  dataKeys: number;
  /** How long an unwrapped data key may be reused after it was unwrapped, ms. Default 300,000 (5 minutes); 1 s to 24 h. */
  dataKeyTtlMs: number;
  /** Subjects whose masked values the vault keeps. Default 10,000; 0 (none) to 1,000,000. */
  maskedSubjects: number;
}

export const DEFAULT_CACHES: Readonly<ServiceCaches> = Object.freeze({ dataKeys: 10_000, dataKeyTtlMs: 300_000, maskedSubjects: 10_000 });

/** The limits of each cache setting (integers, both ends included). */
export const CACHE_LIMITS: Readonly<Record<keyof ServiceCaches, { min: number; max: number }>> = Object.freeze({
  dataKeys: { min: 1, max: 1_000_000 },
  dataKeyTtlMs: { min: 1_000, max: 86_400_000 },
  maskedSubjects: { min: 0, max: 1_000_000 },
});

/** The cache settings with their defaults, each checked (an integer within its limits). */
export function resolveCaches(given: Partial<ServiceCaches> = {}): ServiceCaches {
  const out = { ...DEFAULT_CACHES };
  for (const name of Object.keys(CACHE_LIMITS) as (keyof ServiceCaches)[]) {
    const value = given[name];
    if (value === undefined) continue;
    const { min, max } = CACHE_LIMITS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new PipaError('invalid_request', `caches.${name} must be an integer from ${min} to ${max} (got ${String(value)})`, [
        { path: `$.caches.${name}`, message: `an integer from ${min} to ${max}` },
      ]);
    }
    out[name] = value;
  }
  return out;
}

export interface ServiceContext {
  readonly database: Database;
  readonly db: Kysely<Schema>;
  readonly clock: () => number;
  readonly dataDir: string;
  readonly provider: MasterKeyProvider;
  readonly keyring: Keyring;
  readonly systemKeys: SystemKeys;
  /** Suite for new data keys. */
  readonly suite: SuiteName;
  /** Field cipher per suite (a subject's fields use the suite of its data key). */
  cipher(suite: SuiteName): FieldCipher;
  readonly blindIndex: BlindIndex;
  readonly pseudonyms: Pseudonymizer;
  /** Unwrapped data keys (LRU, TTL); crypto-shredding drops the subject's entry. */
  readonly dataKeys: DataKeyCache;
  readonly audit: AuditLog;
  /** Group commit for events outside a caller's transaction (decisions, reads). */
  readonly auditBatcher: AuditBatcher;
  readonly checkpointSigner: CheckpointSigner;
  readonly auditDecisions: DecisionAuditMode;
  /** The cache sizes this service runs with (defaults applied). */
  readonly caches: Readonly<ServiceCaches>;
  readonly policies: PolicyRegistry;
  /** The in-memory consent projection (filled by the consent service's loader). */
  readonly consent: ConsentProjection;
  /** Register cleanup run by `close` (listeners, timers, workers), last registered first. */
  onClose(fn: () => Promise<void> | void): void;
  /** Flush the audit batcher, run the cleanups, close the database (unless it was given). Idempotent. */
  close(): Promise<void>;
}

const CHECKPOINT_PURPOSE = 'audit-checkpoint';

export async function openServiceContext(options: ServiceOptions = {}): Promise<ServiceContext> {
  const dataDir = resolve(options.dataDir ?? '.pipa');
  const clock = options.clock ?? Date.now;
  const env = options.env ?? process.env;
  const requested = options.suite;
  if (requested !== undefined && !isSuiteName(requested)) {
    throw new PipaError('invalid_request', `unknown cipher suite ${String(requested)} (one of aes-256-gcm, sm4)`);
  }
  const caches = Object.freeze(resolveCaches(options.caches));
  let suite: SuiteName = requested ?? 'aes-256-gcm';
  const setup = options.setup !== false;
  // The master key configuration is checked before anything is created (variables parsed, an existing
  // key file read); a key file that does not exist yet is created below, for a new installation only.
  const prepareFor = (s: SuiteName) =>
    prepareMasterKeyProvider({ config: options.masterKey ?? { provider: 'auto' }, env, dataDir, suite: s });
  let prepared = await prepareFor(suite);
  const ownsDatabase = options.database === undefined;
  let database: Database;
  if (options.database !== undefined) database = options.database;
  else {
    const onError = options.onError !== undefined ? { onError: options.onError } : {};
    const dbConfig: DatabaseConfig =
      options.db === undefined
        ? { url: `sqlite:${resolve(dataDir, 'pipa.db')}`, ...onError }
        : typeof options.db === 'string'
          ? { url: options.db, ...onError }
          : { ...onError, ...options.db };
    if (dbConfig.url === undefined || dbConfig.url.startsWith('sqlite:')) ensureDataDir(dataDir);
    database = await createDatabase(dbConfig);
  }
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const installed = await hasSystemKeys(database.db);
    if (!installed && !setup) {
      throw new PipaError(
        'precondition_failed',
        `数据库 ${database.description} 中还没有 pipa 安装（没有系统密钥）：请先启动一次服务（pipa serve）/ ` +
          `no pipa installation in ${database.description} yet (no system keys): start the service once (pipa serve) to set it up`,
      );
    }
    if (options.migrate !== false) await migrate(database.db);
    // The installation's suite is recorded at its first start and kept: its blind indexes and
    // pseudonyms are computed with that suite's hash, so opening it with the other one would silently
    // stop lookups from matching and change every audit pseudonym.
    const stored = await storedSuite(database.db);
    if (stored !== undefined) {
      if (requested !== undefined && requested !== stored) throw suiteMismatch(stored, requested);
      if (stored !== suite) {
        suite = stored;
        prepared = await prepareFor(suite);
      }
    }
    let provider: MasterKeyProvider;
    if (prepared.provider !== null) provider = prepared.provider;
    else if (installed) throw masterKeyMissing(prepared.missingKeyFile);
    else {
      if (prepared.missingKeyFile === keyFilePath(dataDir)) ensureDataDir(dataDir);
      provider = await prepared.create();
    }
    const keyring = createKeyring({ provider });
    // The suite's record is written with the system keys (a first start, or the first start of an
    // installation from before it was recorded); a command that sets nothing up writes none.
    const marker = stored === undefined && setup ? [`${SUITE_PURPOSE_PREFIX}${suite}`] : [];
    const secrets = await loadSystemSecrets(database.db, keyring, provider, clock, setup, marker);
    // Two first starts racing with different suites: the one whose record is not this open's refuses.
    const recorded = suiteOf([...secrets.keys()]);
    if (marker.length > 0 && recorded !== suite) throw suiteMismatch(recorded ?? suite, suite);
    const systemKeys: SystemKeys = {
      blindIndex: need(secrets, 'blind-index'),
      auditPseudonym: need(secrets, 'audit-pseudonym'),
      sharingPseudonym: need(secrets, 'sharing-pseudonym'),
    };
    const digest = suite === 'sm4' ? 'sm3' : 'sha256';
    const blindIndex = createBlindIndex({ key: systemKeys.blindIndex, digest });
    const pseudonyms = createPseudonymizer({ auditKey: systemKeys.auditPseudonym, sharingKey: systemKeys.sharingPseudonym, digest });
    const checkpointSigner = createCheckpointSigner(need(secrets, CHECKPOINT_PURPOSE));
    const audit = createAuditLog({
      db: database.db,
      caps: database.caps,
      clock: { now: clock },
      pseudonymise: (s) => pseudonyms.audit(s),
      signer: checkpointSigner,
    });
    const auditBatcher = audit.batcher({ maxDelayMs: 2 });
    const ciphers = new Map<SuiteName, FieldCipher>();
    const policies = createPolicyRegistry(database.db);
    await policies.reload();
    const dataKeys = createDataKeyCache({ now: clock, maxEntries: caches.dataKeys, ttlMs: caches.dataKeyTtlMs });
    let closed = false;
    const ctx: ServiceContext = {
      database,
      db: database.db,
      clock,
      dataDir,
      provider,
      keyring,
      systemKeys,
      suite,
      cipher(s) {
        let c = ciphers.get(s);
        if (c === undefined) {
          c = createFieldCipher({ suite: s });
          ciphers.set(s, c);
        }
        return c;
      },
      blindIndex,
      pseudonyms,
      dataKeys,
      audit,
      auditBatcher,
      checkpointSigner,
      auditDecisions: options.auditDecisions ?? 'denied',
      caches,
      policies,
      consent: createConsentProjection(),
      onClose(fn) {
        cleanups.push(fn);
      },
      async close() {
        if (closed) return;
        closed = true;
        for (const fn of cleanups.reverse()) await fn();
        await auditBatcher.close();
        dataKeys.clear();
        if (ownsDatabase) await database.close();
      },
    };
    return ctx;
  } catch (err) {
    for (const fn of cleanups.reverse()) await fn();
    if (ownsDatabase) await database.close();
    throw err;
  }
}

function need(secrets: Map<string, Buffer>, purpose: string): Buffer {
  const s = secrets.get(purpose);
  if (s === undefined) throw new PipaError('internal', `system key ${purpose} is missing`);
  return s;
}

/**
 * Create the data directory (0700); a path that is not a folder or cannot be created is a
 * configuration error naming the directory (details path `dataDir`, which the CLI names `--data-dir`).
 */
function ensureDataDir(dataDir: string): void {
  try {
    makeDirectories(dataDir, 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const [why, whyZh] =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? ['it (or a folder above it) is a file, not a folder', '它（或其上级）是文件，不是文件夹']
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? [`it cannot be created here (permission denied, ${code})`, `无权在此创建（${code}）`]
          : [`it cannot be created (${code ?? String(err)})`, `无法创建（${code ?? String(err)}）`];
    throw new PipaError('invalid_request', `数据目录 ${dataDir}：${whyZh} / data directory ${dataDir}: ${why}`, [
      { path: 'dataDir', message: why },
    ]);
  }
}

/** Whether the database holds wrapped system keys (an installation), without creating anything (no migration yet). */
async function hasSystemKeys(db: Kysely<Schema>): Promise<boolean> {
  try {
    return (await db.selectFrom('system_keys').select('purpose').limit(1).executeTakeFirst()) !== undefined;
  } catch (err) {
    const tables = await db.introspection.getTables();
    if (!tables.some((t) => t.name === 'system_keys')) return false;
    throw err;
  }
}

function masterKeyMissing(keyFile: string): CryptoError {
  return new CryptoError(
    'master_key_missing',
    `no master key for this installation: its system keys are wrapped, but the key file ${keyFile} does not exist and ${ENV_MASTER_KEY} is not set. ` +
      `Restore the installation's key file (or set ${ENV_MASTER_KEY} to its key); pipa creates a key file only for a new installation`,
    `此安装没有主密钥：数据库中的系统密钥已被包装，但密钥文件 ${keyFile} 不存在，也未设置 ${ENV_MASTER_KEY}。` +
      `请恢复此安装的密钥文件（或将 ${ENV_MASTER_KEY} 设为其密钥）；pipa 只为新安装创建密钥文件`,
  );
}

/** `unknownVersion`: one of the failures was a version the provider does not hold (its message says which). */
function masterKeyMismatch(provider: MasterKeyProvider, count: number, unknownVersion?: CryptoError): CryptoError {
  const source = provider.describe();
  return new CryptoError(
    'master_key_mismatch',
    `this database's keys were wrapped by another master key than the one configured (${source}): restore the right key ` +
      `(the installation's key file or ${ENV_MASTER_KEY}). None of its ${count} system keys unwraps, so this is a configuration error, not tampering` +
      (unknownVersion !== undefined ? ` (${unknownVersion.message})` : ''),
    `此数据库的密钥由另一个主密钥包装，而不是当前配置的主密钥（${source}）：请恢复正确的密钥（此安装的密钥文件或 ${ENV_MASTER_KEY}）。` +
      `${count} 个系统密钥没有一个能解开，这是配置错误，而非篡改` +
      (unknownVersion !== undefined ? `（${unknownVersion.messageZh}）` : ''),
  );
}

/** `system_keys` purpose prefix of the record of the installation's cipher suite. */
const SUITE_PURPOSE_PREFIX = 'deployment-suite:';

const isSuitePurpose = (purpose: string) => purpose.startsWith(SUITE_PURPOSE_PREFIX);

/** The suite recorded for this installation; undefined before it is recorded. */
async function storedSuite(db: Kysely<Schema>): Promise<SuiteName | undefined> {
  const rows = await db.selectFrom('system_keys').select('purpose').where('purpose', 'like', `${SUITE_PURPOSE_PREFIX}%`).execute();
  return suiteOf(rows.map((r) => r.purpose));
}

/** The suite named by the suite records among `purposes`; undefined without one. Two records: refused. */
function suiteOf(purposes: readonly string[]): SuiteName | undefined {
  const names = purposes.filter(isSuitePurpose).map((p) => p.slice(SUITE_PURPOSE_PREFIX.length));
  if (names.length === 0) return undefined;
  const [name] = names;
  if (names.length > 1 || name === undefined || !isSuiteName(name)) {
    throw new PipaError(
      'conflict',
      `the database records ${names.length > 1 ? 'several cipher suites' : 'an unknown cipher suite'} (${names.join(', ')}): it was altered`,
    );
  }
  return name;
}

function suiteMismatch(stored: SuiteName, requested: SuiteName): PipaError {
  return new PipaError(
    'conflict',
    `该安装使用 ${stored} 密码套件，不能以 ${requested} 打开 / this installation uses the ${stored} cipher suite ` +
      `(its blind indexes and pseudonyms are computed with ${stored === 'sm4' ? 'SM3' : 'SHA-256'}); it cannot be opened with ${requested}: ` +
      'leave the suite out, or give the one it was set up with',
    [{ path: 'suite', message: `must be ${stored}` }],
  );
}

/**
 * Unwrap the system keys, the ones already stored first: they tell whether the configured master key is
 * this installation's before anything is wrapped under it. None unwraps: `master_key_mismatch`; some
 * do, some do not: the failure itself (tampering). Then, when `create`, the missing ones are created
 * (in one transaction, so two first starts agree); without `create` a missing one is refused.
 */
async function loadSystemSecrets(
  db: Kysely<Schema>,
  keyring: Keyring,
  provider: MasterKeyProvider,
  clock: () => number,
  create: boolean,
  extra: readonly string[] = [],
): Promise<Map<string, Buffer>> {
  const required = [...SYSTEM_KEY_PURPOSES, CHECKPOINT_PURPOSE, ...extra];
  // The suite record is a wrapped secret like the others, unwrapped whichever suite it names: its
  // purpose (and so the suite's name) is bound to it, so a record renamed to the other suite does not unwrap.
  const isSystem = (purpose: string) => required.includes(purpose) || isSuitePurpose(purpose);
  const out = new Map<string, Buffer>();
  const unwrapAll = async (rows: readonly { purpose: string; wrapped: Buffer }[]): Promise<void> => {
    const failures: unknown[] = [];
    let tried = 0;
    for (const row of rows) {
      if (!isSystem(row.purpose) || out.has(row.purpose)) continue;
      tried++;
      try {
        out.set(row.purpose, await keyring.unwrapSecret(row.wrapped, row.purpose));
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length === 0) return;
    const wrongKey = (err: unknown) =>
      isCryptoError(err, 'authentication_failed') ||
      isCryptoError(err, 'key_version_mismatch') ||
      isCryptoError(err, 'unknown_key_version');
    if (out.size === 0 && failures.every(wrongKey)) {
      throw masterKeyMismatch(
        provider,
        tried,
        failures.find((e): e is CryptoError => isCryptoError(e, 'unknown_key_version')),
      );
    }
    throw failures.find((e) => !isCryptoError(e, 'unknown_key_version')) ?? failures[0];
  };
  await unwrapAll(await db.selectFrom('system_keys').selectAll().execute());
  const missing = required.filter((p) => !out.has(p));
  if (missing.length === 0) return out;
  if (!create) {
    throw new PipaError(
      'precondition_failed',
      `缺少系统密钥 ${missing.join(', ')}：请先启动一次服务（pipa serve）/ system key(s) ${missing.join(', ')} missing: start the service once (pipa serve) to create them`,
    );
  }
  const rows = await withTransaction(db, async (trx) => {
    const existing = await trx.selectFrom('system_keys').selectAll().execute();
    const have = new Set(existing.map((r) => r.purpose));
    for (const purpose of required) {
      if (have.has(purpose)) continue;
      const { wrapped } = await keyring.generateSecret(purpose);
      const info = wrapped.readUInt32BE(2);
      await trx
        .insertInto('system_keys')
        .values({ purpose, wrapped, kek_version: info, created_at: clock() })
        .onConflict((oc) => oc.column('purpose').doNothing())
        .execute();
    }
    return trx.selectFrom('system_keys').selectAll().execute();
  });
  // Ours, or those another process created first (under its key: a mismatch if that is not ours).
  await unwrapAll(rows);
  return out;
}

/** Compile a stored declaration into the policy the services enforce. */
export function toAppPolicy(input: {
  appId: string;
  name: string;
  version: string;
  materialVersion: string;
  declaration: Declaration;
  publishedAt: number;
  reconsent?: { purposes: readonly string[]; recipients: readonly string[] };
}): AppPolicy {
  const compiled = compilePolicy(input.declaration, {
    version: input.version,
    materialVersion: input.materialVersion,
    ...(input.reconsent !== undefined ? { reconsent: input.reconsent } : {}),
  });
  return {
    appId: input.appId,
    name: input.name,
    version: input.version,
    materialVersion: input.materialVersion,
    declaration: input.declaration,
    compiled,
    publishedAt: input.publishedAt,
  };
}

/** The registry of published policies, read from `apps` and `policy_versions`. */
export function createPolicyRegistry(db: Kysely<Schema>): PolicyRegistry {
  const byApp = new Map<string, AppPolicy>();
  const listeners = new Set<(p: AppPolicy) => void>();

  const loadOne = async (appId: string, version: string, name: string): Promise<AppPolicy | undefined> => {
    const rows = await db
      .selectFrom('policy_versions')
      .select(['version', 'declaration', 'material', 'diff', 'published_at'])
      .where('app_id', '=', appId)
      .orderBy('published_at', 'asc')
      .execute();
    const current = rows.find((r) => r.version === version);
    if (current === undefined) return undefined;
    // The last material version at or before the current one, and what it affected.
    let materialVersion = rows[0]?.version ?? version;
    let reconsent: { purposes: string[]; recipients: string[] } | undefined;
    for (const r of rows) {
      if (r.published_at > current.published_at) break;
      if (r.material === 1) {
        materialVersion = r.version;
        reconsent = affectedOf(r.diff);
      }
    }
    const declaration = validateDeclaration(JSON.parse(current.declaration), `policy ${appId}@${version}`);
    return toAppPolicy({
      appId,
      name,
      version,
      materialVersion,
      declaration,
      publishedAt: current.published_at,
      ...(reconsent !== undefined ? { reconsent } : {}),
    });
  };

  return {
    get: (appId) => byApp.get(appId),
    require(appId, path = 'app') {
      const p = byApp.get(appId);
      if (p === undefined)
        throw new PipaError('unknown_app', `unknown app ${appId}`, [{ path, message: `no published policy for app ${appId}` }]);
      return p;
    },
    list: () => [...byApp.values()],
    async reload(appId) {
      let q = db.selectFrom('apps').select(['id', 'name', 'current_version']);
      if (appId !== undefined) q = q.where('id', '=', appId);
      const apps = await q.execute();
      if (appId !== undefined && apps.length === 0) byApp.delete(appId);
      for (const app of apps) {
        if (app.current_version === null) {
          byApp.delete(app.id);
          continue;
        }
        const before = byApp.get(app.id);
        if (before !== undefined && before.version === app.current_version) continue;
        const policy = await loadOne(app.id, app.current_version, app.name);
        if (policy === undefined) continue;
        byApp.set(app.id, policy);
        for (const l of listeners) l(policy);
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** What a stored diff (`policy_versions.diff`) says a material change affected; undefined when there is no readable diff. */
export function affectedOf(diff: string | null): { purposes: string[]; recipients: string[] } | undefined {
  if (diff === null) return undefined;
  let parsed: { affected?: { purposes?: unknown; recipients?: unknown } };
  try {
    parsed = JSON.parse(diff) as typeof parsed;
  } catch {
    return undefined;
  }
  const ids = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : []);
  return { purposes: ids(parsed.affected?.purposes), recipients: ids(parsed.affected?.recipients) };
}
