import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeclaration, STARTER_TEMPLATE } from '@pipa/policy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../test-util.js';

let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-init-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pipa init', () => {
  it('writes pipa.policy.yaml in the current directory by default', async () => {
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pipa.policy.yaml');
    expect(r.stdout).toContain('pipa lint pipa.policy.yaml');
    const text = readFileSync(join(dir, 'pipa.policy.yaml'), 'utf8');
    expect(text).toBe(STARTER_TEMPLATE);
    expect(loadDeclaration(text, 'pipa.policy.yaml').declaration.app.id).toBe('example-app');
  });

  it('writes to the file it is given', async () => {
    mkdirSync(join(dir, 'policy'));
    const r = await runCli(['init', 'policy/app.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'policy', 'app.yaml'), 'utf8')).toBe(STARTER_TEMPLATE);
  });

  it('refuses to overwrite an existing file without --force', async () => {
    writeFileSync(join(dir, 'pipa.policy.yaml'), 'mine\n');
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipa.policy.yaml: 文件已存在，未覆盖；如需覆盖请加 --force');
    expect(r.stderr).toContain('add --force');
    expect(readFileSync(join(dir, 'pipa.policy.yaml'), 'utf8')).toBe('mine\n');
  });

  it('overwrites with --force', async () => {
    writeFileSync(join(dir, 'pipa.policy.yaml'), 'mine\n');
    const r = await runCli(['init', '--force'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'pipa.policy.yaml'), 'utf8')).toBe(STARTER_TEMPLATE);
  });

  it('says when the directory does not exist', async () => {
    const r = await runCli(['init', 'nowhere/app.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nowhere/app.yaml: 所在目录不存在 / its directory does not exist');
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('refuses a directory even with --force', async () => {
    mkdirSync(join(dir, 'adir'));
    const r = await runCli(['init', 'adir', '--force'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('adir: ');
  });
});
