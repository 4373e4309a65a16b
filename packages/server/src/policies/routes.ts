/**
 * HTTP routes of apps and policy versions (scopes policy:read / policy:write). An app-bound key sees
 * and publishes only its app.
 */
import { z } from 'zod';
import { actorOf, appScopeOf, assertAppAccess } from '../auth/access.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import type { ServiceContext } from '../service/context.js';
import type { PolicyService, PolicyVersionDetail, PolicyVersionRecord, StoredDiff } from './service.js';

export const APP_ID = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be a lower-case app id such as "shengshitong"');
const VERSION = z.string().min(1).max(128);

const AppParams = z.object({ app: APP_ID });
const VersionParams = z.object({ app: APP_ID, version: VERSION });
const LangQuery = z.object({ lang: z.enum(['zh', 'en']).optional() });

const Bilingual = z.object({ zh: z.string(), en: z.string() });
const Affected = z.object({ purposes: z.array(z.string()), recipients: z.array(z.string()) });
const Change = z.object({
  kind: z.string(),
  path: z.string(),
  material: z.boolean(),
  summary: Bilingual,
  affects: Affected.optional(),
});
const Diff = z
  .object({ from: z.string(), changes: z.array(Change), reconsent: z.boolean(), affected: Affected })
  .meta({ description: 'Changes against the version this one replaced; `reconsent` when at least one is material.' });
const LintSummary = z.object({ errors: z.number(), warnings: z.number(), infos: z.number(), rules: z.array(z.string()) });
const App = z.object({
  id: z.string(),
  name: z.string(),
  currentVersion: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
const VersionRecord = z.object({
  appId: z.string(),
  version: z.string(),
  current: z.boolean(),
  material: z.boolean(),
  publishedAt: z.number(),
  publishedBy: z.string(),
  forcedReason: z.string().nullable(),
  lint: LintSummary,
});
const VersionDetail = VersionRecord.extend({
  declaration: z.record(z.string(), z.unknown()).meta({ description: 'The declaration as published (normalised JSON).' }),
  source: z.string().nullable(),
  diff: Diff.nullable(),
});

const PublishBody = z
  .strictObject({
    source: z.string().min(1).max(1_000_000).optional().meta({ description: 'The declaration as YAML text (positions in errors).' }),
    declaration: z.record(z.string(), z.unknown()).optional().meta({ description: 'The declaration as a JSON object.' }),
    force: z.boolean().optional().meta({ description: 'Publish despite lint errors (needs reason; audited).' }),
    reason: z.string().max(2000).optional(),
  })
  .meta({ description: 'Exactly one of source and declaration.' });

const record = (v: PolicyVersionRecord) => ({
  appId: v.appId,
  version: v.version,
  current: v.current,
  material: v.material,
  publishedAt: v.publishedAt,
  publishedBy: v.publishedBy,
  forcedReason: v.forcedReason,
  lint: v.lint,
});
const detail = (v: PolicyVersionDetail) => ({
  ...record(v),
  declaration: v.declaration as unknown as Record<string, unknown>,
  source: v.source,
  diff: v.diff,
});
const diffOut = (d: StoredDiff | null) => d;

export function policyRoutes(_ctx: ServiceContext, services: { policies: PolicyService }): AnyRoute[] {
  const { policies } = services;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/apps',
      operationId: 'listApps',
      summary: 'List apps and their current policy version',
      tags: ['apps'],
      auth: 'api-key',
      scopes: ['policy:read'],
      response: z.object({ apps: z.array(App) }),
      handler: async ({ principal }) => {
        const bound = appScopeOf(principal);
        return { apps: await policies.listApps(bound === null ? null : [bound]) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app',
      operationId: 'getApp',
      summary: 'One app',
      tags: ['apps'],
      auth: 'api-key',
      scopes: ['policy:read'],
      params: AppParams,
      response: App,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return policies.getApp(params.app);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/policies',
      operationId: 'publishPolicy',
      summary: 'Publish a policy version',
      description:
        'Validates, lints and diffs the declaration against the current version, stores it and makes it current. Lint errors block publishing (422 lint_errors) unless `force` with a `reason` (stored and audited). The first publication creates the app. A material change marks the affected grants as needing re-consent.',
      tags: ['policies'],
      auth: 'api-key',
      scopes: ['policy:write'],
      params: AppParams,
      query: LangQuery,
      body: PublishBody,
      status: 201,
      response: z.object({ app: App, version: VersionRecord, diff: Diff.nullable(), created: z.boolean() }),
      handler: async ({ params, query, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const r = await policies.publish({
          appId: params.app,
          ...(body.source !== undefined ? { source: body.source } : {}),
          ...(body.declaration !== undefined ? { declaration: body.declaration } : {}),
          ...(body.force !== undefined ? { force: body.force } : {}),
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          actor: actorOf(principal),
          requestId,
          ...(query.lang !== undefined ? { lang: query.lang } : {}),
        });
        return { app: r.app, version: record(r.version), diff: diffOut(r.diff), created: r.created };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/policies',
      operationId: 'listPolicyVersions',
      summary: 'Policy version history, newest first',
      tags: ['policies'],
      auth: 'api-key',
      scopes: ['policy:read'],
      params: AppParams,
      response: z.object({ versions: z.array(VersionRecord) }),
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return { versions: (await policies.history(params.app)).map(record) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/policies/current',
      operationId: 'getCurrentPolicy',
      summary: 'The policy version in force',
      tags: ['policies'],
      auth: 'api-key',
      scopes: ['policy:read'],
      params: AppParams,
      response: VersionDetail,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return detail(await policies.current(params.app));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/policies/:version',
      operationId: 'getPolicyVersion',
      summary: 'One policy version',
      tags: ['policies'],
      auth: 'api-key',
      scopes: ['policy:read'],
      params: VersionParams,
      response: VersionDetail,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return detail(await policies.version(params.app, params.version));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/policies/:version/diff',
      operationId: 'getPolicyDiff',
      summary: 'What changed in a version against the one it replaced',
      tags: ['policies'],
      auth: 'api-key',
      scopes: ['policy:read'],
      params: VersionParams,
      response: z.object({ from: z.string().nullable(), to: z.string(), diff: Diff.nullable() }),
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return policies.diff(params.app, params.version);
      },
    }),
  ];
}
