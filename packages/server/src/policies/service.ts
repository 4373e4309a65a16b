/**
 * Apps and their policy versions. Publishing a version (YAML source or a JSON declaration):
 *
 *   1. load and validate (positions from the YAML) -> `validation_failed` naming path, line and column;
 *   2. lint -> `lint_errors` with the findings, unless forced with a non-empty reason (stored in
 *      `forced_reason` and audited with the rules it overrode);
 *   3. diff against the current version (`diffDeclarations`): material when it asks for re-consent;
 *   4. in one transaction: create the app on first publication, insert the version, switch the
 *      current version, audit `policy.publish`, NOTIFY `CHANNELS.policy` (delivered on commit);
 *   5. reload the registry and apply the re-consent marks to the consent projection here; other
 *      nodes do the same when the notification arrives (`startPolicySync`).
 *
 * Publication of one app is serialised (the app row is locked, or SQLite's one write lock is held),
 * so the diff is always against the version it replaces.
 */
import {
  type Declaration,
  type DeclarationDiff,
  DeclarationError,
  diffDeclarations,
  type LintFinding,
  type LintLang,
  lintDeclaration,
  loadDeclaration,
  type PositionMap,
  validateDeclaration,
} from '@pipa/policy';
import { sql } from 'kysely';
import { type ErrorDetail, moreInDetails, PipaError, shownId } from '../errors.js';
import { CHANNELS, type ServiceContext } from '../service/context.js';
import { forUpdate } from '../store/capabilities.js';
import { withTransaction } from '../store/transaction.js';
import { applyReconsentMarks } from './reconsent.js';

export interface PublishInput {
  /** The app the caller addresses (URL); the declaration's `app.id` must be the same. */
  appId: string;
  /** YAML text of the declaration … */
  source?: string;
  /** … or the declaration as a JSON object. */
  declaration?: unknown;
  /** Publish despite lint errors; needs `reason`. */
  force?: boolean;
  reason?: string;
  /** Who publishes (`key_…`, `cli`, `system`). */
  actor: string;
  requestId?: string | null;
  /** Language of lint messages and diff summaries in errors. Default zh. */
  lang?: LintLang;
}

export interface LintSummaryRecord {
  errors: number;
  warnings: number;
  infos: number;
  /** Rule keys of the error and warning findings (unique, sorted). */
  rules: string[];
}

export interface StoredDiff {
  /** The version this one was compared with. */
  from: string;
  changes: DeclarationDiff['changes'];
  reconsent: boolean;
  affected: DeclarationDiff['affected'];
}

export interface PolicyVersionRecord {
  appId: string;
  version: string;
  current: boolean;
  material: boolean;
  publishedAt: number;
  publishedBy: string;
  forcedReason: string | null;
  lint: LintSummaryRecord;
}

export interface PolicyVersionDetail extends PolicyVersionRecord {
  declaration: Declaration;
  /** The YAML as published, or null when it was published as JSON. */
  source: string | null;
  diff: StoredDiff | null;
}

export interface AppRecord {
  id: string;
  name: string;
  currentVersion: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PublishResult {
  app: AppRecord;
  version: PolicyVersionRecord;
  diff: StoredDiff | null;
  /** True when this publication created the app. */
  created: boolean;
}

export interface PolicyService {
  publish(input: PublishInput): Promise<PublishResult>;
  /** Every app, or only `appIds` (an app-bound key). */
  listApps(appIds?: readonly string[] | null): Promise<AppRecord[]>;
  getApp(appId: string): Promise<AppRecord>;
  current(appId: string): Promise<PolicyVersionDetail>;
  /** Newest first. */
  history(appId: string): Promise<PolicyVersionRecord[]>;
  version(appId: string, version: string): Promise<PolicyVersionDetail>;
  /** The diff of `version` against the version it replaced (null for the first version). */
  diff(appId: string, version: string): Promise<{ from: string | null; to: string; diff: StoredDiff | null }>;
}

const MAX_REASON = 2000;

function appName(d: Declaration): string {
  return typeof d.app.name === 'string' ? d.app.name : d.app.name.zh;
}

function latestVersion(d: Declaration): string {
  const v = d.versions[d.versions.length - 1]?.version;
  if (v === undefined)
    throw new PipaError('validation_failed', 'the declaration lists no version', [{ path: '$.versions', message: 'empty' }]);
  return v;
}

/** DeclarationError issues -> error details under the body field the declaration came in. */
function declarationDetails(err: DeclarationError, field: 'source' | 'declaration'): ErrorDetail[] {
  return err.issues.map((i) =>
    field === 'source'
      ? { path: '$.body.source', declarationPath: i.path, line: i.line, column: i.column, message: i.message }
      : { path: `$.body.declaration${i.path.slice(1)}`, declarationPath: i.path, message: i.message },
  );
}

/** The first problem, where it is (`$.body.source:5:1 ($.app.name)` or the JSON path) and how many more. */
function firstProblem(details: readonly ErrorDetail[]): string {
  const first = details[0];
  if (first === undefined) return 'no details';
  let at = String(first.path);
  if (first.line !== undefined) {
    at += `:${String(first.line)}:${String(first.column ?? 1)}`;
    if (first.declarationPath !== undefined && first.declarationPath !== '$') at += ` (${String(first.declarationPath)})`;
  }
  return `${at}: ${first.message}${moreInDetails(details)}`;
}

function summarise(findings: readonly LintFinding[]): LintSummaryRecord {
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  const rules = new Set<string>();
  for (const f of findings) {
    if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
    if (f.severity !== 'info') rules.add(f.rule);
  }
  return { errors, warnings, infos, rules: [...rules].sort() };
}

function parseLint(text: string): LintSummaryRecord {
  const v = JSON.parse(text) as Partial<LintSummaryRecord>;
  return {
    errors: Number(v.errors ?? 0),
    warnings: Number(v.warnings ?? 0),
    infos: Number(v.infos ?? 0),
    rules: Array.isArray(v.rules) ? v.rules.filter((r): r is string => typeof r === 'string') : [],
  };
}

function parseDiff(text: string | null): StoredDiff | null {
  if (text === null) return null;
  const v = JSON.parse(text) as Partial<StoredDiff>;
  return {
    from: typeof v.from === 'string' ? v.from : '',
    changes: Array.isArray(v.changes) ? v.changes : [],
    reconsent: v.reconsent === true,
    affected: {
      purposes: Array.isArray(v.affected?.purposes) ? v.affected.purposes : [],
      recipients: Array.isArray(v.affected?.recipients) ? v.affected.recipients : [],
    },
  };
}

interface AppRow {
  id: string;
  name: string;
  current_version: string | null;
  created_at: number;
  updated_at: number;
}

const toApp = (r: AppRow): AppRecord => ({
  id: r.id,
  name: r.name,
  currentVersion: r.current_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function createPolicyService(ctx: ServiceContext): PolicyService {
  const db = ctx.db;

  const requireApp = async (appId: string): Promise<AppRow> => {
    const row = await db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
    if (row === undefined) {
      throw new PipaError('unknown_app', `unknown app ${appId}`, [{ path: '$.params.app', message: `no app ${appId} has been published` }]);
    }
    return row;
  };

  const loadVersion = async (appId: string, version: string, current: string | null): Promise<PolicyVersionDetail> => {
    const row = await db
      .selectFrom('policy_versions')
      .selectAll()
      .where('app_id', '=', appId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (row === undefined) {
      throw new PipaError('not_found', `app ${appId} has no policy version ${shownId(version)}`, [
        { path: '$.params.version', message: `no version ${shownId(version)}` },
      ]);
    }
    return {
      appId,
      version: row.version,
      current: row.version === current,
      material: row.material === 1,
      publishedAt: row.published_at,
      publishedBy: row.published_by,
      forcedReason: row.forced_reason,
      lint: parseLint(row.lint_summary),
      declaration: validateDeclaration(JSON.parse(row.declaration), `${appId}@${row.version}`),
      source: row.source,
      diff: parseDiff(row.diff),
    };
  };

  const getVersion = async (appId: string, version: string): Promise<PolicyVersionDetail> => {
    const app = await requireApp(appId);
    return loadVersion(appId, version, app.current_version);
  };

  return {
    async publish(input) {
      const lang = input.lang ?? 'zh';
      if ((input.source === undefined) === (input.declaration === undefined)) {
        const none = input.source === undefined;
        throw new PipaError(
          'validation_failed',
          none
            ? 'no declaration given: send it as YAML `source` or as a JSON `declaration`'
            : 'give the declaration either as YAML `source` or as a JSON `declaration`, not both',
          [{ path: '$.body', message: 'exactly one of source and declaration is required' }],
        );
      }
      const reason = input.reason?.trim() ?? '';
      if (input.force === true && reason === '') {
        throw new PipaError('validation_failed', 'forcing a publication needs a reason', [
          { path: '$.body.reason', message: 'required (non-empty) when force is true' },
        ]);
      }
      if (reason.length > MAX_REASON) {
        throw new PipaError('validation_failed', `the reason is longer than ${MAX_REASON} characters`, [
          { path: '$.body.reason', message: `at most ${MAX_REASON} characters` },
        ]);
      }

      // 1. Load and validate.
      let declaration: Declaration;
      let positions: PositionMap | undefined;
      const field = input.source !== undefined ? 'source' : 'declaration';
      try {
        if (input.source !== undefined) {
          const loaded = loadDeclaration(input.source, `${input.appId}.yaml`);
          declaration = loaded.declaration;
          positions = loaded.positions;
        } else {
          declaration = validateDeclaration(input.declaration, `${input.appId}.json`);
        }
      } catch (err) {
        if (err instanceof DeclarationError) {
          const details = declarationDetails(err, field);
          throw new PipaError('validation_failed', `the declaration is invalid: ${firstProblem(details)}`, details);
        }
        throw err;
      }
      if (declaration.app.id !== input.appId) {
        throw new PipaError('validation_failed', `the declaration is for app ${declaration.app.id}, not ${input.appId}`, [
          {
            path: field === 'source' ? '$.body.source' : '$.body.declaration.app.id',
            declarationPath: '$.app.id',
            message: `must be ${input.appId}`,
          },
        ]);
      }
      const version = latestVersion(declaration);

      // 2. Lint.
      const lint = lintDeclaration(positions ? { declaration, positions } : { declaration }, { lang });
      const lintRecord = summarise(lint.findings);
      const errors = lint.findings.filter((f) => f.severity === 'error');
      if (errors.length > 0 && input.force !== true) {
        throw new PipaError(
          'lint_errors',
          `the declaration has ${errors.length} lint error(s); fix them or publish with force and a reason`,
          errors.map((f) => ({
            path: f.path,
            message: f.message,
            rule: f.rule,
            severity: f.severity,
            ...(field === 'source' ? { line: f.line, column: f.column } : {}),
            hint: f.hint,
            citation: f.citation,
          })),
        );
      }
      const forcedReason = errors.length > 0 ? reason : null;

      // 3–4. Diff and store, serialised per app.
      const result = await withTransaction(db, async (trx) => {
        const at = ctx.clock();
        const inserted = await trx
          .insertInto('apps')
          .values({ id: input.appId, name: appName(declaration), current_version: null, created_at: at, updated_at: at })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .execute();
        const created = inserted.length > 0;
        const app = await forUpdate(
          trx.selectFrom('apps').selectAll().where('id', '=', input.appId),
          ctx.database.caps,
        ).executeTakeFirstOrThrow();
        const duplicate = await trx
          .selectFrom('policy_versions')
          .select('version')
          .where('app_id', '=', input.appId)
          .where('version', '=', version)
          .executeTakeFirst();
        if (duplicate !== undefined) {
          throw new PipaError('conflict', `app ${input.appId} already has a published version ${version}; add a new entry to versions`, [
            {
              path: field === 'source' ? '$.body.source' : '$.body.declaration.versions',
              declarationPath: '$.versions',
              message: `version ${version} exists`,
            },
          ]);
        }
        let diff: StoredDiff | null = null;
        if (app.current_version !== null) {
          const prev = await trx
            .selectFrom('policy_versions')
            .select('declaration')
            .where('app_id', '=', input.appId)
            .where('version', '=', app.current_version)
            .executeTakeFirstOrThrow();
          const d = diffDeclarations(
            validateDeclaration(JSON.parse(prev.declaration), `${input.appId}@${app.current_version}`),
            declaration,
          );
          diff = { from: app.current_version, changes: d.changes, reconsent: d.reconsent, affected: d.affected };
        }
        const material = diff === null || diff.reconsent;
        await trx
          .insertInto('policy_versions')
          .values({
            app_id: input.appId,
            version,
            declaration: JSON.stringify(declaration),
            source: input.source ?? null,
            lint_summary: JSON.stringify(lintRecord),
            material: material ? 1 : 0,
            diff: diff === null ? null : JSON.stringify(diff),
            published_at: at,
            published_by: input.actor,
            forced_reason: forcedReason,
          })
          .execute();
        await trx
          .updateTable('apps')
          .set({ current_version: version, name: appName(declaration), updated_at: at })
          .where('id', '=', input.appId)
          .execute();
        await ctx.audit.append(trx, {
          actor: input.actor,
          action: 'policy.publish',
          appId: input.appId,
          requestId: input.requestId ?? null,
          details: {
            version,
            previous: app.current_version,
            material,
            created,
            lint: { errors: lintRecord.errors, warnings: lintRecord.warnings },
            ...(forcedReason !== null
              ? { forced: true, reason: forcedReason, overriddenRules: [...new Set(errors.map((f) => f.rule))].sort() }
              : {}),
            ...(diff !== null ? { changes: diff.changes.length, affected: diff.affected } : {}),
          },
        });
        await ctx.database.notify(CHANNELS.policy, input.appId, trx);
        return {
          created,
          diff,
          app: { id: input.appId, name: appName(declaration), currentVersion: version, createdAt: app.created_at, updatedAt: at },
          version: {
            appId: input.appId,
            version,
            current: true,
            material,
            publishedAt: at,
            publishedBy: input.actor,
            forcedReason,
            lint: lintRecord,
          } satisfies PolicyVersionRecord,
        };
      });

      // 5. This node at once; the others on the notification.
      await ctx.policies.reload(input.appId);
      await applyReconsentMarks(ctx, input.appId);
      return result;
    },

    async listApps(appIds) {
      let q = db.selectFrom('apps').selectAll().orderBy('id');
      if (appIds !== undefined && appIds !== null) {
        if (appIds.length === 0) return [];
        q = q.where('id', 'in', [...appIds]);
      }
      return (await q.execute()).map(toApp);
    },

    async getApp(appId) {
      return toApp(await requireApp(appId));
    },

    async current(appId) {
      const app = await requireApp(appId);
      if (app.current_version === null) {
        throw new PipaError('not_found', `app ${appId} has no published policy`, [{ path: '$.params.app', message: 'no current version' }]);
      }
      return loadVersion(appId, app.current_version, app.current_version);
    },

    async history(appId) {
      const app = await requireApp(appId);
      const rows = await db
        .selectFrom('policy_versions')
        .select(['version', 'material', 'published_at', 'published_by', 'forced_reason', 'lint_summary'])
        .where('app_id', '=', appId)
        .orderBy('published_at', 'desc')
        .orderBy(sql`version`, 'desc')
        .execute();
      return rows.map((r) => ({
        appId,
        version: r.version,
        current: r.version === app.current_version,
        material: r.material === 1,
        publishedAt: r.published_at,
        publishedBy: r.published_by,
        forcedReason: r.forced_reason,
        lint: parseLint(r.lint_summary),
      }));
    },

    version: getVersion,

    async diff(appId, version) {
      const v = await getVersion(appId, version);
      return { from: v.diff?.from ?? null, to: version, diff: v.diff };
    },
  };
}
