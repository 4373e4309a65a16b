/**
 * Test helper for route tests: API-key principals looked up by name from a fixed table, sent as
 * `authorization: Bearer <name>` (no key store, no hashing: the routes' own scope and app checks are
 * what the tests exercise).
 */
import type { Authenticator, Principal, Scope } from './route.js';

/** An API-key principal with these scopes, bound to `appId` (null: any app). */
export function apiKey(id: string, appId: string | null, scopes: Scope[]): Principal {
  return { kind: 'api-key', keyId: id, appId, scopes: new Set(scopes) };
}

/** Authenticates `Bearer <name>` as `keys[name]`; anything else is unauthenticated. */
export function fixedKeys(keys: Readonly<Record<string, Principal>>): Authenticator {
  return {
    async authenticate(req) {
      const m = /^Bearer (\w+)$/.exec(String(req.headers.authorization ?? ''));
      return m?.[1] !== undefined ? (keys[m[1]] ?? null) : null;
    },
  };
}
