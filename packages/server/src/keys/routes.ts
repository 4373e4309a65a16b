/**
 * HTTP routes of API keys (scope keys:manage; admin implies it) and of the operators' subject-token
 * public keys (scope admin). An app-bound caller sees and manages only its app's keys.
 */
import { z } from 'zod';
import { actorOf, appScopeOf, assertAppAccess } from '../auth/access.js';
import { PipaError } from '../errors.js';
import { type AnyRoute, defineRoute, SCOPES, type Scope } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { type ApiKeyRecord, KEY_NAME_MAX, type KeyService } from './service.js';

const KEY_ID = z.string().regex(/^key_[a-z2-7]{12}$/, 'must be a key id such as key_abcdefghijkl');
const KID = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores');

const ApiKey = z.object({
  id: z.string(),
  appId: z.string().nullable(),
  name: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.number(),
  createdBy: z.string().nullable(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
});
const TokenKey = z.object({
  appId: z.string(),
  kid: z.string(),
  publicKey: z.string(),
  createdAt: z.number(),
  createdBy: z.string().nullable(),
  revokedAt: z.number().nullable(),
});

const CreateBody = z.strictObject({
  app: APP_ID.nullable()
    .optional()
    .meta({ description: 'The app the key is bound to; omit or null for a key that spans apps (admin callers only).' }),
  name: z.string().min(1).max(KEY_NAME_MAX),
  scopes: z.array(z.enum(SCOPES as [Scope, ...Scope[]])).min(1),
  expiresAt: z.number().int().positive().nullable().optional().meta({ description: 'Expiry, ms since the epoch.' }),
});

const out = (k: ApiKeyRecord) => ({ ...k, scopes: [...k.scopes] });

export function keyRoutes(_ctx: ServiceContext, services: { keys: KeyService }): AnyRoute[] {
  const { keys } = services;
  const visible = async (principal: Parameters<typeof appScopeOf>[0], id: string): Promise<ApiKeyRecord> => {
    const key = await keys.get(id);
    const bound = appScopeOf(principal);
    // A key of another app is reported as absent: ids of other tenants are not confirmed.
    if (bound !== null && key.appId !== bound)
      throw new PipaError('not_found', `no API key ${id}`, [{ path: '$.params.id', message: 'unknown key id' }]);
    return key;
  };
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/keys',
      operationId: 'createApiKey',
      summary: 'Create an API key (the token is in this response only)',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['keys:manage'],
      body: CreateBody,
      status: 201,
      response: z.object({
        key: ApiKey,
        token: z.string().meta({ description: 'pipa_<id>_<secret>: store it now, it is never shown again.' }),
      }),
      handler: async ({ body, principal, requestId }) => {
        // Omitted: the caller's own app (none for an operator key). An explicit null asks for a key
        // that spans apps, which only a caller bound to no app may create (the service refuses it).
        const appId = body.app !== undefined ? body.app : principal?.kind === 'api-key' ? principal.appId : null;
        const created = await keys.create({
          appId,
          name: body.name,
          scopes: body.scopes,
          expiresAt: body.expiresAt ?? null,
          creator: principal,
          actor: actorOf(principal),
          requestId,
        });
        return { key: out(created.key), token: created.token };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/keys',
      operationId: 'listApiKeys',
      summary: 'List API keys (never the secret)',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['keys:manage'],
      query: z.object({ app: APP_ID.optional(), includeRevoked: z.enum(['true', 'false']).optional() }),
      response: z.object({ keys: z.array(ApiKey) }),
      handler: async ({ query, principal }) => {
        const bound = appScopeOf(principal);
        if (query.app !== undefined) assertAppAccess(principal, query.app, '$.query.app');
        const appId = bound ?? query.app;
        const list = await keys.list({ ...(appId !== undefined ? { appId } : {}), includeRevoked: query.includeRevoked === 'true' });
        return { keys: list.map(out) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/keys/:id',
      operationId: 'getApiKey',
      summary: 'One API key (never the secret)',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['keys:manage'],
      params: z.object({ id: KEY_ID }),
      response: ApiKey,
      handler: async ({ params, principal }) => out(await visible(principal, params.id)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/keys/:id',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key (refused on every node within a second)',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['keys:manage'],
      params: z.object({ id: KEY_ID }),
      response: ApiKey,
      handler: async ({ params, principal, requestId }) => {
        await visible(principal, params.id);
        return out(await keys.revoke(params.id, actorOf(principal), requestId));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/apps/:app/subject-token-keys/:kid',
      operationId: 'setSubjectTokenKey',
      summary: "Register the operator's Ed25519 public key that signs subject tokens",
      description:
        "The operator's backend signs short-lived subject tokens (header kid = this kid) for its end users; pipa verifies them with this public key and can never mint one. Rotate by registering a new kid, then revoking the old one.",
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['admin'],
      params: z.object({ app: APP_ID, kid: KID }),
      body: z.strictObject({ publicKey: z.string().min(1).max(4096).meta({ description: 'PEM (SPKI) of an Ed25519 public key.' }) }),
      response: TokenKey,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return keys.setSubjectTokenKey({
          appId: params.app,
          kid: params.kid,
          publicKey: body.publicKey,
          actor: actorOf(principal),
          requestId,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subject-token-keys',
      operationId: 'listSubjectTokenKeys',
      summary: 'The subject-token public keys of an app',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['admin'],
      params: z.object({ app: APP_ID }),
      response: z.object({ keys: z.array(TokenKey) }),
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return { keys: await keys.listSubjectTokenKeys(params.app) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/apps/:app/subject-token-keys/:kid',
      operationId: 'revokeSubjectTokenKey',
      summary: 'Revoke a subject-token public key',
      tags: ['keys'],
      auth: 'api-key',
      scopes: ['admin'],
      params: z.object({ app: APP_ID, kid: KID }),
      response: TokenKey,
      handler: async ({ params, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return keys.revokeSubjectTokenKey(params.app, params.kid, actorOf(principal), requestId);
      },
    }),
  ];
}
