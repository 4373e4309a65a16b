/**
 * `createPipaServer(ctx, options)`: the Fastify application with every area's routes (areas.ts),
 * the API key / subject token authenticator, OpenAPI at /openapi.json, the reference at /docs,
 * /healthz, /readyz (database reachable, consent projection loaded, not shutting down) and,
 * optionally, the published policies rendered as a static site under /site/.
 *
 * `close()` shuts down gracefully: stop accepting connections, let the requests in flight finish
 * (new requests on open keep-alive connections get 503), then the context's cleanups (listeners,
 * last-used flush), the audit batcher's flush and the database.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { sql } from 'kysely';
import { createHttpApp } from '../http/app.js';
import type { AnyRoute } from '../http/route.js';
import { createKeyAuthenticator, type KeyAuthenticator } from '../keys/authenticator.js';
import type { ServiceContext } from '../service/context.js';
import { areaRoutes, createAreaServices, type PipaServices } from './areas.js';
import { registerSite, type SiteRenderer } from './site.js';

export const SERVER_VERSION = '0.1.0';

export interface PipaServerOptions {
  version?: string;
  /** Fastify logger options (the serializers that keep personal information out are always applied), or false. */
  logger?: FastifyServerOptions['logger'];
  bodyLimit?: number;
  rateLimit?: { perMinute: number } | false;
  requestTimeoutMs?: number;
  /** Cache time of verified API keys (default: keys/authenticator.ts). */
  keyCacheTtlMs?: number;
  /** Renders the published policies for /site/ (the CLI passes its static-site renderer); absent: no site. */
  site?: SiteRenderer;
  /** Whether the consent projection has been loaded (for /readyz). Default: always true. */
  projectionLoaded?: () => boolean;
  /** More routes (tests, embedding). */
  extraRoutes?: readonly AnyRoute[];
  onError?: (error: Error, context: string) => void;
  /** The areas' services (default: created here). */
  services?: PipaServices;
  /** Where connectors read their connection variables. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface PipaServer {
  readonly app: FastifyInstance;
  readonly ctx: ServiceContext;
  readonly services: PipaServices;
  readonly auth: KeyAuthenticator;
  readonly routes: readonly AnyRoute[];
  /** True once `close` has begun. */
  readonly closing: boolean;
  /** Graceful shutdown (idempotent): drain, flush, close the database. */
  close(): Promise<void>;
}

export async function createPipaServer(ctx: ServiceContext, options: PipaServerOptions = {}): Promise<PipaServer> {
  const services = options.services ?? createAreaServices(ctx, options.env !== undefined ? { env: options.env } : {});
  const auth = await createKeyAuthenticator(ctx, {
    ...(options.keyCacheTtlMs !== undefined ? { cacheTtlMs: options.keyCacheTtlMs } : {}),
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  // A revocation through this process is refused by it at once (other nodes: the notification).
  const unsubscribe = services.keys.onRevoke((what) => auth.invalidate(what));
  ctx.onClose(unsubscribe);
  const routes = [...areaRoutes(ctx, services), ...(options.extraRoutes ?? [])];
  let closing = false;
  const app = await createHttpApp({
    routes,
    auth,
    version: options.version ?? SERVER_VERSION,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    logger: options.logger ?? false,
    ready: async () => {
      if (closing) return { ok: false, detail: 'shutting down' };
      try {
        await sql`select 1`.execute(ctx.db);
      } catch {
        return { ok: false, detail: 'database unreachable' };
      }
      if (options.projectionLoaded !== undefined && !options.projectionLoaded()) return { ok: false, detail: 'consent projection loading' };
      return { ok: true, detail: `database ${ctx.database.dialect} reachable; ${ctx.policies.list().length} app(s) loaded` };
    },
  });
  if (options.site !== undefined) registerSite(app, () => ctx.policies.list(), options.site);

  let closed: Promise<void> | undefined;
  return {
    app,
    ctx,
    services,
    auth,
    routes,
    get closing() {
      return closing;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        // Connections that go idle while draining are closed at once (Node closes only those idle when
        // close begins), so keep-alive connections do not hold the shutdown until their idle timeout.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
          await ctx.close();
        }
      })();
      return closed;
    },
  };
}
