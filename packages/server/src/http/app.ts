/**
 * The Fastify application: one error shape, request ids, security headers, body-size and rate
 * limits, logs without personal information, OpenAPI at /openapi.json and a reference at /docs.
 * Domain services are wired in container.ts; routes receive them through their closures.
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { ERROR_STATUS, type ErrorCode, PipaError } from '../errors.js';
import { createReplyCoalescer } from './coalesce.js';
import { parseJsonBody } from './json-body.js';
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

/** The longest path segment a route's parameter takes (longer: 414 `uri_too_long`). */
const MAX_PARAM_LENGTH = 100;

/**
 * Keep only the path: query strings may carry identifiers and are never logged. A segment longer
 * than a parameter may be (refused with 414) is shown as its length only: it is no id of ours.
 */
const pathOnly = (url: string) => {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.length <= MAX_PARAM_LENGTH) return path;
  return path
    .split('/')
    .map((seg) => (seg.length > MAX_PARAM_LENGTH ? `[${seg.length} characters]` : seg))
    .join('/');
};

type ErrorBody = { code: ErrorCode; message: string };

/**
 * Errors Fastify raises before a route is found (frameworkErrors): its own replies quoted the raw
 * path, which may hold personal information; these say what is wrong without it.
 */
function frameworkError(err: { code?: string }): ErrorBody {
  if (err.code === 'FST_ERR_BAD_URL') {
    return { code: 'invalid_request', message: 'the URL path is not valid percent-encoded UTF-8' };
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return { code: 'uri_too_long', message: `a path segment is longer than ${MAX_PARAM_LENGTH} characters` };
  }
  return { code: 'internal', message: 'internal error; quote the request id when you report it' };
}

/**
 * Requests Node's HTTP parser refuses before there is a request (clientError): a raw byte outside
 * printable ASCII in the request line (a non-ASCII character must be percent-encoded as UTF-8:
 * `?externalId=%E7%8E%8B`, not `?externalId=王`), a malformed request line or header, headers over
 * the size limit, a request not received in time. Accepting raw bytes would take Node's lenient
 * parser (insecureHTTPParser), which also accepts what request smuggling relies on.
 */
function clientError(err: { code?: string }): ErrorBody {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'request_timeout', message: 'the request was not received in time' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { code: 'headers_too_large', message: 'the request headers are too large' };
  if (err.code === 'HPE_INVALID_URL') {
    return {
      code: 'invalid_request',
      message: 'the URL holds a character that must be percent-encoded (a non-ASCII character: its UTF-8 bytes as %XX)',
    };
  }
  return { code: 'invalid_request', message: 'the request is not well-formed HTTP/1.1' };
}

/** The headers of every reply, errors included, as `name: value` pairs. */
function replyHeaders(requestId: string, contentType: string | undefined, hasCacheControl: boolean, hasCsp: boolean): [string, string][] {
  const h: [string, string][] = Object.entries(SECURITY_HEADERS);
  h.push(['x-request-id', requestId]);
  if (!hasCacheControl) h.push(['cache-control', 'no-store']);
  if (!hasCsp) h.push(['content-security-policy', (contentType ?? '').startsWith('text/html') ? HTML_CSP : "default-src 'none'"]);
  return h;
}

export async function createHttpApp(opts: HttpOptions): Promise<FastifyInstance> {
  const newRequestId = requestIds();
  const coalescer = opts.coalesceReplies === false ? undefined : createReplyCoalescer();
  const errorJson = (body: ErrorBody, requestId: string) => JSON.stringify({ error: { ...body, requestId } });
  const app: FastifyInstance = Fastify({
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify's own replies to these skip the hooks (no request id, no security headers, not logged):
    // the one error shape here, with the headers set by hand, and the outcome logged as a request's is.
    frameworkErrors: (err, request, generic) => {
      const reply = generic as FastifyReply;
      const body = frameworkError(err);
      if (body.code === 'internal') request.log.error({ err }, 'unhandled error');
      for (const [k, v] of replyHeaders(request.id, 'application/json', false, false)) reply.header(k, v);
      reply.code(ERROR_STATUS[body.code]).type('application/json; charset=utf-8').send(errorJson(body, request.id));
      request.log.info({ res: reply }, 'request completed');
    },
    clientErrorHandler: (err, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const requestId = newRequestId();
      const body = clientError(err);
      const status = ERROR_STATUS[body.code];
      // Node's own rule: no reply over a response already under way on this connection.
      const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && inFlight?.headersSent !== true) {
        const json = errorJson(body, requestId);
        const headers = [
          ['content-type', 'application/json; charset=utf-8'],
          ...replyHeaders(requestId, 'application/json', false, false),
          ['content-length', String(Buffer.byteLength(json))],
          ['connection', 'close'],
        ];
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${json}`);
      } else {
        socket.destroy();
      }
      // Logged as a request is, without the path: the parser has not delivered one (and what it read is
      // the raw request, headers and all). The method, when the request line starts with one.
      const raw: unknown = err.rawPacket;
      const method = Buffer.isBuffer(raw) ? /^([A-Z]{1,16}) /.exec(raw.toString('latin1', 0, 17))?.[1] : undefined;
      app.log.info(
        { reqId: requestId, req: { id: requestId, ...(method ? { method } : {}) }, res: { statusCode: status }, code: err.code ?? '' },
        'request refused by the HTTP parser',
      );
    },
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
              req: (req: { method?: string; url?: string; id: string }) =>
                req.url === undefined ? req : { id: req.id, method: req.method, path: pathOnly(req.url) },
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
  // Our JSON parser (json-body.ts): the same parse, with errors that say where and why.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as string);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    done(null, parsed);
  });

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
