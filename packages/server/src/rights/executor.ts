/**
 * The task handlers: what one task of a request's plan does, run by the durable job runner.
 *
 * One attempt: load the task and its request (a closed request's task does nothing), mark it running,
 * do the work outside pipa's database (a connector, the vault, a webhook), then commit the task's
 * outcome, what it produced (sealed) and its audit event together with the job's completion
 * (`JobContext.complete`): a task's effects on pipa's database exist exactly once, however often a
 * worker dies. The work outside is idempotent (erasing erased rows changes nothing; a notice carries
 * the same delivery id on every attempt).
 *
 * A failure is recorded on the task and on the request (`waiting`: what, where, whether it is retried)
 * before the runner retries it with backoff; a failure retrying cannot fix (a declared column is
 * missing, a connection variable is not set) is not retried and waits for staff. The deadline does not
 * stop meanwhile.
 */
import type { DatasetDecl } from '@pipa/policy';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { PipaError } from '../errors.js';
import { isJobError, JobHandlerError } from '../jobs/errors.js';
import type { JobContext } from '../jobs/runner.js';
import type { ServiceContext } from '../service/context.js';
import type { Row, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { isConnectorError } from './connectors/errors.js';
import type { Change, CollectResult, Connector, SubjectKeys } from './connectors/types.js';
import { prepareManifest, withoutHeldRows, writeManifest } from './hold-manifest.js';
import { consentsOf, RIGHTS_SECRETS, rightsSecret, seal, subjectGroup, subjectKeysOf, unseal } from './internal.js';
import { buildPackage, type CollectedDataset, type CollectedVault } from './package.js';
import type { TaskSpec } from './plan.js';
import type { RightsActor, RightsDeps } from './ports.js';
import { requestFromRow, taskFromRow, transition } from './repo.js';
import { isOpen, JOB_KIND, type RequestPayload, type RightsTask, type Waiting } from './types.js';
import { deliverWebhook } from './webhook.js';

const taskPayload = z.object({ requestId: z.string().min(1), taskId: z.string().min(1) });

export interface ExecutorDeps {
  env: Readonly<Record<string, string | undefined>>;
  webhookTimeoutMs: number;
  fetch: typeof fetch;
  webhookOf(appId: string, kind: string, recipient: string): Promise<{ url: string; secret: Buffer } | undefined>;
  shred(trx: Kysely<Schema>, requestId: string): Promise<void>;
}

export interface DryRunTask {
  key: string;
  kind: RightsTask['kind'];
  target: string;
  after: string[];
  /** What it would touch (counts, tables, columns, strategies; never values). */
  effect: unknown;
  /** Why the effect could not be computed (a connector down …). */
  error: string | null;
}

export interface DryRunResult {
  requestId: string;
  type: string;
  tasks: DryRunTask[];
}

/** What one task did: the result shown to staff, and writes to commit with the job's completion. */
interface Outcome {
  result: Record<string, unknown>;
  commit?: (trx: Transaction<Schema>) => Promise<void>;
}

const JOB_ACTOR = `job:${JOB_KIND.task}`;

export function createTaskExecutor(ctx: ServiceContext, deps: RightsDeps, x: ExecutorDeps) {
  const db = ctx.db;

  const datasetOf = (appId: string, target: string): DatasetDecl => {
    const id = target.slice('dataset:'.length);
    const ds = (ctx.policies.require(appId).declaration.datasets ?? []).find((d) => d.id === id);
    if (ds === undefined) {
      throw new JobHandlerError(`dataset ${id} is no longer declared by app ${appId}`, { where: `dataset ${id}`, retryable: false });
    }
    return ds;
  };

  /**
   * SQLite has one writer per file and better-sqlite3 waits for a lock synchronously, blocking this
   * process's event loop: calls to one SQLite dataset therefore take turns here instead of making
   * each other wait inside the driver (with 4 concurrent tasks that wait cost 10x the work).
   */
  const sqliteTurns = new Map<string, Promise<unknown>>();
  async function withConnector<T>(appId: string, target: string, fn: (c: Connector) => Promise<T>): Promise<T> {
    const dataset = datasetOf(appId, target);
    const work = async () => {
      const connector = deps.connectors(appId, dataset);
      try {
        return await fn(connector);
      } finally {
        await connector.close().catch(() => undefined);
      }
    };
    if (dataset.engine !== 'sqlite') return work();
    const key = `${appId}\u0000${dataset.id}`;
    const before = sqliteTurns.get(key) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.catch(() => undefined);
    sqliteTurns.set(key, settled);
    try {
      return await mine;
    } finally {
      if (sqliteTurns.get(key) === settled) sqliteTurns.delete(key);
    }
  }

  const actorFor = (row: Row<'rights_requests'>): RightsActor & { request: string } => ({ id: JOB_ACTOR, request: row.id });

  async function keysOf(row: Row<'rights_requests'>): Promise<SubjectKeys> {
    return subjectKeysOf(ctx, deps.vault, row.app_id, row.subject_id, actorFor(row));
  }

  async function readArtifact(row: Row<'rights_requests'>, name: string): Promise<Buffer | undefined> {
    if (row.key_wrapped === null) return undefined;
    const a = await db
      .selectFrom('rights_artifacts')
      .select('ciphertext')
      .where('request_id', '=', row.id)
      .where('name', '=', name)
      .executeTakeFirst();
    return a === undefined ? undefined : unseal(ctx, row.app_id, row.id, row.key_wrapped, name, a.ciphertext);
  }

  async function putArtifact(trx: Kysely<Schema>, row: Row<'rights_requests'>, name: string, data: Buffer): Promise<void> {
    if (row.key_wrapped === null) throw new PipaError('internal', `request ${row.id} has no key`);
    const ciphertext = await seal(ctx, row.app_id, row.id, row.key_wrapped, name, data);
    await trx.deleteFrom('rights_artifacts').where('request_id', '=', row.id).where('name', '=', name).execute();
    await trx.insertInto('rights_artifacts').values({ request_id: row.id, name, ciphertext, created_at: ctx.clock() }).execute();
  }

  async function corrections(row: Row<'rights_requests'>): Promise<Record<string, string>> {
    if (row.sealed === null || row.key_wrapped === null) {
      throw new JobHandlerError('the correction values are gone (the request key was shredded)', {
        where: `request ${row.id}`,
        retryable: false,
      });
    }
    return JSON.parse((await unseal(ctx, row.app_id, row.id, row.key_wrapped, 'corrections', row.sealed)).toString('utf8')) as Record<
      string,
      string
    >;
  }

  /** A connector call whose subject key the person does not have (no phone on record): nothing to find there. */
  function unlocatable(err: unknown): Outcome | undefined {
    if (isConnectorError(err, 'subject_key_missing')) {
      return { result: { unlocatable: true, reason: err.message, table: err.table ?? null } };
    }
    return undefined;
  }

  // ------------------------------------------------------------------ the work of each kind

  async function perform(task: RightsTask, row: Row<'rights_requests'>, job: JobContext): Promise<Outcome> {
    const appId = row.app_id;
    const request = requestFromRow(row, ctx.clock());
    switch (task.kind) {
      case 'collect': {
        if (task.target === 'vault') {
          const fields = await deps.vault.readAll(appId, row.subject_id, actorFor(row));
          const data: CollectedVault = { fields };
          return {
            result: { fields: fields.length, categories: [...new Set(fields.map((f) => f.category))].sort() },
            commit: (trx) => putArtifact(trx, row, 'collect:vault', Buffer.from(JSON.stringify(data), 'utf8')),
          };
        }
        const keys = await keysOf(row);
        let collected: CollectResult;
        try {
          collected = await withConnector(appId, task.target, (c) => c.collect(keys));
        } catch (err) {
          const skip = unlocatable(err);
          if (skip !== undefined) return skip;
          throw err;
        }
        const data: CollectedDataset = {
          dataset: collected.dataset,
          tables: collected.tables.map((t) => ({ table: t.table, categories: t.categories, rows: t.rows })),
        };
        return {
          result: { tables: collected.tables.map((t) => ({ table: t.table, rows: t.rows.length })) },
          commit: (trx) => putArtifact(trx, row, `collect:${task.target}`, Buffer.from(JSON.stringify(data), 'utf8')),
        };
      }
      case 'package': {
        const policy = ctx.policies.require(appId);
        const artifacts = await db
          .selectFrom('rights_artifacts')
          .select('name')
          .where('request_id', '=', row.id)
          .where('name', 'like', 'collect:%')
          .execute();
        let vault: CollectedVault | undefined;
        const datasets: CollectedDataset[] = [];
        for (const a of artifacts) {
          const data = await readArtifact(row, a.name);
          if (data === undefined) continue;
          if (a.name === 'collect:vault') vault = JSON.parse(data.toString('utf8')) as CollectedVault;
          else datasets.push(JSON.parse(data.toString('utf8')) as CollectedDataset);
        }
        datasets.sort((a, b) => a.dataset.localeCompare(b.dataset));
        const group = await subjectGroup(db, appId, row.subject_id);
        const subject = await deps.subjects.require(db, appId, row.subject_id);
        const history: { at: number; actor: string; action: string; purpose: string | null; categories: string[]; outcome: string }[] = [];
        let before: number | undefined;
        for (let page = 0; page < 20; page++) {
          const p = await ctx.audit.history({ subject: row.subject_id, appId, limit: 500, ...(before !== undefined ? { before } : {}) });
          for (const e of p.events)
            history.push({ at: e.at, actor: e.actor, action: e.action, purpose: e.purpose, categories: e.categories, outcome: e.outcome });
          if (p.nextBefore === null) break;
          before = p.nextBefore;
        }
        const zipped = buildPackage({
          request: { id: row.id, type: request.type, receivedAt: request.receivedAt },
          generatedAt: ctx.clock(),
          declaration: policy.declaration,
          policyVersion: policy.version,
          subject: { id: subject.id, kind: subject.kind, status: subject.status, createdAt: subject.createdAt },
          ...(request.type === 'explanation' ? {} : { vault: vault ?? { fields: [] }, datasets }),
          consents: await consentsOf(db, appId, group),
          history: history.reverse(),
        });
        return {
          result: { bytes: zipped.length, datasets: datasets.length, vaultFields: vault?.fields.length ?? 0 },
          commit: async (trx) => {
            await putArtifact(trx, row, 'package', zipped);
            await trx.deleteFrom('rights_artifacts').where('request_id', '=', row.id).where('name', 'like', 'collect:%').execute();
          },
        };
      }
      case 'erase': {
        if (task.target === 'vault') {
          const receipt = await deps.vault.erase(appId, row.subject_id, { id: JOB_ACTOR, httpRequestId: null });
          return {
            result: { ...receipt },
            commit: async (trx) => {
              if (request.type === 'account_cancellation') {
                const s = await deps.subjects.get(trx, appId, row.subject_id);
                if (s !== undefined && s.status !== 'erased')
                  await deps.subjects.setStatus(trx, appId, row.subject_id, 'erased', { actor: JOB_ACTOR });
              }
            },
          };
        }
        const keys = await keysOf(row);
        const hashKey = await rightsSecret(ctx, RIGHTS_SECRETS.erasureHash);
        try {
          const { report, manifest } = await withConnector(appId, task.target, async (c) => {
            const description = c.describe();
            if (!description.tables.some((t) => t.legalRetention !== undefined)) {
              return { report: await c.erase(keys, { hashKey, requestId: task.id }), manifest: undefined };
            }
            const holding = { appId, requestId: row.id, subjectId: row.subject_id, description };
            // Write-ahead: the rows this erasure will hold, recorded before it runs. Once a parent row is
            // deleted (merchants), a held table joined through it (orders) is found no more: if the worker
            // died after the erasure and before its completion, the retry would find nothing to record.
            const planned = await c.erase(keys, { dryRun: true, hashKey, heldRows: true });
            const ahead = await prepareManifest(ctx, { ...holding, report: planned, at: ctx.clock() });
            if (ahead.rows.length > 0) await withTransaction(db, (trx) => writeManifest(trx, ahead, false));
            const erased = await c.erase(keys, { hashKey, requestId: task.id, heldRows: true });
            return { report: erased, manifest: await prepareManifest(ctx, { ...holding, report: erased, at: ctx.clock() }) };
          });
          if (manifest === undefined) return { result: { ...report } };
          return {
            result: { ...withoutHeldRows(report), holdManifest: { rows: manifest.rows.length } },
            // The rows held, and the erasure's header, with the task's completion.
            commit: (trx) => writeManifest(trx, manifest, true),
          };
        } catch (err) {
          const skip = unlocatable(err);
          if (skip !== undefined) return skip;
          throw err;
        }
      }
      case 'correct': {
        const values = await corrections(row);
        if (task.target === 'vault') {
          const held = new Set(await deps.vault.categories(db, appId, row.subject_id));
          const put = Object.fromEntries(Object.entries(values).filter(([c]) => held.has(c)));
          if (Object.keys(put).length > 0) await deps.vault.put(appId, row.subject_id, put, { id: JOB_ACTOR });
          return {
            result: {
              categories: Object.keys(put).sort(),
              notHeld: Object.keys(values)
                .filter((c) => !held.has(c))
                .sort(),
            },
          };
        }
        const ds = datasetOf(appId, task.target);
        const changes: Change[] = [];
        for (const t of ds.tables ?? []) {
          for (const column of t.writable ?? []) {
            const category = t.fields[column];
            if (category !== undefined && values[category] !== undefined) changes.push({ table: t.name, column, value: values[category] });
          }
        }
        const keys = await keysOf(row);
        try {
          const r = await withConnector(appId, task.target, (c) => c.correct(keys, changes));
          return { result: { ...r } };
        } catch (err) {
          const skip = unlocatable(err);
          if (skip !== undefined) return skip;
          throw err;
        }
      }
      case 'withdraw': {
        const payload: RequestPayload = request.payload;
        const events = await deps.consent.withdraw(appId, row.subject_id, payload.withdraw ?? [], { id: JOB_ACTOR });
        return { result: { events } };
      }
      case 'notify': {
        const recipient = task.target.slice('recipient:'.length);
        const hook = await x.webhookOf(appId, 'recipient', recipient);
        const declaration = ctx.policies.require(appId).declaration;
        const decl = (declaration.recipients ?? []).find((r) => r.id === recipient);
        if (hook === undefined) {
          return {
            result: { recipient, delivered: false, reason: 'no-endpoint', manual: true },
            commit: async (trx) => {
              await ctx.audit.append(trx, {
                actor: JOB_ACTOR,
                action: 'rights.notify',
                appId,
                subject: row.subject_id,
                outcome: 'failed',
                categories: decl?.categories ?? [],
                details: { request: row.id, recipient, reason: 'no endpoint configured: notify the recipient by other means' },
              });
            },
          };
        }
        const subject = await db.selectFrom('subjects').select(['external_id']).where('id', '=', row.subject_id).executeTakeFirst();
        const res = await deliverWebhook(
          hook,
          'rights.erasure-notice',
          task.id,
          {
            event: 'rights.erasure-notice',
            app: appId,
            requestId: row.id,
            type: request.type,
            recipient,
            subject: {
              pseudonym: ctx.pseudonyms.forRecipient(recipient, row.subject_id),
              ...(decl?.deidentified !== true && subject?.external_id !== null && subject?.external_id !== undefined
                ? { externalId: subject.external_id }
                : {}),
            },
            categories: decl?.categories ?? [],
            erasedAt: new Date(ctx.clock()).toISOString(),
            instruction: {
              zh: '该用户已注销帐号并要求删除其个人信息。请删除或匿名化处理您从我方获得的该用户的个人信息（法律法规要求保存的除外），并停止处理。',
              en: 'The person cancelled their account and asked for their personal information to be erased. Delete or anonymise the personal information about them that you received from us (except what the law requires you to keep) and stop processing it.',
            },
          },
          { fetch: x.fetch, timeoutMs: x.webhookTimeoutMs, signal: job.signal, now: ctx.clock },
        );
        return {
          result: { recipient, delivered: true, status: res.status, attempt: job.attempt },
          commit: async (trx) => {
            await ctx.audit.append(trx, {
              actor: JOB_ACTOR,
              action: 'rights.notify',
              appId,
              subject: row.subject_id,
              categories: decl?.categories ?? [],
              details: { request: row.id, recipient, status: res.status, attempt: job.attempt },
            });
          },
        };
      }
      case 'finish': {
        const tasks = (await db.selectFrom('rights_tasks').selectAll().where('request_id', '=', row.id).orderBy('seq').execute()).map(
          taskFromRow,
        );
        const summary = tasks.filter((t) => t.kind !== 'finish').map((t) => ({ kind: t.kind, target: t.target, result: t.result }));
        const hasPackage =
          (await db
            .selectFrom('rights_artifacts')
            .select('name')
            .where('request_id', '=', row.id)
            .where('name', '=', 'package')
            .executeTakeFirst()) !== undefined;
        return {
          result: { tasks: summary.length },
          commit: async (trx) => {
            const fresh = await trx.selectFrom('rights_requests').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
            if (fresh.state !== 'in_progress') return;
            await transition(trx, ctx.audit, fresh, {
              to: 'completed',
              actor: JOB_ACTOR,
              at: ctx.clock(),
              set: { result: JSON.stringify({ tasks: summary, package: hasPackage }), sealed: null },
            });
            if (!hasPackage) await x.shred(trx, row.id);
          },
        };
      }
      default:
        throw new JobHandlerError(`task kind ${task.kind} has no handler`, { where: `task ${task.id}`, retryable: false });
    }
  }

  // ------------------------------------------------------------------ one attempt

  function failureOf(err: unknown): { message: string; where: string | null; retryable: boolean } {
    if (isConnectorError(err)) {
      const where = [err.dataset && `dataset ${err.dataset}`, err.table && `table ${err.table}`, err.column && `column ${err.column}`]
        .filter(Boolean)
        .join(' ');
      return { message: `${err.message} / ${err.messageZh}`, where: where || null, retryable: err.retryable };
    }
    if (err instanceof JobHandlerError) return { message: err.message, where: err.where ?? null, retryable: err.retryable };
    if (err instanceof PipaError) return { message: err.message, where: err.details?.[0]?.path ?? null, retryable: err.status >= 500 };
    if (isJobError(err)) return { message: err.message, where: null, retryable: true };
    return { message: err instanceof Error ? `${err.name}: ${err.message}` : 'unknown failure', where: null, retryable: true };
  }

  async function recordFailure(
    task: RightsTask,
    row: Row<'rights_requests'>,
    job: JobContext,
    err: unknown,
  ): Promise<{ retryable: boolean; message: string; where: string | null }> {
    const f = failureOf(err);
    const retrying = f.retryable && job.attempt < job.job.maxAttempts;
    const now = ctx.clock();
    const waiting: Waiting = {
      task: task.id,
      kind: task.kind,
      target: task.target,
      message: f.message,
      where: f.where,
      attempts: job.attempt,
      retrying,
      since: now,
    };
    await withTransaction(db, async (trx) => {
      await trx
        .updateTable('rights_tasks')
        .set({
          state: retrying ? 'queued' : 'failed',
          last_error: JSON.stringify({ message: f.message, where: f.where, at: now }),
          updated_at: now,
        })
        .where('id', '=', task.id)
        .where('state', '!=', 'succeeded')
        .execute();
      await trx
        .updateTable('rights_requests')
        .set({ waiting: JSON.stringify(waiting), updated_at: now })
        .where('id', '=', row.id)
        .where('closed_at', 'is', null)
        .execute();
      await ctx.audit.append(trx, {
        actor: JOB_ACTOR,
        action: 'rights.task',
        appId: row.app_id,
        subject: row.subject_id,
        outcome: 'failed',
        details: {
          request: row.id,
          task: task.id,
          kind: task.kind,
          target: task.target,
          attempt: job.attempt,
          retrying,
          where: f.where,
          error: f.message.slice(0, 500),
        },
      });
    });
    return f;
  }

  async function run(job: JobContext): Promise<unknown> {
    const parsed = taskPayload.safeParse(job.job.payload);
    if (!parsed.success)
      throw new JobHandlerError('the job payload is not a rights task', { where: `job ${job.job.id}`, retryable: false });
    const { requestId, taskId } = parsed.data;
    const row = await db.selectFrom('rights_requests').selectAll().where('id', '=', requestId).executeTakeFirst();
    const taskRow = await db.selectFrom('rights_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
    if (row === undefined || taskRow === undefined) return { skipped: 'gone' };
    const task = taskFromRow(taskRow);
    if (!isOpen(row.state) || task.state === 'cancelled') {
      return job.complete(async (trx) => {
        await trx
          .updateTable('rights_tasks')
          .set({ state: 'cancelled', updated_at: ctx.clock() })
          .where('id', '=', taskId)
          .where('state', '!=', 'succeeded')
          .execute();
        return { skipped: row.state };
      });
    }
    if (task.state === 'succeeded') return job.complete(async () => ({ already: true }));
    const startedAt = ctx.clock();
    await db
      .updateTable('rights_tasks')
      .set({ state: 'running', attempts: job.attempt, started_at: task.startedAt ?? startedAt, updated_at: startedAt })
      .where('id', '=', taskId)
      .execute();
    let outcome: Outcome;
    try {
      outcome = await perform(task, row, job);
    } catch (err) {
      if (isJobError(err, 'lease_lost') || isJobError(err, 'shutting_down')) throw err;
      const f = await recordFailure(task, row, job, err);
      if (err instanceof JobHandlerError) throw err;
      throw new JobHandlerError(f.message, { ...(f.where !== null ? { where: f.where } : {}), retryable: f.retryable, cause: err });
    }
    try {
      return await job.complete(async (trx) => {
        await outcome.commit?.(trx);
        const now = ctx.clock();
        await trx
          .updateTable('rights_tasks')
          .set({ state: 'succeeded', result: JSON.stringify(outcome.result), finished_at: now, updated_at: now })
          .where('id', '=', taskId)
          .execute();
        const current = await trx.selectFrom('rights_requests').select(['waiting']).where('id', '=', requestId).executeTakeFirst();
        if (current !== undefined && current.waiting !== null && (JSON.parse(current.waiting) as Waiting).task === taskId) {
          await trx.updateTable('rights_requests').set({ waiting: null, updated_at: now }).where('id', '=', requestId).execute();
        }
        if (task.kind !== 'finish') {
          await ctx.audit.append(trx, {
            actor: JOB_ACTOR,
            action: 'rights.task',
            appId: row.app_id,
            subject: row.subject_id,
            details: { request: requestId, task: taskId, kind: task.kind, target: task.target, attempt: job.attempt },
          });
        }
        return outcome.result;
      });
    } catch (err) {
      if (isJobError(err, 'lease_lost') || isJobError(err, 'shutting_down')) throw err;
      await recordFailure(task, row, job, err);
      throw err;
    }
  }

  // ------------------------------------------------------------------ dry run

  async function dryRun(row: Row<'rights_requests'>, plan: readonly TaskSpec[], actor: RightsActor): Promise<DryRunResult> {
    const appId = row.app_id;
    const request = requestFromRow(row, ctx.clock());
    let keys: SubjectKeys | undefined;
    const keysOnce = async () => {
      keys ??= await subjectKeysOf(ctx, deps.vault, appId, row.subject_id, { ...actor, request: row.id });
      return keys;
    };
    const tasks: DryRunTask[] = [];
    for (const spec of plan) {
      let effect: unknown = null;
      let error: string | null = null;
      try {
        if (spec.target === 'vault') {
          const held = await deps.vault.categories(db, appId, row.subject_id);
          effect =
            spec.kind === 'correct'
              ? { categories: (request.payload.corrections ?? []).filter((c) => held.includes(c)) }
              : { categories: held, fields: held.length, ...(spec.kind === 'erase' ? { cryptoShred: true } : {}) };
        } else if (spec.target.startsWith('dataset:')) {
          const k = await keysOnce();
          effect = await withConnector(appId, spec.target, async (c) => {
            if (spec.kind === 'erase') return c.erase(k, { dryRun: true, hashKey: await rightsSecret(ctx, RIGHTS_SECRETS.erasureHash) });
            const located = await c.locate(k);
            if (spec.kind === 'correct') {
              const ds = datasetOf(appId, spec.target);
              const corrected = new Set(request.payload.corrections ?? []);
              return {
                ...located,
                columns: (ds.tables ?? []).flatMap((t) =>
                  (t.writable ?? []).filter((col) => corrected.has(t.fields[col] ?? '')).map((col) => `${t.name}.${col}`),
                ),
              };
            }
            return located;
          });
        } else if (spec.target.startsWith('recipient:')) {
          const recipient = spec.target.slice('recipient:'.length);
          effect = { recipient, endpoint: (await x.webhookOf(appId, 'recipient', recipient)) !== undefined };
        } else if (spec.kind === 'withdraw') {
          const consents = await consentsOf(db, appId, await subjectGroup(db, appId, row.subject_id));
          effect = { withdraw: request.payload.withdraw ?? [], grants: consents.filter((c) => c.action === 'grant').length };
        }
      } catch (err) {
        const f = failureOf(err);
        error = f.where !== null ? `${f.message} (${f.where})` : f.message;
      }
      tasks.push({ key: spec.key, kind: spec.kind, target: spec.target, after: spec.after, effect, error });
    }
    await withTransaction(db, async (trx) => {
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.dry-run',
        appId,
        subject: row.subject_id,
        requestId: actor.httpRequestId ?? null,
        details: { request: row.id, tasks: tasks.length, errors: tasks.filter((t) => t.error !== null).length },
      });
    });
    return { requestId: row.id, type: request.type, tasks };
  }

  return { run, dryRun };
}
