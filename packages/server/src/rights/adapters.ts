/**
 * The rights service's ports built on the real services: the vault (put, erase; the plain read of
 * every field for a package), the consent ledger (withdraw), the connectors (one per declared
 * dataset, credentials from the environment) and the job queue.
 *
 * The vault service reads plain values only for a declared purpose the decision engine allows; a
 * rights request is not a processing purpose (PIPL 45: the person's right to a copy), and a frozen
 * subject (account cancellation under way) is denied every purpose. So the package's read is done
 * here, with the vault's own key scheme (one data key per subject, field AAD = app, subject, category)
 * and recorded as `rights.read` in the audit log before any value is returned (fail closed).
 */
import type { Kysely } from 'kysely';
import { PipaError } from '../errors.js';
import { createJobQueue, type JobQueue } from '../jobs/queue.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { chinaCalendar } from './calendar.js';
import { createConnector } from './connectors/index.js';
import type { DeadlineCalendar } from './deadline.js';
import { subjectGroup } from './internal.js';
import type { ConnectorFactory, RightsActor, RightsConsent, RightsDeps, RightsVault, VaultErasure, VaultFieldValue } from './ports.js';

/** The parts of the vault service (vault/service.ts) a rights request uses. */
export interface VaultLike {
  put(
    appId: string,
    subjectId: string,
    fields: Readonly<Record<string, string | null>>,
    actor: { id: string; scopes?: ReadonlySet<string>; requestId?: string | null },
  ): Promise<unknown>;
  erase(
    appId: string,
    subjectId: string,
    confirmation: { confirm: boolean },
    actor: { id: string; scopes?: ReadonlySet<string>; requestId?: string | null },
  ): Promise<{ categories: string[]; fieldsDeleted: number; keysShredded: number; alreadyErased: boolean; backups: string }>;
}

/** The part of the consent ledger (consent/ledger.ts) a withdrawal request uses. */
export interface LedgerLike {
  withdraw(
    appId: string,
    input: { subject: string; purposes?: readonly string[]; recipients?: readonly string[]; method?: 'user' | 'guardian' | 'api' },
    options?: { actor?: string; requestId?: string | null },
  ): Promise<readonly unknown[]>;
}

const RIGHTS_SCOPES: ReadonlySet<string> = new Set(['vault:write', 'vault:erase']);

export function rightsVault(ctx: ServiceContext, vault: VaultLike): RightsVault {
  return {
    async categories(db: Kysely<Schema>, appId: string, subjectId: string): Promise<string[]> {
      const group = await subjectGroup(db, appId, subjectId);
      const rows = await db
        .selectFrom('vault_fields')
        .select('category')
        .distinct()
        .where('app_id', '=', appId)
        .where('subject_id', 'in', group)
        .execute();
      return rows.map((r) => r.category).sort();
    },

    async readAll(
      appId: string,
      subjectId: string,
      actor: RightsActor & { request: string },
      categories?: readonly string[],
    ): Promise<VaultFieldValue[]> {
      const group = await subjectGroup(ctx.db, appId, subjectId);
      let q = ctx.db
        .selectFrom('vault_fields')
        .select(['subject_id', 'category', 'ciphertext', 'created_at', 'updated_at'])
        .where('app_id', '=', appId)
        .where('subject_id', 'in', group);
      if (categories !== undefined) {
        if (categories.length === 0) return [];
        q = q.where('category', 'in', [...categories]);
      }
      const rows = await q.orderBy('category').execute();
      if (rows.length === 0) return [];
      const holders = [...new Set(rows.map((r) => r.subject_id))];
      const keyRows = await ctx.db
        .selectFrom('data_keys')
        .select(['subject_id', 'wrapped_dek', 'suite'])
        .where('app_id', '=', appId)
        .where('subject_id', 'in', holders)
        .execute();
      const keys = new Map<string, { dek: Awaited<ReturnType<ServiceContext['keyring']['unwrapDataKey']>>; suite: string }>();
      try {
        for (const k of keyRows) {
          keys.set(k.subject_id, {
            dek: await ctx.keyring.unwrapDataKey(k.wrapped_dek, { app: appId, subject: k.subject_id }),
            suite: k.suite,
          });
        }
        const out: VaultFieldValue[] = [];
        for (const r of rows) {
          const key = keys.get(r.subject_id);
          if (key === undefined) {
            throw new PipaError('internal', `vault field ${r.category} of subject ${r.subject_id} has no data key (crypto-shredded)`);
          }
          const suite = key.suite === 'sm4' ? 'sm4' : 'aes-256-gcm';
          out.push({
            category: r.category,
            value: ctx.cipher(suite).decryptString(key.dek, r.ciphertext, { app: appId, subject: r.subject_id, field: r.category }),
            since: Number(r.created_at),
            updatedAt: Number(r.updated_at),
          });
        }
        // Fail closed: nothing is returned unless the read is on record (group commit with other reads).
        await ctx.auditBatcher.record({
          actor: actor.id,
          action: 'rights.read',
          appId,
          subject: subjectId,
          categories: [...new Set(out.map((f) => f.category))],
          requestId: actor.httpRequestId ?? null,
          details: { request: actor.request, fields: out.length },
        });
        return out;
      } finally {
        for (const k of keys.values()) k.dek.destroy();
      }
    },

    async put(appId: string, subjectId: string, values: Readonly<Record<string, string>>, actor: RightsActor): Promise<void> {
      await vault.put(appId, subjectId, values, { id: actor.id, scopes: RIGHTS_SCOPES, requestId: actor.httpRequestId ?? null });
    },

    async erase(appId: string, subjectId: string, actor: RightsActor): Promise<VaultErasure> {
      const r = await vault.erase(
        appId,
        subjectId,
        { confirm: true },
        { id: actor.id, scopes: RIGHTS_SCOPES, requestId: actor.httpRequestId ?? null },
      );
      return {
        categories: r.categories,
        fieldsDeleted: r.fieldsDeleted,
        keysShredded: r.keysShredded,
        alreadyErased: r.alreadyErased,
        backups: r.backups,
      };
    },
  };
}

export function rightsConsent(ledger: LedgerLike): RightsConsent {
  return {
    async withdraw(appId, subjectId, items, actor) {
      const options = { actor: actor.id, requestId: actor.httpRequestId ?? null };
      if (items.length === 0) return (await ledger.withdraw(appId, { subject: subjectId, method: 'user' }, options)).length;
      const purposes = [...new Set(items.filter((i) => i.recipient === null || i.recipient === undefined).map((i) => i.purpose))];
      let events = 0;
      if (purposes.length > 0) events += (await ledger.withdraw(appId, { subject: subjectId, purposes, method: 'user' }, options)).length;
      for (const item of items) {
        // A withdrawn purpose takes its recipient grants with it.
        if (item.recipient === null || item.recipient === undefined || purposes.includes(item.purpose)) continue;
        const input = { subject: subjectId, purposes: [item.purpose], recipients: [item.recipient], method: 'user' as const };
        events += (await ledger.withdraw(appId, input, options)).length;
      }
      return events;
    },
  };
}

export function rightsConnectors(env: Readonly<Record<string, string | undefined>> = process.env): ConnectorFactory {
  return (_appId, dataset) => createConnector(dataset, { env });
}

export interface RightsDepsInput {
  vault: VaultLike;
  ledger: LedgerLike;
  /** Default: the national calendar with the State Council's holidays (rights/calendar.ts). */
  calendar?: DeadlineCalendar;
  subjects?: SubjectService;
  queue?: JobQueue;
  connectors?: ConnectorFactory;
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
}

export function createRightsDeps(ctx: ServiceContext, input: RightsDepsInput): RightsDeps {
  return {
    subjects: input.subjects ?? createSubjectService(ctx),
    vault: rightsVault(ctx, input.vault),
    consent: rightsConsent(input.ledger),
    connectors: input.connectors ?? rightsConnectors(input.env),
    queue: input.queue ?? createJobQueue({ database: ctx.database, clock: { now: ctx.clock } }),
    calendar: input.calendar ?? chinaCalendar(),
    ...(input.fetch !== undefined ? { fetch: input.fetch } : {}),
  };
}
