/**
 * The rights service's ports built on the real services: the vault (put, erase; the plain read of
 * every field for a package), the consent ledger (withdraw), the connectors (one per declared
 * dataset, credentials from the environment) and the job queue.
 *
 * The vault's ordinary plain read needs a declared purpose the decision engine allows; a rights
 * request is not a processing purpose (PIPL 45: the person's right to a copy), and a frozen subject
 * (account cancellation under way) is denied every purpose. So the package's read is the vault's
 * `readForRequest`, recorded as `rights.read` in the audit log before any value is returned.
 */
import type { Kysely } from 'kysely';
import { createJobQueue, type JobQueue } from '../jobs/queue.js';
import type { ServiceContext } from '../service/context.js';
import type { Schema } from '../store/schema.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { heldCategories } from '../vault/record.js';
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
    options?: { path?: string },
  ): Promise<unknown>;
  readForRequest(
    appId: string,
    subjectId: string,
    actor: { id: string; requestId?: string | null },
    request: string,
    categories?: readonly string[],
  ): Promise<{ category: string; value: string; since: number; updatedAt: number }[]>;
  erase(
    appId: string,
    subjectId: string,
    confirmation: { confirm: boolean },
    actor: { id: string; scopes?: ReadonlySet<string>; requestId?: string | null },
  ): Promise<VaultErasure>;
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

export function rightsVault(vault: VaultLike): RightsVault {
  return {
    async categories(db: Kysely<Schema>, appId: string, subjectId: string): Promise<string[]> {
      return heldCategories(db, appId, await subjectGroup(db, appId, subjectId));
    },

    async readAll(
      appId: string,
      subjectId: string,
      actor: RightsActor & { request: string },
      categories?: readonly string[],
    ): Promise<VaultFieldValue[]> {
      if (categories !== undefined && categories.length === 0) return [];
      const fields = await vault.readForRequest(
        appId,
        subjectId,
        { id: actor.id, requestId: actor.httpRequestId ?? null },
        actor.request,
        categories,
      );
      return fields.map((f) => ({ category: f.category, value: f.value, since: f.since, updatedAt: f.updatedAt }));
    },

    async put(appId: string, subjectId: string, values: Readonly<Record<string, string>>, actor: RightsActor): Promise<void> {
      // The values are the request's corrections: errors name them there.
      await vault.put(
        appId,
        subjectId,
        values,
        { id: actor.id, scopes: RIGHTS_SCOPES, requestId: actor.httpRequestId ?? null },
        { path: '$.body.corrections' },
      );
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
        storage: r.storage,
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
    vault: rightsVault(input.vault),
    consent: rightsConsent(input.ledger),
    connectors: input.connectors ?? rightsConnectors(input.env),
    queue: input.queue ?? createJobQueue({ database: ctx.database, clock: { now: ctx.clock } }),
    calendar: input.calendar ?? chinaCalendar(),
    ...(input.fetch !== undefined ? { fetch: input.fetch } : {}),
  };
}
