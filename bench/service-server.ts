/**
 * A server process for the service scenario (bench/scenarios/service.ts), so that the load
 * generator (autocannon, in the parent) and the server never share an event loop:
 *
 *   node --import tsx bench/service-server.ts '{"mode":"bare"}'
 *   node --import tsx bench/service-server.ts '{"mode":"pipa","dataDir":"/tmp/x","db":"postgres://…?schema=s","masterKey":"…"}'
 *
 * `bare`: Fastify 5 with a constant GET and POST route (the baseline) and, when the spec has `reply`,
 * a GET route `/r` that answers exactly those bytes (body and headers: the same answer as a pipa
 * route, without the work behind it). `pipa`: the whole service as
 * `pipa serve` runs it (built packages), without rate limit and logs, without the job runner. Prints
 * one JSON line `{ "url", "token"? }` when listening; exits on SIGTERM.
 */
import Fastify from 'fastify';
import { startPipaService } from '../packages/server/dist/index.js';

interface Spec {
  mode: 'bare' | 'pipa';
  dataDir?: string;
  db?: string;
  masterKey?: string;
  /** bare: what GET /r answers, byte for byte. */
  reply?: { body: string; headers: Record<string, string> };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;

if (spec.mode === 'bare') {
  const app = Fastify({ logger: false });
  const constant = { ok: true, service: 'bare' };
  app.get('/c', async () => constant);
  app.post('/c', async () => constant);
  const fixed = spec.reply;
  if (fixed !== undefined) app.get('/r', (_request, reply) => reply.headers(fixed.headers).send(fixed.body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
} else {
  const running = await startPipaService({
    dataDir: spec.dataDir,
    ...(spec.db !== undefined ? { db: spec.db } : {}),
    env: { PIPA_MASTER_KEY: spec.masterKey },
    host: '127.0.0.1',
    port: 0,
    rateLimit: false,
    logger: false,
    jobs: false,
  });
  console.log(JSON.stringify({ url: running.url.replace(/\/$/, ''), token: running.adminKey?.token ?? null }));
  process.once('SIGTERM', () => {
    void running.close().then(() => process.exit(0));
  });
}
