/**
 * Route definitions: every route declares zod schemas for params, query, body and each response
 * status. Requests are validated with zod (errors name the JSON path); responses are serialised
 * through a JSON schema generated from the response zod schema, so the response is an allow-list:
 * a property that is not in the schema never leaves the server. The same definitions feed the
 * OpenAPI document.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type ErrorDetail, moreInDetails, PipaError, pathStep } from '../errors.js';

export type Scope =
  | 'admin'
  | 'policy:read'
  | 'policy:write'
  | 'vault:read'
  | 'vault:read-plain'
  | 'vault:write'
  | 'vault:erase'
  | 'consent:read'
  | 'consent:write'
  | 'decide'
  | 'audit:read'
  | 'rights:read'
  | 'rights:write'
  | 'keys:manage';

export const SCOPES: readonly Scope[] = [
  'admin',
  'policy:read',
  'policy:write',
  'vault:read',
  'vault:read-plain',
  'vault:write',
  'vault:erase',
  'consent:read',
  'consent:write',
  'decide',
  'audit:read',
  'rights:read',
  'rights:write',
  'keys:manage',
];

/** Who is calling: an API key (optionally bound to one app) or a subject with a signed token. */
export type Principal =
  | { kind: 'api-key'; keyId: string; appId: string | null; scopes: ReadonlySet<Scope> }
  | { kind: 'subject'; appId: string; subjectId: string; tokenId: string };

export type AuthMode = 'none' | 'api-key' | 'subject' | 'api-key-or-subject';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  requestId: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

type Schema = z.ZodType;

export interface RouteDef<PS extends Schema = Schema, QS extends Schema = Schema, BS extends Schema = Schema, RS extends Schema = Schema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: AuthMode;
  /** Any one of these scopes grants access ('admin' always does). */
  scopes?: Scope[];
  params?: PS;
  query?: QS;
  body?: BS;
  /** The success status and its schema. */
  status?: 200 | 201 | 202 | 204;
  response: RS;
  /** Extra rate-limit cost or a dedicated bucket. */
  rateLimit?: { bucket: string; perMinute: number };
  handler: (ctx: RouteContext<z.output<PS>, z.output<QS>, z.output<BS>>) => Promise<z.input<RS>>;
}

/** Identity helper that keeps the generic types of a route definition. */
export function defineRoute<PS extends Schema, QS extends Schema, BS extends Schema, RS extends Schema>(
  def: RouteDef<PS, QS, BS, RS>,
): RouteDef<PS, QS, BS, RS> {
  return def;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of routes needs an erased type
export type AnyRoute = RouteDef<any, any, any, any>;

export function zodDetails(error: z.ZodError, root: string): ErrorDetail[] {
  return error.issues.map((i) => {
    const path = root + i.path.map(pathStep).join('');
    return { path, message: i.message, code: i.code };
  });
}

/**
 * Messages for the mistakes callers make most, instead of zod's defaults ("Invalid input: expected
 * string, received undefined", "expected number, received NaN"); every other issue keeps zod's.
 */
function requestIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const a = (what: string) => `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`;
  if (issue.code === 'invalid_value') {
    // The value given is never repeated: it may be personal information sent in the wrong field.
    const values = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return issue.input === undefined ? `required (one of ${values})` : `must be one of ${values}`;
  }
  if (issue.code !== 'invalid_type') return rangeMessage(issue);
  if (issue.input === undefined) return `required (${a(issue.expected)})`;
  if (issue.expected === 'number' && Number.isNaN(issue.input)) return 'must be a number';
  if (issue.expected === 'int' && typeof issue.input === 'number') return 'must be a whole number';
  const given = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'an array' : a(typeof issue.input);
  return `must be ${a(issue.expected)} (got ${given})`;
}

function rangeMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const small = issue.code === 'too_small';
    const limit = Number(small ? issue.minimum : issue.maximum);
    const bound = small ? (issue.inclusive === false ? 'more than' : 'at least') : issue.inclusive === false ? 'less than' : 'at most';
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    if (issue.origin === 'number' || issue.origin === 'int') return `must be ${bound} ${limit}`;
    if (issue.origin === 'array') return small && limit === 1 ? 'must not be empty' : `must have ${bound} ${plural(limit, 'item')}`;
    if (issue.origin === 'string') {
      return small && limit === 1 ? 'must not be empty' : `must be ${bound} ${plural(limit, 'character')} long`;
    }
  }
  return undefined;
}

/** The error of a request part: the first problem in the message (the CLI and logs show only it), all in details. */
function invalidPart(root: string, details: ErrorDetail[]): PipaError {
  const first = details[0];
  const part = root.slice(2);
  // "request params are invalid", "request body is invalid", "request query is invalid".
  const what = `request ${part} ${part === 'params' ? 'are' : 'is'} invalid`;
  return new PipaError(
    'validation_failed',
    first === undefined ? what : `${what}: ${first.path}: ${first.message}${moreInDetails(details)}`,
    details,
  );
}

function parsePart<S extends Schema>(schema: S | undefined, value: unknown, root: string): z.output<S> | undefined {
  if (!schema) return undefined;
  const input = value ?? (root === '$.body' ? undefined : {});
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  // The messages are made only for a request that failed: passing an error map to every parse
  // doubled its cost (zod leaves its fast path), on every request of every route.
  const again = schema.safeParse(input, { error: requestIssueMessage });
  throw invalidPart(root, zodDetails(again.success ? r.error : again.error, root));
}

export function jsonSchemaOf(schema: Schema, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

export interface Authenticator {
  authenticate(request: FastifyRequest, mode: AuthMode): Promise<Principal | null>;
}

export function hasScope(principal: Principal | null, scopes: readonly Scope[] | undefined): boolean {
  if (!scopes || scopes.length === 0) return true;
  if (principal?.kind !== 'api-key') return false;
  if (principal.scopes.has('admin')) return true;
  return scopes.some((s) => principal.scopes.has(s));
}

/**
 * A query parameter the route does not declare is an error, never silently ignored: a filter the
 * route does not have (`?action=…`) would otherwise answer as if it had been applied.
 */
function strictQuery(schema: Schema | undefined): (value: unknown) => unknown {
  if (schema === undefined) {
    return (value) => {
      const given = Object.keys((value ?? {}) as object);
      if (given.length > 0) {
        throw invalidPart('$.query', [
          { path: '$.query', message: `this route takes no query parameters (got ${given.join(', ')})`, code: 'unrecognized_keys' },
        ]);
      }
      return undefined;
    };
  }
  const strict = schema instanceof z.ZodObject ? schema.strict() : schema;
  return (value) => {
    // `?limit=1&limit=2` arrives as an array: say so, rather than "must be a number".
    const repeated = Object.entries((value ?? {}) as Record<string, unknown>).filter(([, v]) => Array.isArray(v));
    if (repeated.length > 0) {
      throw invalidPart(
        '$.query',
        repeated.map(([k, v]) => ({
          path: `$.query${pathStep(k)}`,
          message: `given ${(v as unknown[]).length} times; give it once`,
          code: 'repeated_parameter',
        })),
      );
    }
    return parsePart(strict, value, '$.query');
  };
}

export function registerRoute(app: FastifyInstance, route: AnyRoute, auth: Authenticator): void {
  const status = route.status ?? 200;
  const parseQuery = strictQuery(route.query);
  app.route({
    method: route.method,
    url: route.url,
    schema: status === 204 ? {} : { response: { [status]: jsonSchemaOf(route.response, 'output') } },
    config: { rateLimit: route.rateLimit },
    handler: async (request, reply) => {
      let principal: Principal | null = null;
      if (route.auth !== 'none') {
        principal = await auth.authenticate(request, route.auth);
        if (!principal) throw new PipaError('unauthenticated', 'missing or invalid credentials');
        // The wrong kind of credential is 403 only once it has verified (the authenticator answers
        // null, hence 401, for one that does not, whatever its kind).
        if (principal.kind === 'subject' && route.auth === 'api-key') {
          throw new PipaError('forbidden', 'this route needs an API key');
        }
        if (principal.kind === 'api-key' && route.auth === 'subject') {
          throw new PipaError('forbidden', 'this route takes a subject token, not an API key');
        }
        if (principal.kind === 'api-key' && !hasScope(principal, route.scopes)) {
          throw new PipaError(
            'forbidden',
            `this key lacks the scope for ${route.operationId} (one of: ${(route.scopes ?? []).join(', ')})`,
          );
        }
      }
      const ctx: RouteContext<unknown, unknown, unknown> = {
        params: parsePart(route.params, request.params, '$.params'),
        query: parseQuery(request.query),
        body: parsePart(route.body, request.body, '$.body'),
        principal,
        requestId: request.id,
        request,
        reply,
      };
      const result = await route.handler(ctx);
      reply.code(status);
      if (status === 204) return reply.send();
      return result;
    },
  });
}
