import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGbk, runCli } from '../test-util.js';

/** A declaration with no error finding (one warning and one info remain: no external dispute route, no number of individuals). */
const CLEAN = `pipa: 1
app:
  id: demo
  name: { zh: 演示, en: Demo }
  products:
    - name: 演示
      platforms: [android]
  type: none
controller:
  legalName: 演示科技有限公司
  phone: ["400-000-0000"]
  complaint: 拨打 400-000-0000 投诉
versions:
  - version: "1.0"
    effective: 2025-01-01
consent:
  firstLaunchDialog: true
categories:
  - id: contact.phone
purposes:
  - id: account
    name: { zh: 账号, en: Account }
    basis: contract
    required: true
    categories: [contact.phone]
    scenario: 注册时
    retention:
      - trigger: account-cancellation
minors:
  ageThreshold: 14
  guardianConsent: true
  under14Rules: 《儿童个人信息保护规则》
rights:
  responseTime: { value: 15, unit: working-days }
  withdrawal: 我的-设置-隐私
  list:
    - right: access
      channels: [{ kind: in-app }]
    - right: copy
      channels: [{ kind: in-app }]
    - right: correction
      channels: [{ kind: in-app }]
    - right: deletion
      channels: [{ kind: in-app }]
    - right: cancellation
      channels: [{ kind: in-app }]
  cancellation:
    afterwards: delete
security:
  measures: [access-control, incident-plan, staff-training]
incidents:
  channels: [sms]
  content: [what-happened, impact, categories, cause, measures, self-protection, remedies, contact]
  reportsToRegulator: true
storage:
  location: 中华人民共和国境内
changes:
  notification: [pop-up]
  materialChangeNotice: true
`;

/** Using the service counts as consent, and a purpose has no lawful basis. */
const FAULTY = CLEAN.replace('  firstLaunchDialog: true', '  firstLaunchDialog: true\n  impliedByUse: true').replace(
  '    basis: contract\n',
  '',
);

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-lint-'));
  writeFileSync(join(dir, 'clean.yaml'), CLEAN);
  writeFileSync(join(dir, 'faulty.yaml'), FAULTY);
  writeFileSync(join(dir, 'bad-yaml.yaml'), 'pipa: 1\napp: [\n');
  writeFileSync(join(dir, 'gbk.yaml'), asGbk(CLEAN));
  writeFileSync(join(dir, 'bom.yaml'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CLEAN)]));
  writeFileSync(join(dir, 'utf16.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CLEAN, 'utf16le')]));
  writeFileSync(join(dir, 'bad-basis.yaml'), CLEAN.replace('basis: contract', 'basis: contrat'));
  const laughs = ['pipa: 1', 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 10; i++) {
    const uses = Array(10)
      .fill(`*a${i - 1}`)
      .join(', ');
    laughs.push(`a${i}: &a${i} [${uses}]`);
  }
  writeFileSync(join(dir, 'laughs.yaml'), `${laughs.join('\n')}\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runCli(['lint', ...args], { cwd: dir });

describe('pipa lint', () => {
  it('refuses a declaration that is not UTF-8 (exit 2) at its first invalid byte, printing nothing on stdout', async () => {
    const gbk = await run('gbk.yaml');
    expect(gbk.code).toBe(2);
    expect(gbk.stdout).toBe('');
    // line 4 is `  name: { zh: 演示, en: Demo }`
    expect(gbk.stderr).toMatch(/^gbk\.yaml:4:15: not UTF-8: byte 0xD1 at byte offset \d+ is not valid UTF-8; save the file as UTF-8/);
    const utf16 = await run('utf16.yaml');
    expect(utf16.code).toBe(2);
    expect(utf16.stdout).toBe('');
    expect(utf16.stderr).toMatch(/^utf16\.yaml:1:1: not UTF-8: it looks like UTF-16LE .*save it as UTF-8/);
    expect(utf16.stderr).not.toContain('mapping');
  });

  it('accepts UTF-8 with a byte-order mark', async () => {
    const r = await run('bom.yaml');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('exits 0 without error findings and prints the summary', async () => {
    const r = await run('clean.yaml');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/ error /);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^clean\.yaml：共 \d+ 项，错误 0，警告 \d+，提示 \d+。$/);
  });

  it('exits 1 with error findings, as file:line:col severity rule message lines with hints', async () => {
    const r = await run('faulty.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('faulty.yaml:18:17 error PIPL-14/implied-consent 政策规定使用服务即视为同意');
    expect(r.stdout).toContain('faulty.yaml:22:5 error PIPL-13/basis-missing 目的“账号”（account）未说明处理“手机号码”的合法性基础。');
    expect(r.stdout).toContain('    修改建议：为该目的写明 basis');
    expect(r.stdout).toMatch(/faulty\.yaml：共 \d+ 项，错误 2，/);
  });

  it('writes the fixed JSON shape', async () => {
    const r = await run('faulty.yaml', '--format', 'json');
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json)).toEqual(['findings', 'summary']);
    expect(json.summary.error).toBe(2);
    const implied = json.findings.find((f: { rule: string }) => f.rule === 'PIPL-14/implied-consent');
    expect(implied).toEqual({
      rule: 'PIPL-14/implied-consent',
      severity: 'error',
      path: '$.consent.impliedByUse',
      line: 18,
      column: 17,
      message: '政策规定使用服务即视为同意：同意须在充分知情的前提下自愿、明确作出，使用行为本身不构成同意。',
      citation: '《中华人民共和国个人信息保护法》第十四条',
      hint: expect.stringContaining('删除“使用即视为同意”的条款'),
    });
    const clean = await run('clean.yaml', '--format', 'json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout).summary.error).toBe(0);
  });

  it('writes SARIF 2.1.0', async () => {
    const r = await run('faulty.yaml', '--format', 'sarif');
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    const run0 = sarif.runs[0];
    expect(run0.tool.driver.name).toBe('pipa');
    const result = run0.results.find((x: { ruleId: string }) => x.ruleId === 'PIPL-13/basis-missing');
    expect(result.level).toBe('error');
    expect(result.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'faulty.yaml', index: 0 },
      region: { startLine: 22, startColumn: 5 },
    });
    expect(run0.tool.driver.rules[result.ruleIndex].id).toBe('PIPL-13/basis-missing');
  });

  it('speaks English with --lang en', async () => {
    const r = await run('faulty.yaml', '--lang', 'en');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'faulty.yaml:22:5 error PIPL-13/basis-missing Purpose "Account" (account) does not state the lawful basis for processing "Mobile phone number".',
    );
    expect(r.stdout).toContain('    fix: Give the purpose a basis');
    expect(r.stdout).toMatch(/faulty\.yaml: \d+ finding\(s\): 2 error\(s\)/);
    const json = JSON.parse((await run('faulty.yaml', '--lang', 'en', '--format', 'json')).stdout);
    expect(json.findings[0].citation).toMatch(/^Personal Information Protection Law of the PRC/);
  });

  it('exits 2 with file:line:col and nothing on stdout when the file is malformed', async () => {
    const yaml = await run('bad-yaml.yaml');
    expect(yaml.code).toBe(2);
    expect(yaml.stdout).toBe('');
    expect(yaml.stderr).toMatch(/^bad-yaml\.yaml:\d+:\d+: YAML: /m);
    const schema = await run('bad-basis.yaml', '--format', 'json');
    expect(schema.code).toBe(2);
    expect(schema.stdout).toBe('');
    expect(schema.stderr).toMatch(/^bad-basis\.yaml:23:12: must be one of: .*"contract".* \(at \$\.purposes\[0\]\.basis\)/m);
    const missing = await run('missing.yaml');
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('missing.yaml: cannot read (no such file)');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with file:line:col on a "billion laughs" alias bomb, not an internal error', async () => {
    const r = await run('laughs.yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^laughs\.yaml:\d+:\d+: YAML: too many alias expansions at \*a\d /m);
    expect(r.stderr).not.toContain('internal error');
  });

  it('exits 2 on a bad option or a missing file argument', async () => {
    expect((await run('clean.yaml', '--format', 'xml')).code).toBe(2);
    expect((await run('clean.yaml', '--lang', 'fr')).code).toBe(2);
    expect((await run()).code).toBe(2);
  });

  it('reports the two seed policies with errors that name the recipients', async () => {
    const xpp = await runCli(['lint', 'examples/xiaopiaopiao-merchant/policy.yaml'], { cwd: repoRoot });
    expect(xpp.code).toBe(1);
    expect(xpp.stdout).toMatch(/^examples\/xiaopiaopiao-merchant\/policy\.yaml:\d+:\d+ error MIIT-337\/app-list-shared .*个推SDK/m);
    const sst = await runCli(['lint', 'examples/shengshitong/policy.yaml', '--format', 'json'], { cwd: repoRoot });
    expect(sst.code).toBe(1);
    const rules = JSON.parse(sst.stdout).findings.map((f: { rule: string }) => f.rule);
    expect(rules).toContain('PIPL-36/storage-location');
    expect(rules).toContain('MIIT-164/background-sensitive');
  });
});
