import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningService } from '@pipa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { asGbk, runCli } from '../test-util.js';
import { readExampleSources, runServe, SERVE_DEFAULTS } from './serve.js';

const EXAMPLES = fileURLToPath(new URL('../../../../examples', import.meta.url));

let dir: string;
let adminToken = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-serve-cli-'));
  cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bufferIo(cwd: string, env: Record<string, string | undefined> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    cwd,
    env,
    out: () => out,
    err: () => err,
  };
}

/** Start `pipa serve` in-process on a free port; returns the service and a stop function. */
async function serve(opts: Partial<typeof SERVE_DEFAULTS> & { examples?: string | boolean } = {}) {
  const io = bufferIo(dir);
  const stop = new AbortController();
  let running: RunningService | undefined;
  const done = runServe(io, { ...SERVE_DEFAULTS, port: '0', ...opts }, stop.signal, (s) => {
    running = s;
  });
  const deadline = Date.now() + 30_000;
  while (running === undefined) {
    if (Date.now() > deadline) throw new Error(`not started: ${io.out()} ${io.err()}`);
    await Promise.race([done, new Promise((r) => setTimeout(r, 20))]);
  }
  const service = running as RunningService;
  return {
    io,
    service,
    async stop() {
      stop.abort();
      await done;
    },
  };
}

describe('pipa start / serve', () => {
  it('first start: SQLite and the key file in ./.pipa, both examples published, URL, docs and the one-time admin key printed', async () => {
    const s = await serve({ examples: 'examples' });
    try {
      const out = s.io.out();
      expect(out).toContain(`running: ${s.service.url}`);
      expect(out).toContain(`API docs: ${s.service.url}docs`);
      expect(out).toMatch(/published example: shengshitong 1 \(forced over \d+ lint errors, audited\)/);
      expect(out).toContain('published example: xiaopiaopiao-merchant 2022-03-20');
      const token = /^\s+(pipa_\S+)$/m.exec(out)?.[1];
      expect(token).toBeDefined();
      adminToken = token ?? '';
      expect(s.service.ctx.database.description).toContain(join(dir, '.pipa', 'pipa.db'));
      const apps = await fetch(`${s.service.url}v1/apps`, { headers: { authorization: `Bearer ${token}` } });
      expect(apps.status).toBe(200);
      expect(((await apps.json()) as { apps: { id: string }[] }).apps.map((a) => a.id)).toEqual(['shengshitong', 'xiaopiaopiao-merchant']);
      // Issue 2's site stays reachable: the rendered policies and lists.
      const page = await fetch(`${s.service.url}site/shengshitong/zh/collection-list.html`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('盛事通');
      expect((await fetch(`${s.service.url}site/`)).status).toBe(200);
      expect((await fetch(`${s.service.url}docs`)).status).toBe(200);
    } finally {
      await s.stop();
    }
    expect(s.io.out()).toContain('stopped');
  });

  it('second start: no new admin key, examples already published, the old key still works', async () => {
    const s = await serve({ examples: 'examples' });
    try {
      expect(s.io.out()).not.toContain('admin API key');
      expect(s.io.out()).toContain('example already published: shengshitong 1');
      const apps = await fetch(`${s.service.url}v1/apps`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(apps.status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('--suite sm4 sets up an SM4 installation, which keeps its suite; another suite is refused (exit 2)', async () => {
    const s = await serve({ dataDir: '.pipa-sm4', suite: 'sm4' });
    try {
      expect(s.io.out()).toContain('cipher suite: sm4');
      expect(s.service.ctx.suite).toBe('sm4');
    } finally {
      await s.stop();
    }
    const again = await serve({ dataDir: '.pipa-sm4' });
    try {
      expect(again.io.out()).toContain('cipher suite: sm4');
    } finally {
      await again.stop();
    }
    const other = await runCli(['serve', '--data-dir', '.pipa-sm4', '--suite', 'aes-256-gcm', '--port', '0'], { cwd: dir });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('this installation uses the sm4 cipher suite');
    const bad = await runCli(['serve', '--data-dir', '.pipa-sm4', '--suite', 'des', '--port', '0'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--suite must be one of aes-256-gcm, sm4 (got "des")');
  });

  it('--audit-decisions chooses which decisions the audit log records', async () => {
    for (const mode of ['all', 'counted'] as const) {
      const s = await serve({ auditDecisions: mode });
      try {
        expect(s.io.out()).toContain(`decisions audited: ${mode}`);
        expect(s.service.ctx.auditDecisions).toBe(mode);
        const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
        const app = 'xiaopiaopiao-merchant';
        const created = await fetch(`${s.service.url}v1/apps/${app}/subjects`, { method: 'POST', headers, body: '{"kind":"account"}' });
        const subject = ((await created.json()) as { id: string }).id;
        const decided = await fetch(`${s.service.url}v1/apps/${app}/decisions`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ subject, purpose: 'verification-and-notices', categories: ['contact.phone'] }),
        });
        expect(decided.status).toBe(200);
        await s.service.ctx.auditBatcher.flush();
        // all: the decision is its own event at once, whatever its outcome; counted: only a per-minute count, later.
        const own = await s.service.ctx.db
          .selectFrom('audit_events')
          .select('seq')
          .where('action', '=', 'decision')
          .where('subject_pseudonym', '=', s.service.ctx.pseudonyms.audit(subject))
          .execute();
        expect(own.length).toBe(mode === 'all' ? 1 : 0);
      } finally {
        await s.stop();
      }
    }
  });

  it('--key-cache, --key-cache-ttl and --masked-cache size what the service keeps in memory', async () => {
    const s = await serve({ keyCache: '5', keyCacheTtl: '30', maskedCache: '0' });
    try {
      expect(s.io.out()).toContain('caches: 5 data keys (each for up to 30 s), masked values of 0 subjects');
      expect(s.service.ctx.caches).toEqual({ dataKeys: 5, dataKeyTtlMs: 30_000, maskedSubjects: 0 });
    } finally {
      await s.stop();
    }
    const d = await serve();
    try {
      expect(d.io.out()).toContain('caches: 10000 data keys (each for up to 300 s), masked values of 10000 subjects');
    } finally {
      await d.stop();
    }
    const refused: [string[], string][] = [
      [['--key-cache', '0'], '--key-cache must be a whole number from 1 to 1000000 (got "0")'],
      [['--key-cache', '2000000'], '--key-cache must be a whole number from 1 to 1000000 (got "2000000")'],
      [['--key-cache-ttl', '0'], '--key-cache-ttl must be a whole number from 1 to 86400 (got "0")'],
      [['--key-cache-ttl', '5m'], '--key-cache-ttl must be a whole number from 1 to 86400 (got "5m")'],
      [['--masked-cache=-1'], '--masked-cache must be a whole number from 0 to 1000000 (got "-1")'],
      [['--masked-cache', '1e3'], '--masked-cache must be a whole number from 0 to 1000000 (got "1e3")'],
    ];
    for (const [args, message] of refused) {
      const r = await runCli(['serve', '--data-dir', '.pipa-caches', ...args, '--port', '0'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      // Refused before anything is set up.
      expect(existsSync(join(dir, '.pipa-caches'))).toBe(false);
    }
  });

  it('refuses bad options with exit 2', async () => {
    expect((await runCli(['serve', '--port', 'x'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['serve', '--log-level', 'loud'], { cwd: dir })).code).toBe(2);
    const audit = await runCli(['serve', '--audit-decisions', 'some', '--port', '0'], { cwd: dir });
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain('--audit-decisions must be one of all, denied, counted (got "some")');
    const missing = await runCli(['serve', '--examples', 'nowhere', '--port', '0'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--examples: the folder ${join(dir, 'nowhere')} does not exist`);
    expect(missing.stderr).toContain('give --examples <dir>, or run `pipa serve` (no examples)');
    writeFileSync(join(dir, 'a-file'), 'x');
    const notDir = await runCli(['start', '--examples', 'a-file', '--port', '0'], { cwd: dir });
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toContain('is not a folder');
    const gbk = join(dir, 'gbk-examples');
    mkdirSync(join(gbk, 'app'), { recursive: true });
    writeFileSync(join(gbk, 'app', 'policy.yaml'), asGbk('pipa: 1\napp:\n  name: 演示\n'));
    expect(() => readExampleSources(gbk)).toThrow(/^--examples: app\/policy\.yaml:3:9: not UTF-8: byte 0xD1 at byte offset 21 /);
    const notUtf8 = await runCli(['serve', '--examples', 'gbk-examples', '--port', '0'], { cwd: dir });
    expect(notUtf8.code).toBe(2);
    expect(notUtf8.stdout).toBe('');
    expect(notUtf8.stderr).toContain('not UTF-8');
    const bad = await runCli(['serve', '--db', 'mysql://x@y/z', '--port', '0'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipa:');
    const badMap = await runCli(['serve', '--db', 'sqlite:mapped/pipa.db?mmap_size=lots', '--port', '0'], { cwd: dir });
    expect(badMap.code).toBe(2);
    expect(badMap.stdout).toBe('');
    expect(badMap.stderr).toContain('mmap_size must be an integer >= 0 (got lots)');
    expect(existsSync(join(dir, 'mapped'))).toBe(false);
  });
});

describe('pipa migrate', () => {
  it('applies the migrations once and lists their status', async () => {
    const first = await runCli(['migrate', '--data-dir', 'mig'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied  0001_initial');
    const again = await runCli(['migrate', '--data-dir', 'mig'], { cwd: dir });
    expect(again.stdout).toContain('already up to date');
    const status = await runCli(['migrate', '--data-dir', 'mig', '--status', '--json'], { cwd: dir });
    const parsed = JSON.parse(status.stdout) as { migrations: { name: string; executedAt: string | null }[] };
    expect(parsed.migrations.every((m) => m.executedAt !== null)).toBe(true);
    expect(parsed.migrations.map((m) => m.name)).toContain('0005_core');
  });

  it('fails with exit 2 when the database cannot be reached', async () => {
    const r = await runCli(['migrate', '--db', 'postgres://nobody@127.0.0.1:1/none'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipa migrate:');
  });
});

describe('pipa keys', () => {
  it('creates (token once), lists (never the secret), revokes', async () => {
    const created = await runCli(
      ['keys', 'create', '--app', 'shengshitong', '--scopes', 'decide,consent:write', '--name', 'backend', '--expires', '90d'],
      {
        cwd: dir,
      },
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const token = /^\s+(pipa_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    const id = /^(key_[a-z2-7]{12})/m.exec(created.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
    const list = await runCli(['keys', 'list', '--app', 'shengshitong'], { cwd: dir });
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('consent:write,decide');
    expect(list.stdout).not.toContain(token.slice(18));
    const revoked = await runCli(['keys', 'revoke', id], { cwd: dir });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('已撤销 / revoked:');
    // Again: says it was revoked already (the service changes nothing then).
    const again = await runCli(['keys', 'revoke', id], { cwd: dir });
    expect([again.code, again.stdout.startsWith('已撤销过，未作更改 / already revoked, nothing changed:')]).toEqual([0, true]);
    expect((await runCli(['keys', 'list', '--app', 'shengshitong'], { cwd: dir })).stdout).not.toContain(id);
    expect((await runCli(['keys', 'list', '--app', 'shengshitong', '--all', '--json'], { cwd: dir })).stdout).toContain(id);
  });

  it('refuses bad input with exit 2 and creates nothing', async () => {
    const before = (await runCli(['keys', 'list', '--all', '--json'], { cwd: dir })).stdout;
    const cases = [
      ['keys', 'create', '--scopes', 'root'],
      ['keys', 'create', '--scopes', ','],
      ['keys', 'create', '--app', 'nope', '--scopes', 'decide'],
      ['keys', 'create', '--scopes', 'decide', '--expires', 'soon'],
      ['keys', 'create', '--scopes', 'decide', '--expires', '2001-01-01'],
      ['keys', 'create', '--app', 'shengshitong'],
      ['keys', 'revoke', 'nope'],
      ['keys', 'revoke', 'key_aaaaaaaaaaaa'],
      ['keys', 'list', '--data-dir', 'not-there'],
    ];
    for (const args of cases) {
      const r = await runCli(args, { cwd: dir });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect((await runCli(['keys', 'list', '--all', '--json'], { cwd: dir })).stdout).toBe(before);
  });

  it('rotates the master key while the service runs: writes and reads go on, and everything reads back after a restart', async () => {
    const s = await serve();
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const base = s.service.url;
    const write = async (i: number) => {
      const subject = (await (
        await fetch(`${base}v1/apps/xiaopiaopiao-merchant/subjects`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ kind: 'account', externalId: `rot-${i}` }),
        })
      ).json()) as { id: string };
      const put = await fetch(`${base}v1/apps/xiaopiaopiao-merchant/subjects/${subject.id}/pi`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ fields: { 'contact.phone': `1381234${String(i).padStart(4, '0')}` } }),
      });
      expect(put.status).toBe(200);
      return subject.id;
    };
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) ids.push(await write(i));
      let writing = true;
      const during = (async () => {
        // Paced: the point is writes going on during the rotation, not load (the API key's rate limit
        // is 6,000 requests a minute, which an unpaced loop reaches on a fast machine).
        for (let i = 5; writing || i < 10; i++) {
          ids.push(await write(i));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const r = await runCli(['keys', 'rotate'], { cwd: dir });
      writing = false;
      await during;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('version 1 → 2');
      expect(r.stdout).toMatch(/data keys: [1-9]\d* re-wrapped/);
      // The rotation waited for the running service to switch to version 2: nothing it wrote meanwhile is left under version 1.
      expect(r.stdout).toContain('nothing is wrapped under older versions any more');
      for (const id of ids) {
        const read = await fetch(`${base}v1/apps/xiaopiaopiao-merchant/subjects/${id}/pi`, { headers });
        expect(read.status).toBe(200);
      }
    } finally {
      await s.stop();
    }
    const again = await serve();
    try {
      for (const id of ids) {
        const read = (await (await fetch(`${again.service.url}v1/apps/xiaopiaopiao-merchant/subjects/${id}/pi`, { headers })).json()) as {
          fields: Record<string, { value: string }>;
        };
        expect(read.fields['contact.phone']?.value).toMatch(/^138\*\*\*\*\d{4}$/);
      }
    } finally {
      await again.stop();
    }
  });

  it('rotates the master key again and the service reopens with it', async () => {
    const r = await runCli(['keys', 'rotate'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('version 2 → 3');
    expect(r.stdout).toContain('system keys: 5 re-wrapped, 0 failed');
    const s = await serve();
    await s.stop();
    const env = await runCli(['keys', 'rotate'], { cwd: dir, env: { PIPA_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') } });
    expect(env.code).toBe(2);
  });
});

describe('pipa audit verify', () => {
  it('exits 0 on intact chains and 1 naming the chain and the first broken seq after tampering', async () => {
    let signingKey = { publicKey: '', keyId: '' };
    // A consent in the ledger and a signed checkpoint, through the service.
    const s = await serve();
    try {
      const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
      const subject = (await (
        await fetch(`${s.service.url}v1/apps/shengshitong/subjects`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ kind: 'account', externalId: 'a-1' }),
        })
      ).json()) as { id: string };
      const grant = await fetch(`${s.service.url}v1/apps/shengshitong/subjects/${subject.id}/consents`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ action: 'grant', consents: [{ purpose: 'push-notifications' }], method: 'user', policyVersion: '1' }),
      });
      expect(grant.status).toBe(201);
      const cp = await fetch(`${s.service.url}v1/audit/checkpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(cp.status).toBe(201);
      const listed = (await (await fetch(`${s.service.url}v1/audit/checkpoints`, { headers })).json()) as {
        signingKey: { publicKey: string; keyId: string };
      };
      signingKey = listed.signingKey;
    } finally {
      await s.stop();
    }
    const ok = await runCli(['audit', 'verify'], { cwd: dir });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('audit chain intact');
    expect(ok.stdout).toContain('consent ledger intact');
    // An intact chain verified up to, at and beyond its head never says broken: a range beyond the
    // head is a bad option (exit 2 naming it).
    const head = (JSON.parse((await runCli(['audit', 'verify', '--json'], { cwd: dir })).stdout) as { audit: { head: { seq: number } } })
      .audit.head.seq;
    expect(head).toBeGreaterThan(1);
    const atHead = await runCli(['audit', 'verify', '--from', String(head), '--to', String(head)], { cwd: dir });
    expect([atHead.code, atHead.stdout]).toEqual([0, expect.stringContaining('audit chain intact: 1 events')]);
    const next = await runCli(['audit', 'verify', '--from', String(head + 1)], { cwd: dir });
    expect([next.code, next.stdout]).toEqual([0, expect.stringContaining(`audit chain intact: no events after seq ${head}`)]);
    for (const [args, message] of [
      [['--from', String(head + 100)], `--from ${head + 100} is beyond the head (${head})`],
      [['--from', String(head + 2)], `--from ${head + 2} is beyond the head (${head})`],
      [['--to', String(head + 100)], `--to ${head + 100} is beyond the head (${head})`],
      [['--from', '1', '--to', String(head + 1)], `--to ${head + 1} is beyond the head (${head})`],
      [['--from', '4', '--to', '2'], '--from 4 must not be after --to 2'],
      [['--from', '0'], '--from must be a sequence number from 1 (got "0")'],
      [['--from', '-3'], '--from must be a sequence number from 1 (got "-3")'],
      [['--to', '1.5'], '--to must be a sequence number from 1 (got "1.5")'],
      [['--to', 'head'], '--to must be a sequence number from 1 (got "head")'],
    ] as const) {
      for (const json of [[], ['--json']]) {
        const r = await runCli(['audit', 'verify', ...args, ...json], { cwd: dir });
        expect([r.code, r.stdout]).toEqual([2, '']);
        expect(r.stderr).toContain(message);
        expect(r.stderr).not.toContain('broken');
      }
    }
    // --trusted-key: the service's key verifies the checkpoint; a well-formed other key is a finding
    // about the checkpoint (exit 1), named as such; a value that is not a key is exit 2, before anything.
    const trusted = await runCli(['audit', 'verify', '--trusted-key', signingKey.publicKey], { cwd: dir });
    expect([trusted.code, trusted.stderr]).toEqual([0, '']);
    expect(trusted.stdout).toMatch(/1 signed checkpoint\(s\) verified, signed through seq \d+/);
    const { generateCheckpointKey } = await import('@pipa/server');
    const other = generateCheckpointKey();
    const untrusted = await runCli(['audit', 'verify', '--trusted-key', other.publicKey], { cwd: dir });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      new RegExp(
        `audit checkpoint at seq \\d+ failed verification \\(checkpoint_signature\\): checkpoint at seq \\d+ is not signed by a trusted key: its key is ${signingKey.keyId}, the trusted key is ${other.keyId}`,
      ),
    );
    expect(untrusted.stderr).not.toContain('chain broken');
    for (const bad of [
      'AAAA',
      'notbase64',
      `${signingKey.publicKey}x`,
      // The key in base64url: only a different text when the key has a byte that encodes to + or /
      // (otherwise it is the base64 form without its final =, which is accepted).
      ...[Buffer.from(signingKey.publicKey, 'base64').toString('base64url')].filter((u) => /[-_]/.test(u)),
      // A base64url alphabet character, always.
      `${signingKey.publicKey.slice(0, 20)}_${signingKey.publicKey.slice(21)}`,
    ]) {
      for (const args of [
        ['--trusted-key', bad],
        ['--trusted-key', signingKey.publicKey, bad],
        ['--trusted-key', bad, '--data-dir', 'nowhere'],
      ]) {
        const r = await runCli(['audit', 'verify', ...args], { cwd: dir });
        expect([r.code, r.stdout]).toEqual([2, '']);
        expect(r.stderr).toContain(
          `--trusted-key ${JSON.stringify(bad)} is not an Ed25519 public key: expected the base64 of a raw 32-byte Ed25519 public key`,
        );
      }
    }
    const { createDatabase } = await import('@pipa/server');
    const database = await createDatabase({ url: `sqlite:${join(dir, '.pipa', 'pipa.db')}` });
    await database.db.updateTable('audit_events').set({ actor: 'key_forged' }).where('seq', '=', 3).execute();
    await database.close();
    const broken = await runCli(['audit', 'verify'], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit chain broken at seq 3 (hash)');
    const json = await runCli(['audit', 'verify', '--json'], { cwd: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, audit: { ok: false, firstBrokenSeq: 3 }, consent: { ok: true } });
    const db2 = await createDatabase({ url: `sqlite:${join(dir, '.pipa', 'pipa.db')}` });
    await db2.db.updateTable('consent_events').set({ action: 'withdraw' }).where('seq', '=', 1).execute();
    await db2.close();
    const both = await runCli(['audit', 'verify'], { cwd: dir });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('consent ledger broken at seq 1 (hash)');
    expect((await runCli(['audit', 'verify', '--data-dir', 'nowhere'], { cwd: dir })).code).toBe(2);
  });
});

describe('pipa serve: configuration is checked before anything is written (exit 2)', () => {
  const exists = (name: string) => existsSync(join(dir, name));

  it('a bad PIPA_MASTER_KEY, a bad PIPA_WEBHOOK_ALLOW_NETWORKS or an invalid example: exit 2, no data directory', async () => {
    mkdirSync(join(dir, 'bad-examples', 'broken'), { recursive: true });
    writeFileSync(join(dir, 'bad-examples', 'broken', 'policy.yaml'), 'app:\n  id: broken\n');
    const cases: { args: string[]; env: Record<string, string>; message: string }[] = [
      { args: [], env: { PIPA_MASTER_KEY: 'notbase64!!' }, message: 'PIPA_MASTER_KEY: not valid base64' },
      { args: [], env: { PIPA_MASTER_KEY: Buffer.alloc(16, 1).toString('base64') }, message: 'decodes to 16 bytes; a key is 32 bytes' },
      {
        args: [],
        env: { PIPA_WEBHOOK_ALLOW_NETWORKS: '10.0.0.0/99' },
        message: 'PIPA_WEBHOOK_ALLOW_NETWORKS: "10.0.0.0/99" is not a network',
      },
      { args: ['--examples', 'bad-examples'], env: {}, message: 'broken/policy.yaml' },
    ];
    for (const [i, c] of cases.entries()) {
      const r = await runCli(['serve', '--port', '0', '--data-dir', `b7-${i}`, ...c.args], { cwd: dir, env: c.env });
      expect([i, r.code]).toEqual([i, 2]);
      expect(r.stderr).toContain(c.message);
      expect(exists(`b7-${i}`)).toBe(false);
    }
  });

  it('--data-dir that is a file, or cannot be created: exit 2 naming --data-dir, not an internal error', async () => {
    writeFileSync(join(dir, 'afile'), 'x');
    const file = await runCli(['serve', '--port', '0', '--data-dir', 'afile'], { cwd: dir });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('--data-dir afile:');
    expect(file.stderr).toContain('is a file, not a folder');
    expect(file.stderr).not.toContain('internal error');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(dir, 'locked'), { mode: 0o500 });
      const locked = await runCli(['serve', '--port', '0', '--data-dir', 'locked/data'], { cwd: dir });
      expect(locked.code).toBe(2);
      expect(locked.stderr).toContain('--data-dir locked/data:');
      expect(locked.stderr).toContain('permission denied');
    }
    // A pseudo file system that refuses new folders (Node's recursive mkdir never returns there).
    if (process.platform === 'linux' && existsSync('/proc/self')) {
      const proc = await runCli(['serve', '--port', '0', '--data-dir', '/proc/pipa-no-such/data'], { cwd: dir });
      expect(proc.code).toBe(2);
      expect(proc.stderr).toContain('--data-dir /proc/pipa-no-such/data:');
      expect(proc.stderr).toContain('it cannot be created (ENOENT)');
    }
  });

  it('--host that does not resolve: exit 2 naming --host, nothing set up', async () => {
    const r = await runCli(['serve', '--host', '999.1.1.1', '--port', '0', '--data-dir', 'b6-host'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot listen on 999.1.1.1:0');
    expect(r.stderr).toContain('--host 999.1.1.1');
    expect(r.stderr).not.toContain('internal error');
    expect(exists('b6-host')).toBe(false);
  });

  it('a first start that cannot listen sets nothing up: no data directory, no key file; the next start prints the admin key', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await runCli(['serve', '--port', String(port), '--data-dir', 'b5'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--port ${port} is in use by another process`);
      expect(r.stdout).not.toContain('admin API key');
    } finally {
      await new Promise((done) => blocker.close(done));
    }
    expect(exists('b5')).toBe(false);
    const s = await serve({ dataDir: 'b5' });
    try {
      expect(s.io.out()).toContain('admin API key (shown once, store it now)');
      expect(s.service.adminKey).not.toBeNull();
    } finally {
      await s.stop();
    }
  });
});
