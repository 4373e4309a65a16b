import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { buildSite, readSiteApps, renderSite } from '../static-site/render-site.js';
import { asGbk, runCli } from '../test-util.js';
import { runSite, SITE_DEFAULTS } from './site.js';

const EXAMPLES = fileURLToPath(new URL('../../../../examples', import.meta.url));
const APPS = ['shengshitong', 'xiaopiaopiao-merchant'];
const DOCS = ['index', 'policy', 'collection-list', 'sharing-list', 'permissions'];

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-site-'));
  cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true });
  // A folder without a declaration is not an app.
  mkdirSync(join(dir, 'examples', 'notes'));
  writeFileSync(join(dir, 'examples', 'notes', 'README.md'), 'not an app');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bufferIo(cwd: string): CliIo & { out: () => string } {
  let out = '';
  return {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      out += s;
    },
    cwd,
    env: {},
    out: () => out,
  };
}

describe('pipa site', () => {
  it('renders every example in zh and en with an index of the apps', async () => {
    const r = await runCli(['site'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('site rendered: site/ (2 apps');
    for (const app of APPS) {
      expect(existsSync(join(dir, 'site', app, 'index.html'))).toBe(true);
      for (const lang of ['zh', 'en']) {
        for (const doc of DOCS) {
          for (const ext of ['html', 'md', 'json'])
            expect(existsSync(join(dir, 'site', app, lang, `${doc}.${ext}`)), `${app}/${lang}/${doc}.${ext}`).toBe(true);
        }
      }
    }
    const index = readFileSync(join(dir, 'site', 'index.html'), 'utf8');
    expect(index).toContain('<html lang="zh-CN">');
    expect(index).toContain('<a href="shengshitong/zh/policy.html">隐私政策</a>');
    expect(index).toContain('<a href="xiaopiaopiao-merchant/en/policy.html" lang="en" hreflang="en">Privacy policy</a>');
    expect(index).toContain('盛事通');
    expect(index).toContain('小票票商户版');
    // Each page links the other language and the site index.
    const zh = readFileSync(join(dir, 'site', 'shengshitong', 'zh', 'policy.html'), 'utf8');
    expect(zh).toContain('href="../en/policy.html"');
    expect(zh).toContain('href="../../index.html"');
    const en = readFileSync(join(dir, 'site', 'shengshitong', 'en', 'sharing-list.html'), 'utf8');
    expect(en).toContain('<html lang="en">');
    expect(en).toContain('href="../zh/sharing-list.html"');
  });

  it('honours --out and --examples', async () => {
    const r = await runCli(['site', '--out', 'public', '--examples', 'examples'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'public', 'index.html'))).toBe(true);
  });

  it('exits 2 and writes nothing when an example is invalid', async () => {
    const examples = join(dir, 'bad-examples');
    cpSync(EXAMPLES, examples, { recursive: true });
    const file = join(examples, 'shengshitong', 'policy.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('type: none', 'type: none\n  colour: red'));
    const r = await runCli(['site', '--examples', 'bad-examples', '--out', 'bad-site'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-examples\/shengshitong\/policy\.yaml:\d+:\d+: unknown field "colour"/);
    expect(r.stderr).toContain('nothing written');
    expect(existsSync(join(dir, 'bad-site'))).toBe(false);
  });

  it('exits 2 and writes nothing when an example is not UTF-8', async () => {
    const examples = join(dir, 'gbk-examples');
    cpSync(EXAMPLES, examples, { recursive: true });
    const file = join(examples, 'shengshitong', 'policy.yaml');
    writeFileSync(file, asGbk(readFileSync(file, 'utf8').replace('# ', '# 演示 ')));
    const r = await runCli(['site', '--examples', 'gbk-examples', '--out', 'gbk-site'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gbk-examples\/shengshitong\/policy\.yaml:\d+:\d+: not UTF-8: byte 0xD1/);
    expect(existsSync(join(dir, 'gbk-site'))).toBe(false);
  });

  it('exits 2 when there are no examples', async () => {
    mkdirSync(join(dir, 'empty-examples'));
    const none = await runCli(['site', '--examples', 'empty-examples', '--out', 'none'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('empty-examples: no */policy.yaml found');
    const missing = await runCli(['site', '--examples', 'no-such-dir', '--out', 'none'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no-such-dir: cannot read the examples directory (no such directory)');
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('refuses two folders that declare the same app id', () => {
    const apps = readSiteApps(join(dir, 'examples'));
    const first = apps[0];
    if (!first) throw new Error('no apps');
    expect(() => buildSite([first, { ...first, file: 'copy/policy.yaml' }])).toThrow(/app\.id "shengshitong" is also declared by/);
  });

  it('rejects a bad port before rendering', async () => {
    const r = await runCli(['site', '--serve', '--port', '70000', '--out', 'port-site'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port must be a number from 0 to 65535');
    expect(existsSync(join(dir, 'port-site'))).toBe(false);
  });

  it('a port that is taken is found before anything is written', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await runCli(['site', '--serve', '--port', String(port), '--out', 'taken-site'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
      expect(r.stderr).toContain('nothing written');
      expect(existsSync(join(dir, 'taken-site'))).toBe(false);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('serves the site until stopped, then shuts down', async () => {
    const io = bufferIo(dir);
    const stop = new AbortController();
    const running = runSite(io, { ...SITE_DEFAULTS, out: 'served', serve: true, port: '0' }, stop.signal);
    let url = '';
    for (let i = 0; i < 200 && !url; i++) {
      url = /http:\/\/127\.0\.0\.1:\d+\//.exec(io.out())?.[0] ?? '';
      if (!url) await new Promise((r) => setTimeout(r, 25));
    }
    expect(url).not.toBe('');
    const home = await fetch(url);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('隐私政策与清单');
    const policy = await fetch(`${url}xiaopiaopiao-merchant/en/policy.html`);
    expect(policy.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await policy.text()).toContain('Xiaopiaopiao Merchant Edition Privacy Policy');
    const missing = await fetch(`${url}nope`);
    expect(missing.status).toBe(404);
    stop.abort();
    await running;
    expect(io.out()).toContain('已停止 / stopped');
    await expect(fetch(url)).rejects.toThrow();
  });

  it('renderSite is reusable as a function', () => {
    const result = renderSite({ examplesDir: 'examples', outDir: 'fn-site', cwd: dir, formats: ['html'] });
    expect(result.apps.map((a) => a.id)).toEqual(APPS);
    expect(existsSync(join(dir, 'fn-site', 'shengshitong', 'en', 'policy.html'))).toBe(true);
    expect(existsSync(join(dir, 'fn-site', 'shengshitong', 'en', 'policy.json'))).toBe(false);
  });
});

describe('pipa start', () => {
  it('is registered: the service with the examples on 127.0.0.1:7800, the site under /site/ (serve.test.ts runs it)', async () => {
    const r = await runCli(['start', '--help'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('http://127.0.0.1:7800/');
    expect(r.stdout).toContain('run the service');
    expect(SITE_DEFAULTS).toMatchObject({ host: '127.0.0.1', port: '7800', out: 'site', examples: 'examples' });
  });
});
