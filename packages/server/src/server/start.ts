/**
 * `startPipaService(options)`: what `pipa serve` and `pipa start` run.
 *
 *   1. check the configuration before anything is created or migrated: the master key (variables, an
 *      existing key file), PIPA_WEBHOOK_ALLOW_NETWORKS, the example declarations;
 *   2. open the service context (database, migrations, master key — the key file is created for a new
 *      installation —, system keys, audit log, policy registry);
 *   3. start the areas (fill the consent projection and keep it current, apply re-consent marks);
 *   4. keep the policy registry current across nodes (LISTEN on CHANNELS.policy);
 *   5. publish the given example declarations whose version is not published yet;
 *   6. build the server and listen;
 *   7. once it listens, on first start, create the one-time admin API key (a start that cannot listen
 *      leaves it to the next start, which prints it).
 *
 * `close()` is the graceful shutdown (see create.ts); `pipa serve` calls it on SIGTERM and SIGINT.
 */
import { DeclarationError, loadDeclaration } from '@pipa/policy';
import { PipaError } from '../errors.js';
import { startPolicySync } from '../policies/sync.js';
import { createEgressPolicy, WEBHOOK_ALLOW_ENV } from '../rights/egress.js';
import { openServiceContext, type ServiceContext, type ServiceOptions } from '../service/context.js';
import { createAreaServices, startAreas } from './areas.js';
import { createPipaServer, type PipaServer, type PipaServerOptions } from './create.js';

export interface ExampleSource {
  /** Where it came from (messages). */
  file: string;
  /** YAML text. */
  source: string;
}

export interface StartOptions extends ServiceOptions, Omit<PipaServerOptions, 'projectionLoaded'> {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7800; 0 picks a free port. */
  port?: number;
  /** Declarations to publish when their version is not published yet (forced when they have lint errors). */
  examples?: readonly ExampleSource[];
  /** Run the durable job runner (rights requests, retention sweeps) in this process. Default true. */
  jobs?: boolean;
}

export interface ExampleOutcome {
  appId: string;
  version: string;
  file: string;
  outcome: 'published' | 'already-published';
  lintErrors: number;
}

export interface RunningService {
  readonly server: PipaServer;
  readonly ctx: ServiceContext;
  readonly url: string;
  readonly docsUrl: string;
  readonly port: number;
  /** The one-time admin key (first start only), else null. */
  readonly adminKey: { id: string; token: string } | null;
  readonly examples: readonly ExampleOutcome[];
  close(): Promise<void>;
}

export const EXAMPLE_FORCE_REASON =
  'example app declared from the seed policy as written: published so that its defects stay visible as lint findings (pipa start)';

export function serviceUrl(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

export async function startPipaService(options: StartOptions = {}): Promise<RunningService> {
  // Configuration errors are answered before the service context creates or migrates anything.
  const env = options.env ?? process.env;
  createEgressPolicy(env[WEBHOOK_ALLOW_ENV] ?? []);
  const parsedExamples = (options.examples ?? []).map(parseExample);
  const ctx = await openServiceContext(options);
  let server: PipaServer | undefined;
  try {
    const services = createAreaServices(ctx, options.env !== undefined ? { env: options.env } : {});
    const areas = await startAreas(ctx, services, {
      ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
      ...(options.onError !== undefined ? { onError: options.onError } : {}),
    });
    await startPolicySync(ctx, options.onError !== undefined ? { onError: options.onError } : {});
    server = await createPipaServer(ctx, { ...options, services, projectionLoaded: areas.projectionLoaded });

    const examples: ExampleOutcome[] = [];
    for (const ex of parsedExamples) examples.push(await publishExample(ctx, server, ex));

    const host = options.host ?? '127.0.0.1';
    await server.app.listen({ host, port: options.port ?? 7800 });
    // Only now: a first start that cannot listen must not create the admin key it could never print.
    const bootstrap = await server.services.keys.bootstrapAdminKey();
    const address = server.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 7800);
    const url = serviceUrl(host, port);
    const running = server;
    return {
      server: running,
      ctx,
      url,
      docsUrl: `${url}docs`,
      port,
      adminKey: bootstrap === null ? null : { id: bootstrap.key.id, token: bootstrap.token },
      examples,
      close: () => running.close(),
    };
  } catch (err) {
    if (server !== undefined) await server.close().catch(() => {});
    else await ctx.close().catch(() => {});
    throw err;
  }
}

interface ParsedExample extends ExampleSource {
  appId: string;
  version: string;
}

/** An example's app and version; a declaration that does not load is `validation_failed` (before anything is written). */
function parseExample(ex: ExampleSource): ParsedExample {
  try {
    const d = loadDeclaration(ex.source, ex.file).declaration;
    return { ...ex, appId: d.app.id, version: d.versions[d.versions.length - 1]?.version ?? '' };
  } catch (err) {
    if (err instanceof DeclarationError) throw new PipaError('validation_failed', err.message);
    throw err;
  }
}

/** Publish an example unless its version is already published (by this node or another: a conflict counts as published). */
async function publishExample(ctx: ServiceContext, server: PipaServer, ex: ParsedExample): Promise<ExampleOutcome> {
  const { appId, version } = ex;
  const existing = await ctx.db
    .selectFrom('policy_versions')
    .select('version')
    .where('app_id', '=', appId)
    .where('version', '=', version)
    .executeTakeFirst();
  const already: ExampleOutcome = { appId, version, file: ex.file, outcome: 'already-published', lintErrors: 0 };
  if (existing !== undefined) return already;
  try {
    const r = await server.services.policies.publish({
      appId,
      source: ex.source,
      force: true,
      reason: EXAMPLE_FORCE_REASON,
      actor: 'system',
    });
    return { appId, version, file: ex.file, outcome: 'published', lintErrors: r.version.lint.errors };
  } catch (err) {
    if (err instanceof PipaError && err.code === 'conflict') return already;
    throw err;
  }
}
