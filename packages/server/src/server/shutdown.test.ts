import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../http/route.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createPipaServer, type PipaServer } from './create.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachDialect('graceful shutdown', (dctx) => {
  let ctx: ServiceContext;
  let server: PipaServer;
  let url: string;
  let token: string;
  let started = 0;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { examples: [] });
    const slow = defineRoute({
      method: 'POST',
      url: '/v1/test/slow',
      operationId: 'slowWrite',
      summary: 'A request that takes a while and ends with an audited write (batched)',
      tags: ['test'],
      auth: 'api-key',
      response: z.object({ seq: z.number() }),
      handler: async ({ requestId }) => {
        started++;
        await sleep(300);
        const seq = await ctx.auditBatcher.record({ actor: 'system', action: 'test.slow', requestId });
        return { seq };
      },
    });
    server = await createPipaServer(ctx, { extraRoutes: [slow], rateLimit: false });
    token = (await server.services.keys.bootstrapAdminKey())?.token ?? '';
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = server.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('stops accepting, lets the requests in flight finish, flushes the audit batcher, then closes', async () => {
    const inFlight = Array.from({ length: 5 }, () =>
      fetch(`${url}/v1/test/slow`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { seq: number },
      })),
    );
    while (started < 5) await sleep(5);
    const closing = server.close();
    expect(server.closing).toBe(true);
    // A new connection is refused while the old requests drain.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const results = await Promise.all(inFlight);
    await closing;
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const seqs = results.map((r) => r.body.seq);
    const rows = await dctx.db.selectFrom('audit_events').select(['seq', 'action']).where('seq', 'in', seqs).execute();
    expect(rows.map((r) => r.action)).toEqual(['test.slow', 'test.slow', 'test.slow', 'test.slow', 'test.slow']);
    // The context is closed: its batcher refuses new events.
    await expect(ctx.auditBatcher.record({ actor: 'system', action: 'test.after' })).rejects.toThrow();
  });
});
