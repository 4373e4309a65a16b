import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGbk, runCli } from '../test-util.js';

const V1 = `pipa: 1
app:
  id: demo
  name: { zh: 演示, en: Demo }
  products:
    - name: 演示
      platforms: [android]
controller:
  legalName: 演示科技有限公司
  phone: ["400-000-0000"]
versions:
  - version: "1.0"
categories:
  - id: contact.phone
  - id: device.model
purposes:
  - id: account
    name: { zh: 账号, en: Account }
    basis: contract
    categories: [contact.phone]
    retention:
      - trigger: account-cancellation
  - id: stats
    name: { zh: 统计, en: Statistics }
    basis: consent
    categories: [device.model]
`;

/** Wording and contact details only. */
const V1_EDITORIAL = V1.replace('"400-000-0000"', '"400-111-1111"').replace(
  '{ zh: 账号, en: Account }',
  '{ zh: 账号与登录, en: Account and sign-in }',
);

/** A purpose uses a new category, and the purposes are reordered. */
const V2_MATERIAL = V1.replace(
  `  - id: account
    name: { zh: 账号, en: Account }
    basis: contract
    categories: [contact.phone]
    retention:
      - trigger: account-cancellation
  - id: stats
    name: { zh: 统计, en: Statistics }
    basis: consent
    categories: [device.model]
`,
  `  - id: stats
    name: { zh: 统计, en: Statistics }
    basis: consent
    categories: [device.model, contact.phone]
  - id: account
    name: { zh: 账号, en: Account }
    basis: contract
    categories: [contact.phone]
    retention:
      - trigger: account-cancellation
`,
);

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-diff-'));
  writeFileSync(join(dir, 'v1.yaml'), V1);
  writeFileSync(join(dir, 'v1-copy.yaml'), V1);
  writeFileSync(join(dir, 'v1-editorial.yaml'), V1_EDITORIAL);
  writeFileSync(join(dir, 'v2.yaml'), V2_MATERIAL);
  writeFileSync(join(dir, 'bad-basis.yaml'), V1.replace('basis: contract', 'basis: contrat'));
  writeFileSync(join(dir, 'bad-yaml.yaml'), 'pipa: 1\napp: [\n');
  writeFileSync(join(dir, 'v1-gbk.yaml'), asGbk(V1));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runCli(['diff', ...args], { cwd: dir });

describe('pipa diff', () => {
  it('exits 0 and says so when the files are identical', async () => {
    const r = await run('v1.yaml', 'v1-copy.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('两个版本之间没有变更');
    expect(r.stderr).toBe('');
  });

  it('exits 0 for editorial changes and lists them', async () => {
    const r = await run('v1.yaml', 'v1-editorial.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('编辑性变更 (2)');
    expect(r.stdout).toContain('contact.changed  $.controller.phone');
    expect(r.stdout).toContain('text.changed  $.purposes[0].name');
    expect(r.stdout).toContain('无需重新征得同意');
  });

  it('exits 3 when re-consent is required, ignoring the reordering', async () => {
    const r = await run('v1.yaml', 'v2.yaml');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('实质性变更');
    expect(r.stdout).toContain('purpose.category-added  $.purposes[0].categories');
    expect(r.stdout).toContain('受影响的目的：stats');
    expect(r.stdout).not.toContain('编辑性变更');
  });

  it('writes the fixed JSON shape', async () => {
    const r = await run('v1.yaml', 'v2.yaml', '--format', 'json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      changes: [
        {
          kind: 'purpose.category-added',
          path: '$.purposes[0].categories',
          material: true,
          summary: '目的“统计”（stats）新增个人信息类别“手机号码”',
        },
      ],
      reconsent: true,
    });
  });

  it('writes English summaries with --lang en, and JSON without changes', async () => {
    const r = await run('v1.yaml', 'v2.yaml', '--format', 'json', '--lang', 'en');
    expect(JSON.parse(r.stdout).changes[0].summary).toBe('Purpose "Statistics" (stats) now also processes "Mobile phone number"');
    const same = await run('v1.yaml', 'v1-copy.yaml', '--format', 'json');
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toEqual({ changes: [], reconsent: false });
    const text = await run('v1.yaml', 'v1-editorial.yaml', '--lang', 'en');
    expect(text.stdout).toContain('Editorial changes (2)');
  });

  it('exits 2 with file:line:col when the new file is invalid', async () => {
    const r = await run('v1.yaml', 'bad-basis.yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bad-basis\.yaml:19:12: must be one of: .*"contract".* \(at \$\.purposes\[0\]\.basis\)/m);
  });

  it('exits 2 when a version is not UTF-8, instead of listing mojibake as changes', async () => {
    const r = await run('v1.yaml', 'v1-gbk.yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^v1-gbk\.yaml:\d+:\d+: not UTF-8: byte 0xD1 at byte offset \d+/m);
  });

  it('exits 2 and reports both files when both are invalid', async () => {
    const r = await run('bad-yaml.yaml', 'missing.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bad-yaml\.yaml:\d+:\d+: YAML: /m);
    expect(r.stderr).toContain('missing.yaml: cannot read (no such file)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a bad option or a missing argument', async () => {
    expect((await run('v1.yaml', 'v2.yaml', '--format', 'xml')).code).toBe(2);
    expect((await run('v1.yaml', 'v2.yaml', '--lang', 'fr')).code).toBe(2);
    expect((await run('v1.yaml')).code).toBe(2);
  });
});
