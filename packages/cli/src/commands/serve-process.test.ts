/**
 * `pipa serve` as a real process: SIGTERM drains and exits 0; SIGKILL in the middle of a write load
 * loses no acknowledged write and leaves a verifiable audit chain; several processes on one
 * PostgreSQL database see each other's publications and revocations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STARTER_TEMPLATE } from '@pipa/policy';
import { createDatabase } from '@pipa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_POSTGRES_ENV, type TestDatabase } from '../../../server/src/store/test-dialects.js';
import { runPipa, type StartedPipa, startPipa } from '../test-serve.js';

const EXAMPLES = fileURLToPath(new URL('../../../../examples', import.meta.url));
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-serve-proc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function api(
  base: StartedPipa,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${base.url}${path.replace(/^\//, '')}`, {
    method,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: r.status, json };
}

/** Audited writes in a loop from `workers` clients until `stop()`; every acknowledged write's id is kept. */
function writeLoad(node: StartedPipa, token: string, workers: number) {
  const acked: string[] = [];
  const failures: string[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const i = n++;
      try {
        const r = await api(node, 'POST', '/v1/keys', token, { app: null, name: `load-${i}`, scopes: ['decide'] });
        if (r.status === 201) acked.push((r.json.key as { id: string }).id);
        else failures.push(String(r.status));
      } catch {
        // The process died with the request in flight: not acknowledged.
        return;
      }
    }
  });
  return {
    acked,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const XPP = 'xiaopiaopiao-merchant';

/** Consent grants from `workers` clients over `subjects` until `stop()`; every acknowledged event id is kept. */
function consentLoad(node: StartedPipa, token: string, subjects: readonly string[], workers: number) {
  const acked: string[] = [];
  const failures: string[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const subject = subjects[n++ % subjects.length] as string;
      try {
        const r = await api(node, 'POST', `/v1/apps/${XPP}/subjects/${subject}/consents`, token, {
          action: 'grant',
          consents: [{ purpose: 'marketing-contact' }],
          method: 'user',
          policyVersion: '2022-03-20',
        });
        if (r.status === 201) for (const e of r.json.events as { id: string }[]) acked.push(e.id);
        else failures.push(String(r.status));
      } catch {
        return;
      }
    }
  });
  return {
    acked,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function allKeyIds(node: StartedPipa, token: string): Promise<Set<string>> {
  const r = await api(node, 'GET', '/v1/keys?includeRevoked=true', token);
  expect(r.status).toBe(200);
  return new Set((r.json.keys as { id: string }[]).map((k) => k.id));
}

const targets: { name: string; db: () => Promise<{ args: string[]; url: string; dispose: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    db: async () => {
      const dataDir = mkdtempSync(join(dir, 'data-'));
      return {
        args: ['--data-dir', dataDir],
        url: `sqlite:${join(dataDir, 'pipa.db')}`,
        dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
      };
    },
  },
];
const pgUrl = process.env[TEST_POSTGRES_ENV];
if (pgUrl !== undefined && pgUrl !== '') {
  targets.push({
    name: 'postgres',
    db: async () => {
      const t: TestDatabase = await createTestDatabase('postgres', { migrate: false });
      const schema = (t.config as { schema: string }).schema;
      const dataDir = mkdtempSync(join(dir, 'pgdata-'));
      const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
      return {
        args: ['--db', url, '--data-dir', dataDir],
        url,
        dispose: async () => {
          await t.dispose();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  });
}

for (const target of targets) {
  describe(`pipa serve process [${target.name}]`, () => {
    it('SIGTERM: finishes the requests in flight, flushes, closes and exits 0', { timeout: 120_000 }, async () => {
      const db = await target.db();
      try {
        const node = await startPipa(['serve', '--port', '0', ...db.args], { cwd: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
        const token = node.adminKey ?? '';
        const load = writeLoad(node, token, 6);
        while (load.acked.length < 20) await sleep(5);
        node.child.kill('SIGTERM');
        const exit = await node.exited;
        await load.stop();
        expect(exit.code).toBe(0);
        expect(exit.stdout).toContain('stopped');
        // Nothing in flight was cut off with a server error: refused or 503 only.
        expect(load.failures.filter((s) => s !== '503')).toEqual([]);
        const again = await startPipa(['serve', '--port', '0', ...db.args], { cwd: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
        try {
          const ids = await allKeyIds(again, token);
          expect(load.acked.filter((id) => !ids.has(id))).toEqual([]);
        } finally {
          again.child.kill('SIGTERM');
          await again.exited;
        }
      } finally {
        await db.dispose();
      }
    });

    it('SIGKILL under a load of consent grants: every acknowledged grant is there after a restart and both chains verify', {
      timeout: 180_000,
    }, async () => {
      const db = await target.db();
      try {
        const args = ['serve', '--port', '0', '--examples', EXAMPLES, ...db.args];
        const node = await startPipa(args, { cwd: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
        const token = node.adminKey ?? '';
        const subjects: string[] = [];
        for (let i = 0; i < 16; i++) {
          const r = await api(node, 'POST', `/v1/apps/${XPP}/subjects`, token, { kind: 'account', externalId: `kill-${i}` });
          subjects.push(r.json.id as string);
        }
        const load = consentLoad(node, token, subjects, 8);
        while (load.acked.length < 200) await sleep(5);
        node.child.kill('SIGKILL');
        const exit = await node.exited;
        await load.stop();
        expect(exit.signal).toBe('SIGKILL');
        expect(load.failures).toEqual([]);
        const acked = [...load.acked];
        expect(acked.length).toBeGreaterThanOrEqual(200);

        // Straight from the database: every acknowledged event is stored.
        const database = await createDatabase({ url: db.url });
        try {
          const stored = new Set((await database.db.selectFrom('consent_events').select('id').execute()).map((r) => r.id));
          expect(acked.filter((id) => !stored.has(id))).toEqual([]);
        } finally {
          await database.close();
        }

        // The restarted service serves them (projection rebuilt from the ledger) and both chains verify.
        const again = await startPipa(args, { cwd: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
        try {
          expect(again.adminKey).toBeNull();
          const decision = await api(again, 'POST', `/v1/apps/${XPP}/decisions`, token, {
            subject: subjects[0],
            purpose: 'marketing-contact',
            categories: ['contact.phone'],
          });
          expect(decision.json).toMatchObject({ allow: true });
          expect((await api(again, 'POST', '/v1/audit/verify', token, {})).json).toMatchObject({ ok: true });
        } finally {
          again.child.kill('SIGTERM');
          await again.exited;
        }
        const verify = await runPipa(['audit', 'verify', ...db.args], { cwd: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
        expect(verify.stderr).toBe('');
        expect(verify.code).toBe(0);
        expect(verify.stdout).toContain('audit chain intact');
        expect(verify.stdout).toContain('consent ledger intact');
      } finally {
        await db.dispose();
      }
    });
  });
}

describe.runIf(pgUrl !== undefined && pgUrl !== '')('several pipa serve processes on one PostgreSQL', () => {
  it('a publication on one node is served by the other; a key revoked on one is refused by the other within a second', {
    timeout: 180_000,
  }, async () => {
    const db = await (targets.find((t) => t.name === 'postgres') as (typeof targets)[number]).db();
    const nodes: StartedPipa[] = [];
    try {
      const env = { PIPA_MASTER_KEY: MASTER_KEY };
      const a = await startPipa(['serve', '--port', '0', ...db.args], { cwd: dir, env });
      nodes.push(a);
      const b = await startPipa(['serve', '--port', '0', ...db.args], { cwd: dir, env });
      nodes.push(b);
      const admin = a.adminKey ?? '';
      expect(b.adminKey).toBeNull();

      // Publish on A; B's registry (which renders /site/) picks it up.
      expect((await api(a, 'POST', '/v1/apps/example-app/policies', admin, { source: STARTER_TEMPLATE })).status).toBe(201);
      let page = 0;
      for (let i = 0; i < 100 && page !== 200; i++) {
        page = (await fetch(`${b.url}site/example-app/zh/policy.html`)).status;
        if (page !== 200) await sleep(20);
      }
      expect(page).toBe(200);
      const v2 = STARTER_TEMPLATE.replace(
        '    summary: { zh: 首次发布, en: First publication }\n',
        '    summary: { zh: 首次发布, en: First publication }\n  - version: "2.0"\n    published: 2025-06-01\n',
      );
      expect((await api(a, 'POST', '/v1/apps/example-app/policies', admin, { source: v2 })).status).toBe(201);
      let served = '';
      for (let i = 0; i < 100 && !served.includes('2.0'); i++) {
        served = await (await fetch(`${b.url}site/example-app/zh/policy.html`)).text();
        if (!served.includes('2.0')) await sleep(20);
      }
      expect(served).toContain('2.0');
      expect((await api(b, 'GET', '/readyz', null)).json.detail).toContain('1 app(s) loaded');

      // A key created on A works on B; revoked on A, B refuses it within a second.
      const created = await api(a, 'POST', '/v1/keys', admin, { app: 'example-app', name: 'shared', scopes: ['policy:read'] });
      const token = created.json.token as string;
      const id = (created.json.key as { id: string }).id;
      expect((await api(b, 'GET', '/v1/apps/example-app', token)).status).toBe(200);
      expect((await api(a, 'DELETE', `/v1/keys/${id}`, admin)).status).toBe(200);
      const revokedAt = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - revokedAt < 5000) {
        status = (await api(b, 'GET', '/v1/apps/example-app', token)).status;
        if (status === 200) await sleep(10);
      }
      expect(status).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(1000);
    } finally {
      for (const n of nodes) {
        n.child.kill('SIGTERM');
        await n.exited;
      }
      await db.dispose();
    }
  });
});
