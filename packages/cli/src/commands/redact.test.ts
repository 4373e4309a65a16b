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
  // `客户 13812345678` with 客户 in GBK (BFCD BBA7)
  writeFileSync(
    join(dir, 'gbk.log'),
    Buffer.concat([Buffer.from('line 1\n'), Buffer.from([0xbf, 0xcd, 0xbb, 0xa7]), Buffer.from(' 13812345678\n')]),
  );
  // Reads are 256 KiB: a character split across two reads is UTF-8, a sequence broken across them is not.
  const a = Buffer.alloc(256 * 1024 - 1, 'a');
  writeFileSync(join(dir, 'split.log'), Buffer.concat([a, Buffer.from('演示 13812345678\n')]));
  writeFileSync(join(dir, 'split-bad.log'), Buffer.concat([a, Buffer.from([0xe6]), Buffer.from('x\n')]));
  writeFileSync(join(dir, 'truncated.log'), Buffer.concat([Buffer.from('13812345678 '), Buffer.from([0xe6, 0xbc])]));
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
  it('opens every input before writing: a missing file or a folder among them writes nothing', async () => {
    const r = await runCli(['redact', 'in.log', 'missing.log', '.'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('missing.log: 文件不存在 / no such file');
    expect(r.stderr).toContain('.: 是目录 / is a directory');
    const withStdin = await runCli(['redact', '-', 'missing.log'], { cwd: dir, stdin: Readable.from([Buffer.from('13812345678\n')]) });
    expect(withStdin.code).toBe(2);
    expect(withStdin.stdout).toBe('');
  });
  it('refuses a file that is not UTF-8, naming it and the byte offset, and writes nothing', async () => {
    const r = await runCli(['redact', 'in.log', 'gbk.log'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('gbk.log: 不是 UTF-8 / not UTF-8: byte 0xBF at byte offset 7 is not valid UTF-8');
    expect(r.stderr).toContain('nothing written');
    expect(r.stdout + r.stderr).not.toContain('\uFFFD');
    const truncated = await runCli(['redact', 'truncated.log'], { cwd: dir });
    expect(truncated.code).toBe(2);
    expect(truncated.stdout).toBe('');
    expect(truncated.stderr).toContain('byte 0xE6 at byte offset 12 ');
  });
  it('passes a UTF-8 byte-order mark through', async () => {
    writeFileSync(join(dir, 'bom.log'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('13812345678\n')]));
    const r = await runCli(['redact', 'bom.log'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('\uFEFF138****5678\n');
  });
  it('finds the offset across reads, and keeps a character split between two reads', async () => {
    const ok = await runCli(['redact', 'split.log'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout.endsWith('演示 138****5678\n')).toBe(true);
    const bad = await runCli(['redact', 'split-bad.log'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain(`byte 0xE6 at byte offset ${256 * 1024 - 1} `);
  });
  it('stops standard input at the first byte that is not UTF-8, with exit 2', async () => {
    const gbk = Buffer.concat([Buffer.from([0xbf, 0xcd, 0xbb, 0xa7]), Buffer.from(' 13812345678\n')]);
    const r = await runCli(['redact'], { cwd: dir, stdin: Readable.from([Buffer.from('电话 139 1234 5678\n'), gbk]) });
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('\uFFFD');
    expect(r.stdout).not.toContain('13812345678');
    expect(r.stderr).toContain(
      `标准输入 / stdin: 不是 UTF-8 / not UTF-8: byte 0xBF at byte offset ${Buffer.byteLength('电话 139 1234 5678\n')} `,
    );
  });
});
