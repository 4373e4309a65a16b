import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unresolvedRefs } from '../http/test-openapi.js';
import { openTestContext, REPO_ROOT } from '../service/test-context.js';
import { createTestDatabase, type TestDatabase } from '../store/test-dialects.js';
import { createPipaServer, type PipaServer } from './create.js';

let db: TestDatabase;
let server: PipaServer;
beforeAll(async () => {
  db = await createTestDatabase('sqlite');
  server = await createPipaServer(await openTestContext(db.database, { examples: [] }), { rateLimit: false });
});
afterAll(async () => {
  await server.close();
  await db.dispose();
});

it('docs/api.md lists every route of the server, with its scopes and auth, and no route that does not exist', async () => {
  const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { operationId: string; security: unknown[]; 'x-scopes'?: string[] }>>;
  };
  const text = readFileSync(join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \| `([A-Za-z]+)` \|([^|]*)\|([^|]*)\|/.exec(line);
    if (m) rows.set(`${m[1]} ${m[2]}`, [m[3] ?? '', (m[4] ?? '').trim(), (m[5] ?? '').trim()]);
  }
  const served = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const key = `${method.toUpperCase()} ${path}`;
      served.add(key);
      const auth = op.security.length === 0 ? 'none' : op.security.length === 2 ? 'key or subject' : 'key';
      expect([key, rows.get(key)]).toEqual([key, [op.operationId, (op['x-scopes'] ?? []).join(', '), auth]]);
    }
  }
  expect([...rows.keys()].filter((k) => !served.has(k))).toEqual([]);
});

it('/openapi.json refers only to what it holds: every $ref resolves in the document', async () => {
  const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    components: { schemas: Record<string, { $ref?: string; type?: string }> };
  };
  expect(unresolvedRefs(doc)).toEqual([]);
  expect(JSON.stringify(doc)).not.toContain('"$defs"');
  expect(doc.components.schemas.Error).toMatchObject({ type: 'object' });
  expect(doc.components.schemas.Error?.$ref).toBeUndefined();
});
