import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOf, type RunningServer, resolveRequest, serveDirectory, serverUrl, shutdownSignal } from './serve.js';

let base: string;
let root: string;
let server: RunningServer;

/** A raw request: the path goes out exactly as written (no URL normalisation by a client). */
function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'pipa-serve-')));
  root = join(base, 'site');
  mkdirSync(join(root, 'app', 'zh'), { recursive: true });
  mkdirSync(join(root, 'empty'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(root, 'app', 'zh', 'policy.html'), '<!doctype html><title>policy</title>');
  writeFileSync(join(root, 'app', 'zh', 'policy.json'), '{"ok":true}');
  writeFileSync(join(root, 'app', 'zh', 'policy.md'), '# policy');
  writeFileSync(join(root, 'app', 'index.html'), 'app index');
  writeFileSync(join(root, '.secret'), 'dotfile');
  writeFileSync(join(base, 'secret.txt'), 'TOP SECRET');
  writeFileSync(join(base, 'site-evil.html'), 'SIBLING');
  symlinkSync(join(base, 'secret.txt'), join(root, 'link.txt'));
  server = await serveDirectory(root, '127.0.0.1', 0);
});

afterAll(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

describe('static server', () => {
  it('serves files with their content types and security headers', async () => {
    const html = await get('/app/zh/policy.html');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['x-content-type-options']).toBe('nosniff');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.body).toContain('policy');
    expect((await get('/app/zh/policy.json')).headers['content-type']).toBe('application/json; charset=utf-8');
    expect((await get('/app/zh/policy.md')).headers['content-type']).toBe('text/markdown; charset=utf-8');
  });

  it('serves index.html for a directory, redirecting to the trailing slash first', async () => {
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('home');
    const redirect = await get('/app?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/app/?x=1');
    expect((await get('/app/')).body).toBe('app index');
    expect((await get('/empty/')).status).toBe(404);
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get('/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    const post = await get('/index.html', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('shows a 404 page for what does not exist', async () => {
    const r = await get('/nope.html');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('404 未找到');
    expect(r.body).toContain('Not found');
  });

  it('never serves a file outside the root', async () => {
    const attempts = [
      '/../secret.txt',
      '/app/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/app/..%2F..%2Fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/%2e%2e%5csecret.txt',
      '/app/%2e%2e/%2e%2e/secret.txt',
      '/../site-evil.html',
      '/%252e%252e/secret.txt',
      '/secret.txt%00.html',
      '/link.txt',
      '/.secret',
      '/%2esecret',
      '//etc/passwd',
      `/${base}/secret.txt`,
    ];
    for (const path of attempts) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('SECRET');
      expect(r.body, path).not.toContain('SIBLING');
      expect(r.body, path).not.toContain('dotfile');
    }
  });

  it('resolveRequest maps paths under the root only', async () => {
    expect(await resolveRequest(root, '/app/zh/policy.html')).toEqual({ kind: 'file', path: join(root, 'app', 'zh', 'policy.html') });
    expect(await resolveRequest(root, '/app/zh/policy.html#top')).toEqual({ kind: 'file', path: join(root, 'app', 'zh', 'policy.html') });
    expect(await resolveRequest(root, '/%E0%A4%A')).toEqual({ kind: 'not-found' });
    expect(await resolveRequest(root, '/../secret.txt')).toEqual({ kind: 'not-found' });
    expect(await resolveRequest(root, 'relative')).toEqual({ kind: 'not-found' });
  });

  it('knows the content types of what the site holds', () => {
    expect(contentTypeOf('a/b.HTML')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('x.json')).toBe('application/json; charset=utf-8');
    expect(contentTypeOf('x.bin')).toBe('application/octet-stream');
    expect(serverUrl('127.0.0.1', 7800)).toBe('http://127.0.0.1:7800/');
    expect(serverUrl('::1', 80)).toBe('http://[::1]:80/');
  });

  it('reports a port that is taken', async () => {
    await expect(serveDirectory(root, '127.0.0.1', server.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('shutdownSignal', () => {
  it('aborts on SIGINT or SIGTERM and removes its listeners', () => {
    const emitter = new EventEmitter();
    const a = shutdownSignal(emitter);
    expect(a.signal.aborted).toBe(false);
    emitter.emit('SIGTERM');
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('SIGTERM');
    a.dispose();
    expect(emitter.listenerCount('SIGINT')).toBe(0);
    expect(emitter.listenerCount('SIGTERM')).toBe(0);
    const b = shutdownSignal(emitter);
    emitter.emit('SIGINT');
    expect(b.signal.reason).toBe('SIGINT');
    b.dispose();
  });
});
