/**
 * Authorisation checks shared by the route handlers: an API key bound to one app may touch only
 * that app; a subject token may touch only its own subject of its own app. Scopes are checked by
 * `registerRoute` before the handler runs; these checks need the route's parameters.
 */
import { PipaError } from '../errors.js';
import type { Principal, Scope } from '../http/route.js';

/** The app ids a principal may see: `null` for every app (an admin key not bound to an app). */
export function appScopeOf(principal: Principal | null): string | null {
  if (principal === null) throw new PipaError('unauthenticated', 'missing or invalid credentials');
  return principal.appId;
}

/** 403 unless the principal may act on `appId` (given at `path`: the route's parameter, or a query or body field). */
export function assertAppAccess(principal: Principal | null, appId: string, path = '$.params.app'): void {
  const bound = appScopeOf(principal);
  if (bound !== null && bound !== appId) {
    throw new PipaError('forbidden', `this credential is bound to another app and may not act on app ${appId}`, [
      { path, message: 'the credential is bound to another app' },
    ]);
  }
}

/**
 * 403 unless the principal may act on this subject: an API key of the app (or an admin key) with one
 * of `scopes`, or the subject itself through its token.
 */
export function assertSubjectAccess(principal: Principal | null, appId: string, subjectId: string, scopes: readonly Scope[] = []): void {
  assertAppAccess(principal, appId);
  if (principal?.kind === 'subject') {
    if (principal.subjectId !== subjectId) {
      throw new PipaError('forbidden', 'a subject token gives access to its own subject only', [
        { path: '$.params.subject', message: 'not the subject of the token' },
      ]);
    }
    return;
  }
  if (
    principal?.kind === 'api-key' &&
    scopes.length > 0 &&
    !principal.scopes.has('admin') &&
    !scopes.some((s) => principal.scopes.has(s))
  ) {
    throw new PipaError('forbidden', `this key lacks the scope (one of: ${scopes.join(', ')})`);
  }
}

/** The actor recorded in audit events and `published_by` columns. */
export function actorOf(principal: Principal | null): string {
  if (principal === null) return 'system';
  return principal.kind === 'api-key' ? principal.keyId : 'subject';
}
