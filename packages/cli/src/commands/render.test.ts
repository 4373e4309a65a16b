import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGbk, runCli } from '../test-util.js';

const DECL = `pipa: 1
app:
  id: demo
  name: { zh: 演示, en: Demo }
  products:
    - name: 演示
      platforms: [android]
controller:
  legalName: 演示科技有限公司
versions:
  - version: "1.0"
categories:
  - id: contact.phone
  - id: location.precise
purposes:
  - id: account
    name: { zh: 账号, en: Account }
    basis: contract
    categories: [contact.phone]
  - id: nearby
    name: { zh: 附近门店, en: Nearby shops }
    categories: [location.precise]
permissions:
  - id: location
    name: { zh: 位置, en: Location }
    android: [android.permission.ACCESS_FINE_LOCATION]
    purposes: [nearby]
recipients:
  - id: map-sdk
    name: 地图SDK
    kind: sdk
    purposes: [nearby]
    categories: [location.precise]
    method: sdk
`;

const FILES = ['collection-list', 'index', 'permissions', 'policy', 'sharing-list'];

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-render-'));
  writeFileSync(join(dir, 'policy.yaml'), DECL);
  // Invalid: an unknown field on line 5.
  writeFileSync(join(dir, 'bad.yaml'), DECL.replace('  name: { zh: 演示, en: Demo }', '  name: { zh: 演示, en: Demo }\n  nmae: typo'));
  writeFileSync(join(dir, 'broken.yaml'), 'pipa: 1\napp: [unclosed\n');
  writeFileSync(join(dir, 'gbk.yaml'), asGbk(DECL));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipa render', () => {
  it('writes the policy, the lists and the index as HTML in zh by default', async () => {
    const r = await runCli(['render', 'policy.yaml', '--out', 'out-html'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'out-html')).sort()).toEqual(FILES.map((f) => `${f}.html`));
    const policy = readFileSync(join(dir, 'out-html', 'policy.html'), 'utf8');
    expect(policy).toContain('<html lang="zh-CN">');
    expect(policy).toContain('id="purpose-nearby"');
    expect(r.stdout).toContain('已生成 5 个文件：');
    expect(r.stdout).toContain(join('out-html', 'policy.html'));
  });

  it('writes Markdown and JSON, in en', async () => {
    const md = await runCli(['render', 'policy.yaml', '--out', 'out-md', '--format', 'md', '--lang', 'en'], { cwd: dir });
    expect(md.code).toBe(0);
    expect(readdirSync(join(dir, 'out-md')).sort()).toEqual(FILES.map((f) => `${f}.md`));
    expect(readFileSync(join(dir, 'out-md', 'sharing-list.md'), 'utf8')).toMatch(/^\| Recipient \| Company \|/m);
    expect(md.stdout).toContain('Wrote 5 files:');
    const json = await runCli(['render', join(dir, 'policy.yaml'), '--out', join(dir, 'nested', 'out-json'), '--format', 'json'], {
      cwd: dir,
    });
    expect(json.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'nested', 'out-json', 'permissions.json'), 'utf8')) as { rows: { id: string }[] };
    expect(doc.rows.map((r) => r.id)).toEqual(['permission-location']);
  });

  it('overwrites an earlier render in place', async () => {
    const out = join(dir, 'again');
    expect((await runCli(['render', 'policy.yaml', '--out', out], { cwd: dir })).code).toBe(0);
    writeFileSync(join(out, 'policy.html'), 'old');
    expect((await runCli(['render', 'policy.yaml', '--out', out], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(out, 'policy.html'), 'utf8')).toContain('<!doctype html>');
    expect(readdirSync(out).sort()).toEqual(FILES.map((f) => `${f}.html`));
  });

  it('exits 2 on an invalid declaration, says where, and writes nothing', async () => {
    const r = await runCli(['render', 'bad.yaml', '--out', 'out-bad'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5:3: unknown field "nmae"/);
    expect(existsSync(join(dir, 'out-bad'))).toBe(false);
    const broken = await runCli(['render', 'broken.yaml', '--out', 'out-broken'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.yaml:\d+:\d+/);
    expect(existsSync(join(dir, 'out-broken'))).toBe(false);
  });

  it('exits 2 on a declaration that is not UTF-8 and writes nothing', async () => {
    const r = await runCli(['render', 'gbk.yaml', '--out', 'out-gbk'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gbk\.yaml:4:15: not UTF-8: byte 0xD1 at byte offset \d+/);
    expect(existsSync(join(dir, 'out-gbk'))).toBe(false);
  });

  it('exits 2 on a missing file and without --out, writing nothing', async () => {
    const missing = await runCli(['render', 'nope.yaml', '--out', 'out-missing'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml: cannot read (no such file)');
    expect(existsSync(join(dir, 'out-missing'))).toBe(false);
    const noOut = await runCli(['render', 'policy.yaml'], { cwd: dir });
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("required option '--out <dir>'");
    const badFormat = await runCli(['render', 'policy.yaml', '--out', 'x', '--format', 'pdf'], { cwd: dir });
    expect(badFormat.code).toBe(2);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('exits 2 when --out is a file', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = await runCli(['render', 'policy.yaml', '--out', 'a-file'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a-file: cannot write (exists and is not a directory)');
    expect(readFileSync(join(dir, 'a-file'), 'utf8')).toBe('x');
    // A file above --out is named as such.
    const below = await runCli(['render', 'policy.yaml', '--out', 'a-file/below'], { cwd: dir });
    expect(below.code).toBe(2);
    expect(below.stderr).toContain('a-file: cannot write (exists and is not a directory)');
  });

  it('writes all files or none: one target that cannot be written leaves the others unwritten', async () => {
    const out = join(dir, 'partial');
    mkdirSync(join(out, 'sharing-list.html'), { recursive: true });
    const r = await runCli(['render', 'policy.yaml', '--out', 'partial'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join('partial', 'sharing-list.html')}: cannot write (exists and is not a file); 未写入任何文件`);
    expect(readdirSync(out)).toEqual(['sharing-list.html']);
  });
});
