import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, openServiceContext } from '@pipa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-util.js';

const APP = 'rot-app';
const PURPOSE = `rights-webhook:${APP}:verification:`;

let dir: string;
let secret: Buffer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-keys-cli-'));
  // A database with the system keys, one app and a webhook secret wrapped under master key version 1.
  const ctx = await openServiceContext({ dataDir: join(dir, '.pipa'), env: {} });
  const now = Date.now();
  await ctx.db.insertInto('apps').values({ id: APP, name: 'Rotation', current_version: null, created_at: now, updated_at: now }).execute();
  const generated = await ctx.keyring.generateSecret(PURPOSE);
  secret = generated.secret;
  await ctx.db
    .insertInto('rights_webhooks')
    .values({
      app_id: APP,
      kind: 'verification',
      recipient: '',
      url: 'https://hooks.example.com/pipa',
      secret_wrapped: generated.wrapped,
      created_at: now,
      updated_at: now,
    })
    .execute();
  // A rotation that stopped right after adding version 2: nothing re-wrapped yet.
  expect(await ctx.provider.addVersion()).toBe(2);
  await ctx.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipa keys status / rotate / retire', () => {
  it('status names the rows each version still wraps, per table', async () => {
    const r = await runCli(['keys', 'status'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/version 1\s+in use\s+6 row\(s\)/);
    expect(r.stdout).toMatch(/version 2\s+current\s+0 row\(s\)/);
    expect(r.stdout).toMatch(/system_keys\.wrapped\s+v1: 5/);
    expect(r.stdout).toMatch(/rights_webhooks\.secret_wrapped\s+v1: 1/);
    expect(r.stdout).toMatch(/rights_requests\.key_wrapped\s+\(empty\)/);
    expect(r.stdout).toContain('pending: 6 row(s)');
    const json = JSON.parse((await runCli(['keys', 'status', '--json'], { cwd: dir })).stdout) as {
      currentVersion: number;
      pending: number;
    };
    expect(json).toMatchObject({ currentVersion: 2, pending: 6 });
  });

  it('retire refuses a version rows still use, naming each table, and changes nothing', async () => {
    const r = await runCli(['keys', 'retire', '1'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('master key version 1 still wraps rows');
    expect(r.stderr).toContain('system_keys.wrapped 仍有 5 行由版本 1 包装');
    expect(r.stderr).toContain('rights_webhooks.secret_wrapped 仍有 1 行由版本 1 包装');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    for (const bad of ['0', 'x', '1.5', '-1']) {
      const b = await runCli(['keys', 'retire', bad], { cwd: dir });
      expect([bad, b.code]).toEqual([bad, 2]);
    }
    expect((await runCli(['keys', 'retire', '2'], { cwd: dir })).stderr).toContain('version 2 is current');
    expect((await runCli(['keys', 'retire', '7'], { cwd: dir })).stderr).toContain('master key version 7 is not held');
    expect((await runCli(['keys', 'status'], { cwd: dir })).stdout).toContain('pending: 6 row(s)');
  });

  it('rotate continues the unfinished rotation (no new version), then a version can be retired and the secret is unchanged', async () => {
    const r = await runCli(['keys', 'rotate'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resuming the unfinished rotation to master key version 2');
    expect(r.stdout).toContain('system keys: 5 re-wrapped, 0 failed');
    expect(r.stdout).toContain('webhook secrets: 1 re-wrapped, 0 failed');
    expect(r.stdout).toContain('nothing is wrapped under older versions any more');
    const status = await runCli(['keys', 'status'], { cwd: dir });
    expect(status.stdout).toMatch(/version 1\s+retirable\s+0 row\(s\)/);
    expect(status.stdout).toContain('nothing pending');
    const retired = await runCli(['keys', 'retire', '1'], { cwd: dir });
    expect(retired.code).toBe(0);
    expect(retired.stdout).toContain('master key version 1 retired');
    expect(retired.stdout).not.toMatch(/version 1 {2}/);

    const ctx = await openServiceContext({ dataDir: join(dir, '.pipa'), env: {} });
    try {
      const row = await ctx.db.selectFrom('rights_webhooks').select('secret_wrapped').executeTakeFirstOrThrow();
      expect(row.secret_wrapped.readUInt32BE(2)).toBe(2);
      expect((await ctx.keyring.unwrapSecret(row.secret_wrapped, PURPOSE)).equals(secret)).toBe(true);
      const events = await ctx.audit.events({ limit: 100 });
      expect(events.filter((e) => e.action.startsWith('keys.')).map((e) => `${e.action}:${e.actor}`)).toEqual(
        expect.arrayContaining(['keys.rotate:cli', 'keys.retire:cli']),
      );
    } finally {
      await ctx.close();
    }

    // Nothing pending: the next rotate adds a version.
    const next = await runCli(['keys', 'rotate', '--json'], { cwd: dir });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ fromVersion: 2, toVersion: 3, resumed: false, pending: 0 });
  });

  it('rotate --new-version adds a version even while rows are pending, and re-wraps rows of every older version', async () => {
    const ctx = await openServiceContext({ dataDir: join(dir, '.pipa'), env: {} });
    expect(await ctx.provider.addVersion()).toBe(4);
    await ctx.close();
    const r = await runCli(['keys', 'rotate', '--new-version'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('version 4 → 5');
    expect(r.stdout).toContain('webhook secrets: 1 re-wrapped');
    const status = JSON.parse((await runCli(['keys', 'status', '--json'], { cwd: dir })).stdout) as {
      versions: { version: number; rows: number; retirable: boolean }[];
    };
    expect(status.versions.map((v) => [v.version, v.rows, v.retirable])).toEqual([
      [2, 0, true],
      [3, 0, true],
      [4, 0, true],
      [5, 6, false],
    ]);
  });
});

describe('pipa keys create / revoke: errors name the option given', () => {
  it('an unknown app names --app, a long name --name, an unknown key <id>: exit 2, nothing created', async () => {
    const app = await runCli(['keys', 'create', '--app', 'no-such-app', '--scopes', 'vault:read'], { cwd: dir });
    expect(app.code).toBe(2);
    expect(app.stderr).toContain('unknown app no-such-app');
    expect(app.stderr).toContain('--app');
    expect(app.stderr).not.toContain('$.body');
    const name = await runCli(['keys', 'create', '--app', APP, '--scopes', 'vault:read', '--name', 'n'.repeat(500)], { cwd: dir });
    expect(name.code).toBe(2);
    expect(name.stderr).toContain('--name');
    expect(name.stderr).not.toContain('$.body');
    const revoke = await runCli(['keys', 'revoke', 'key_aaaaaaaaaaaa'], { cwd: dir });
    expect(revoke.code).toBe(2);
    expect(revoke.stderr).toContain('<id>');
    expect(revoke.stderr).not.toContain('$.params');
    expect((await runCli(['keys', 'list', '--json'], { cwd: dir })).stdout.trim()).toBe('[]');
  });
});

/** Every file under `root`, relative, sorted. */
function files(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

async function systemKeyRows(dataDir: string): Promise<number> {
  const database = await createDatabase({ url: `sqlite:${join(dataDir, 'pipa.db')}` });
  try {
    return (await database.db.selectFrom('system_keys').select('purpose').execute()).length;
  } finally {
    await database.close();
  }
}

describe('pipa keys / requests never create a master key: they refuse an installation they cannot open (exit 2)', () => {
  it('a migrated database without system keys: refused, no key file, no system keys', async () => {
    expect((await runCli(['migrate', '--data-dir', 'migrated-only'], { cwd: dir })).code).toBe(0);
    for (const args of [
      ['keys', 'list'],
      ['keys', 'status'],
      ['requests', 'list'],
    ]) {
      const r = await runCli([...args, '--data-dir', 'migrated-only'], { cwd: dir });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toContain('no pipa installation in');
      expect(r.stderr).toContain('start the service once (pipa serve)');
    }
    expect(files(join(dir, 'migrated-only'))).toEqual(['pipa.db']);
    expect(await systemKeyRows(join(dir, 'migrated-only'))).toBe(0);
  });

  it('an installation whose key file is gone: "no master key", named, and no new key file', async () => {
    const copy = join(dir, 'copy');
    cpSync(join(dir, '.pipa'), copy, { recursive: true });
    rmSync(join(copy, 'master-key.json'));
    const before = files(copy);
    for (const args of [
      ['keys', 'status'],
      ['keys', 'list'],
      ['keys', 'create', '--scopes', 'decide'],
      ['requests', 'list'],
    ]) {
      const r = await runCli([...args, '--data-dir', 'copy'], { cwd: dir });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toContain(
        `no master key for this installation: its system keys are wrapped, but the key file ${join(copy, 'master-key.json')} does not exist`,
      );
      expect(r.stderr).toContain('此安装没有主密钥');
      expect(r.stderr).not.toContain('authentication failed');
    }
    expect(files(copy)).toEqual(before);
    expect(await systemKeyRows(copy)).toBe(5);
  });

  it('a wrong PIPA_MASTER_KEY: "wrapped by another master key", not tampering; nothing written', async () => {
    const env = { PIPA_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') };
    const before = files(join(dir, '.pipa'));
    for (const args of [
      ['keys', 'status'],
      ['keys', 'list'],
      ['requests', 'list'],
    ]) {
      const r = await runCli(args, { cwd: dir, env });
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toContain("this database's keys were wrapped by another master key than the one configured (env PIPA_MASTER_KEY");
      expect(r.stderr).toContain('restore the right key');
      expect(r.stderr).toContain('此数据库的密钥由另一个主密钥包装');
      expect(r.stderr).not.toContain('ciphertext authentication failed');
    }
    expect(files(join(dir, '.pipa'))).toEqual(before);
    expect((await runCli(['keys', 'status'], { cwd: dir })).code).toBe(0);
  });
});
