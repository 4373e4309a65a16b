import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-util.js';

let dir: string;
const KEY = 'redact-key-0123456789';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-redact-'));
  writeFileSync(join(dir, 'in.log'), '手机13812345678，身份证11010519491231002X，邮箱 a.b@example.com\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipa redact', () => {
  it('masks by default', async () => {
    const r = await runCli(['redact', 'in.log'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('手机138****5678，身份证1101**********002X，邮箱 a***@example.com\n');
  });
  it('applies an operator per type or category, with a key from the environment', async () => {
    const r = await runCli(
      ['redact', 'in.log', '--op', 'phone=token', '--op', 'identity.id-card=hash', '--op', 'email=tag', '--key-env', 'K', '--summary'],
      {
        cwd: dir,
        env: { K: KEY },
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^手机138\d{8}，身份证[0-9a-f]{64}，邮箱 <EMAIL>\n$/);
    expect(r.stdout).not.toContain('13812345678');
    expect(r.stderr).toContain('phone 1');
    const again = await runCli(
      ['redact', 'in.log', '--op', 'phone=token', '--op', 'identity.id-card=hash', '--op', 'email=tag', '--key-env', 'K'],
      {
        cwd: dir,
        env: { K: KEY },
      },
    );
    expect(again.stdout).toBe(r.stdout);
  });
  it('reads stdin', async () => {
    const r = await runCli(['redact', '--op', 'default=redact'], { cwd: dir, stdin: Readable.from([Buffer.from('电话 139 1234 5678。')]) });
    expect(r.stdout).toBe('电话 。');
  });
  it('bad input: unknown operator or type, missing key, missing file: exit 2', async () => {
    expect((await runCli(['redact', 'in.log', '--op', 'phone=blur'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['redact', 'in.log', '--op', 'nope=mask'], { cwd: dir })).code).toBe(2);
    const noKey = await runCli(['redact', 'in.log', '--op', 'phone=hash'], { cwd: dir });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--key-env');
    expect((await runCli(['redact', 'in.log', '--op', 'phone=hash', '--key-env', 'K'], { cwd: dir, env: { K: 'short' } })).code).toBe(2);
    expect((await runCli(['redact', 'missing.log'], { cwd: dir })).code).toBe(2);
  });
});
