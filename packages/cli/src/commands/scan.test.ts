import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-util.js';

const PG = process.env.PIPA_TEST_POSTGRES_URL;
const MY = process.env.PIPA_TEST_MYSQL_URL;

let dir: string;

const POLICY = `pipa: 1
app: { id: demo, name: 演示, products: [{ name: 演示, platforms: [android] }] }
controller: { legalName: 演示公司 }
versions: [{ version: "1" }]
categories:
  - id: contact.phone
  - id: identity.id-card
    encrypted: true
purposes:
  - id: account
    name: 账号
    basis: contract
    categories: [contact.phone, identity.id-card]
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-scan-'));
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'app.log'), '2024-01-15 INFO login phone=13812345678\n身份证号：11010519491231002X\n');
  writeFileSync(join(dir, 'users.csv'), '姓名,手机号\n张伟,13912345678\n');
  writeFileSync(join(dir, 'clean.txt'), '没有个人信息。\n');
  writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 3, 0, 255, 13, 10]));
  writeFileSync(join(dir, 'bad-utf8.txt'), Buffer.concat([Buffer.from('a'), Buffer.from([0xff, 0xfe]), Buffer.from(' 手机13812345678\n')]));
  writeFileSync(join(dir, 'broken.json'), '{"mobile": "13812345678",');
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const db = new Database(join(dir, 'app.db'));
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, mobile TEXT, id_no TEXT, note TEXT)');
  db.prepare('INSERT INTO users (mobile, id_no, note) VALUES (?, ?, ?)').run('13812345678', '11010519491231002X', 'vip');
  db.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipa scan: files', () => {
  it('reports per file with masked examples and positions; skips binaries; exit 1 without a policy', async () => {
    const r = await runCli(['scan', 'logs', 'users.csv', 'blob.bin', 'clean.txt'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('138****5678');
    expect(r.stdout).toContain('1101**********002X');
    expect(r.stdout).toContain(`${join('logs', 'app.log')}:1:29`);
    expect(r.stdout).toMatch(/blob\.bin: 已跳过 \/ skipped/);
    expect(r.stdout).not.toContain('13812345678');
  });
  it('exit 0 when nothing is found', async () => {
    const r = await runCli(['scan', 'clean.txt'], { cwd: dir });
    expect(r.code).toBe(0);
  });
  it('warns about invalid UTF-8 and invalid JSON and goes on', async () => {
    const r = await runCli(['scan', 'bad-utf8.txt', 'broken.json', '--format', 'json'], { cwd: dir });
    const report = JSON.parse(r.stdout);
    const byTarget = Object.fromEntries(report.targets.map((t: { target: string }) => [t.target, t]));
    expect(byTarget['bad-utf8.txt'].warnings[0]).toMatch(/invalid UTF-8 at byte 1/);
    expect(byTarget['bad-utf8.txt'].groups[0].type).toBe('phone');
    expect(byTarget['broken.json'].warnings[0]).toMatch(/broken\.json:1:\d+: JSON 无效/);
    expect(byTarget['broken.json'].groups[0].type).toBe('phone');
  });
  it('compares with the declaration: undeclared categories and plain text where encrypted is declared', async () => {
    const r = await runCli(['scan', '.', '--policy', 'policy.yaml', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const rules = report.findings.map((f: { rule: string; category: string }) => `${f.rule}:${f.category}`);
    expect(rules).toContain('unencrypted:identity.id-card');
    expect(rules).toContain('undeclared:basic.name');
    expect(rules).not.toContain('undeclared:contact.phone');
  });
  it('scans SQLite files by table and column', async () => {
    const r = await runCli(['scan', 'app.db', '--format', 'json'], { cwd: dir });
    const t = JSON.parse(r.stdout).targets[0];
    expect(t.kind).toBe('sqlite');
    expect(t.groups.map((g: { field: string; type: string }) => `${g.field}:${g.type}`).sort()).toEqual([
      'users.id_no:id-card',
      'users.mobile:phone',
    ]);
  });
  it('writes SARIF 2.1.0 and a standalone HTML report', async () => {
    const s = await runCli(['scan', 'logs', '--format', 'sarif'], { cwd: dir });
    const sarif = JSON.parse(s.stdout);
    expect(sarif.version).toBe('2.1.0');
    const result = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'pii/phone');
    expect(result.locations[0].physicalLocation.region.startLine).toBe(1);
    expect(sarif.runs[0].results.some((x: { ruleId: string }) => x.ruleId === 'policy/undeclared')).toBe(true);
    const h = await runCli(['scan', 'logs', '--format', 'html'], { cwd: dir });
    expect(h.stdout).toMatch(/^<!doctype html>/);
    expect(h.stdout).not.toMatch(/<script|https?:\/\//);
    expect(h.stdout).toContain('138****5678');
  });
  it('bad input: missing path, bad options, invalid policy exit 2; unreachable database exit 4', async () => {
    expect((await runCli(['scan', 'nope'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['scan', '.', '--sample', '0'], { cwd: dir })).code).toBe(2);
    expect((await runCli(['scan', '.', '--types', 'phone,nope'], { cwd: dir })).code).toBe(2);
    writeFileSync(join(dir, 'bad-policy.yaml'), 'pipa: 2\n');
    expect((await runCli(['scan', 'clean.txt', '--policy', 'bad-policy.yaml'], { cwd: dir })).code).toBe(2);
    const r = await runCli(['scan', 'clean.txt', 'postgres://nobody:secret@127.0.0.1:1/x', '--timeout', '2000'], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('connection refused');
    expect(r.stdout).not.toContain('secret');
    const both = await runCli(['scan', 'logs', 'postgres://nobody@127.0.0.1:1/x', '--timeout', '2000'], { cwd: dir });
    expect(both.code).toBe(5);
  });
});

describe.runIf(PG)('pipa scan: PostgreSQL', () => {
  const schema = `pipa_scan_test_${process.pid}`;
  const withSchema = async (sql: string) => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  beforeAll(async () => {
    await withSchema(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.customers (id serial primary key, phone text, card text, city text);
      INSERT INTO ${schema}.customers (phone, card, city) VALUES ('13812345678', '6222021234567890128', '北京'), ('13912345678', NULL, NULL);`);
  });
  afterAll(async () => {
    await withSchema(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
  it('samples every table and reports columns', async () => {
    const r = await runCli(['scan', PG as string, '--format', 'json', '--sample', '10'], { cwd: dir });
    const t = JSON.parse(r.stdout).targets[0];
    expect(t.status).toBe('scanned');
    const phone = t.groups.find((g: { field: string }) => g.field === `${schema}.customers.phone`);
    expect(phone?.count).toBe(2);
    expect(t.groups.some((g: { field: string }) => g.field === `${schema}.customers.card`)).toBe(true);
  });
  it('sampling limits the rows read', async () => {
    const r = await runCli(['scan', PG as string, '--format', 'json', '--sample', '1'], { cwd: dir });
    const phone = JSON.parse(r.stdout).targets[0].groups.find((g: { field: string }) => g.field === `${schema}.customers.phone`);
    expect(phone?.count).toBe(1);
  });
  it('wrong credentials or database: a clear message, exit 4', async () => {
    const u = new URL(PG as string);
    u.pathname = '/pipa_no_such_database';
    const r = await runCli(['scan', u.toString()], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/does not exist|authentication failed/);
  });
});

describe.runIf(MY)('pipa scan: MySQL / MariaDB', () => {
  const table = `pipa_scan_test_${process.pid}`;
  const run = async (sql: string) => {
    const mysql = await import('mysql2/promise');
    const c = await mysql.createConnection({ uri: MY as string, multipleStatements: true });
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  beforeAll(async () => {
    await run(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int primary key auto_increment, mobile varchar(32), email varchar(64)) DEFAULT CHARSET=utf8mb4;
      INSERT INTO ${table} (mobile, email) VALUES ('13812345678', 'zhang.san@example.com');`);
  });
  afterAll(async () => {
    await run(`DROP TABLE IF EXISTS ${table}`);
  });
  it('samples the tables of the database in the URL', async () => {
    const r = await runCli(['scan', MY as string, '--format', 'json'], { cwd: dir });
    const t = JSON.parse(r.stdout).targets[0];
    expect(t.status).toBe('scanned');
    const fields = t.groups.map((g: { field: string; type: string }) => `${g.field}:${g.type}`);
    expect(fields).toContain(`${table}.mobile:phone`);
    expect(fields).toContain(`${table}.email:email`);
  });
  it('wrong password: authentication failed, exit 4, password not printed', async () => {
    const u = new URL(MY as string);
    u.password = 'definitely-wrong';
    const r = await runCli(['scan', u.toString()], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/authentication failed/);
    expect(r.stdout).not.toContain('definitely-wrong');
  });
});
