/**
 * The service context: everything a domain service (policies, vault, consent, decisions, rights)
 * needs, opened once per process. `openServiceContext` connects the database, runs the migrations,
 * opens the master key, unwraps (or creates on first start) the system keys, and builds the audit
 * log, the policy registry and the (empty) consent projection. Domain services take the context and
 * keep no global state of their own, so a test opens a context on a throw-away database and gets a
 * complete service.
 *
 * Cross-node cache invalidation: services that change something another `pipa serve` process caches
 * call `ctx.database.notify(channel, payload, trx)` inside their transaction; the channels are listed in
 * `CHANNELS`. On SQLite (one process) the notification is local.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Declaration, validateDeclaration } from '@pipa/policy';
import type { Kysely } from 'kysely';
import { type AuditBatcher, type AuditLog, createAuditLog } from '../audit/audit-log.js';
import { type CheckpointSigner, createCheckpointSigner } from '../audit/checkpoint.js';
import { type CompiledPolicy, compilePolicy } from '../consent/compile.js';
import { type ConsentProjection, createConsentProjection } from '../consent/projection.js';
import { type BlindIndex, createBlindIndex } from '../crypto/blind-index.js';
import { createDataKeyCache, type DataKeyCache } from '../crypto/data-key.js';
import { createFieldCipher, type FieldCipher } from '../crypto/field-cipher.js';
import { createKeyring, type Keyring, SYSTEM_KEY_PURPOSES, type SystemKeys } from '../crypto/keyring.js';
import type { MasterKeyProvider } from '../crypto/master-key.js';
import { type MasterKeyConfig, openMasterKeyProvider } from '../crypto/provider.js';
import { createPseudonymizer, type Pseudonymizer } from '../crypto/pseudonym.js';
import { isSuiteName, type SuiteName } from '../crypto/suites.js';
import { PipaError } from '../errors.js';
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
  require(appId: string): AppPolicy;
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
  /** Master key provider. Default: `PIPA_MASTER_KEY` when set, else the key file in `dataDir` (created on first start). */
  masterKey?: MasterKeyConfig;
  env?: Readonly<Record<string, string | undefined>>;
  /** Suite for new subjects' data keys. Default `aes-256-gcm`; `sm4` for GM/T deployments. */
  suite?: SuiteName;
  /** Injected clock (ms since the epoch). Default `Date.now`. */
  clock?: () => number;
  /** Run migrations at open. Default true. */
  migrate?: boolean;
  /** Which decisions are audited. Default `denied`. */
  auditDecisions?: DecisionAuditMode;
  /** An already open database (tests): used as is and not closed by `close`. */
  database?: Database;
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
  const suite = options.suite ?? 'aes-256-gcm';
  if (!isSuiteName(suite)) throw new PipaError('invalid_request', `unknown cipher suite ${String(suite)}`);
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
    if (dbConfig.url === undefined || dbConfig.url.startsWith('sqlite:')) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    database = await createDatabase(dbConfig);
  }
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    if (options.migrate !== false) await migrate(database.db);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const provider = await openMasterKeyProvider({ config: options.masterKey ?? { provider: 'auto' }, env, dataDir, suite });
    const keyring = createKeyring({ provider });
    const secrets = await loadSystemSecrets(database.db, keyring, clock);
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
    const dataKeys = createDataKeyCache({ now: clock });
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

/** Unwrap the system keys; create the missing ones on first start (in one transaction, so two first starts agree). */
async function loadSystemSecrets(db: Kysely<Schema>, keyring: Keyring, clock: () => number): Promise<Map<string, Buffer>> {
  const purposes = [...SYSTEM_KEY_PURPOSES, CHECKPOINT_PURPOSE];
  const rows = await withTransaction(db, async (trx) => {
    const existing = await trx.selectFrom('system_keys').selectAll().execute();
    const have = new Set(existing.map((r) => r.purpose));
    for (const purpose of purposes) {
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
  const out = new Map<string, Buffer>();
  for (const row of rows) {
    if (!purposes.includes(row.purpose)) continue;
    out.set(row.purpose, await keyring.unwrapSecret(row.wrapped, row.purpose));
  }
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
    require(appId) {
      const p = byApp.get(appId);
      if (p === undefined)
        throw new PipaError('unknown_app', `unknown app ${appId}`, [{ path: 'app', message: `no published policy for app ${appId}` }]);
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
