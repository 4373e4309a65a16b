/**
 * The Fastify application: one error shape, request ids, security headers, body-size and rate
 * limits, logs without personal information, OpenAPI at /openapi.json and a reference at /docs.
 * Domain services are wired in container.ts; routes receive them through their closures.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ERROR_STATUS, PipaError } from '../errors.js';
import { createReplyCoalescer } from './coalesce.js';
import { buildOpenApi, renderDocsPage } from './openapi.js';
import { createRateLimiter } from './rate-limit.js';
import { type AnyRoute, type Authenticator, registerRoute } from './route.js';
import { scrubForLog } from './scrub.js';

export interface HttpOptions {
  routes: readonly AnyRoute[];
  auth: Authenticator;
  version: string;
  /** Maximum request body in bytes (default 256 KiB). */
  bodyLimit?: number;
  /** Requests per minute per API key (or client address when unauthenticated); false disables. */
  rateLimit?: { perMinute: number } | false;
  /** Fastify logger options or false; the serializers below are always applied. */
  logger?: FastifyServerOptions['logger'];
  /** Readiness probe for /readyz (database reachable, projection loaded). */
  ready?: () => Promise<{ ok: boolean; detail?: string }>;
  requestTimeoutMs?: number;
  /** Hold replies computed in the turn that read their requests until that turn ends (default true; see coalesce.ts). */
  coalesceReplies?: boolean;
}

/**
 * Request ids: a random per-process prefix and a counter (unique within the process, unguessable
 * across processes); no random bytes drawn per request (that syscall costs more than a decision).
 */
function requestIds(): () => string {
  const prefix = `req_${randomBytes(6).toString('base64url')}`;
  let n = 0;
  return () => `${prefix}${(n++).toString(36)}`;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'";

/** Keep only the path: query strings may carry identifiers and are never logged. */
const pathOnly = (url: string) => {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
};

export async function createHttpApp(opts: HttpOptions): Promise<FastifyInstance> {
  const newRequestId = requestIds();
  const coalescer = opts.coalesceReplies === false ? undefined : createReplyCoalescer();
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    // Called once per request as it is read: the place to mark the turn for reply coalescing.
    genReqId: (req) => {
      coalescer?.mark();
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(given) ? given : newRequestId();
    },
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    return503OnClosing: true,
    logger:
      opts.logger === undefined || opts.logger === false
        ? false
        : {
            ...(typeof opts.logger === 'object' ? opts.logger : {}),
            serializers: {
              req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, path: pathOnly(req.url) }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              err: (err: Error & { code?: string }) => ({
                type: err.name,
                code: err.code ?? '',
                message: scrubForLog(err.message),
                stack: scrubForLog(err.stack ?? ''),
              }),
            },
          },
    ajv: { customOptions: { removeAdditional: false } },
  });

  // JSON only: Fastify also parses text/plain by default, which turned a JSON body sent as text into a
  // confusing "expected object, received string"; now every other media type is 415 (send JSON).
  app.removeContentTypeParser('text/plain');

  const limiter = createRateLimiter();
  const limit = opts.rateLimit === undefined ? { perMinute: 6000 } : opts.rateLimit;

  if (limit) {
    app.addHook('onRequest', async (request, reply) => {
      const routeLimit = (request.routeOptions.config as { rateLimit?: { bucket: string; perMinute: number } } | undefined)?.rateLimit;
      const authz = request.headers.authorization;
      // Key by the key id part of the bearer token (pipa_<id>_<secret>), never by the secret.
      const keyId = typeof authz === 'string' ? /^Bearer\s+pipa_([A-Za-z0-9]+)_/.exec(authz)?.[1] : undefined;
      const who = keyId ? `k:${keyId}` : `ip:${request.ip}`;
      const bucket = routeLimit ? `${routeLimit.bucket}:${who}` : who;
      const r = limiter.take(bucket, routeLimit?.perMinute ?? limit.perMinute);
      if (!r.ok) {
        reply.header('retry-after', String(r.retryAfter));
        throw new PipaError('rate_limited', `too many requests; retry after ${r.retryAfter} s`);
      }
    });
  }

  // A callback hook (not async): it runs on every response, and a promise per response costs.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (!reply.hasHeader('content-security-policy')) {
      const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
      reply.header('content-security-policy', html ? HTML_CSP : "default-src 'none'");
    }
    if (coalescer === undefined) done(null, payload);
    else coalescer.release(done, null, payload);
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: unknown }, request, reply) => {
    const requestId = request.id;
    let status: number;
    let body: { code: string; message: string; details?: unknown };
    if (err instanceof PipaError) {
      status = err.status;
      body = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = { code: 'payload_too_large', message: `request body is larger than ${opts.bodyLimit ?? 256 * 1024} bytes` };
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      body = { code: 'unsupported_media_type', message: 'send application/json' };
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      status = 400;
      body = { code: 'invalid_json', message: 'the body is empty but content-type is application/json' };
    } else if (err.name === 'SyntaxError' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      status = 400;
      body = { code: 'invalid_json', message: 'the body is not valid JSON' };
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body = { code: 'invalid_request', message: 'the request could not be processed' };
    } else {
      status = 500;
      body = { code: 'internal', message: 'internal error; quote the request id when you report it' };
      request.log.error({ err }, 'unhandled error');
    }
    if (status >= 500 && err instanceof PipaError) request.log.error({ err }, 'service error');
    reply
      .code(status)
      .type('application/json')
      .send({ error: { ...body, requestId } });
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${pathOnly(request.url)}`, requestId: request.id } });
  });

  for (const route of opts.routes) registerRoute(app, route, opts.auth);

  const openapi = buildOpenApi(opts.routes, {
    title: 'pipa API',
    version: opts.version,
    description:
      'Personal-information protection: policies, consent ledger, decisions, encrypted vault, audit. 个人信息保护：隐私政策、同意记录、处理决策、加密存储、审计。',
  });
  const docsHtml = renderDocsPage(openapi);
  app.get('/openapi.json', async () => openapi);
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(docsHtml));
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = opts.ready ? await opts.ready() : { ok: true };
    reply.code(r.ok ? 200 : 503);
    return r;
  });
  return app;
}

export { ERROR_STATUS };
