/**
 * A small static file server (node:http) for the rendered site: GET and HEAD only, content types
 * by extension, `index.html` for directories, a 404 page, and no way out of the root: `..`
 * segments (plain or percent-encoded), encoded slashes and backslashes, NUL bytes, dot-files and
 * symbolic links that point outside the root are all refused.
 */
import { realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { renderHtmlPage } from '@pipa/policy';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf',
  '.xml': 'application/xml; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
} as const;

export type Resolved = { kind: 'file'; path: string } | { kind: 'redirect'; location: string } | { kind: 'not-found' };

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/** Map a request target to a file under `root` (an absolute, real path), or refuse it. */
export async function resolveRequest(root: string, target: string): Promise<Resolved> {
  const notFound: Resolved = { kind: 'not-found' };
  const end = target.search(/[?#]/);
  const rawPath = end >= 0 ? target.slice(0, end) : target;
  const query = end >= 0 && target[end] === '?' ? target.slice(end) : '';
  if (!rawPath.startsWith('/')) return notFound;
  // Encoded separators would turn one segment into several after decoding: refuse them outright.
  if (/%2f|%5c|%00/i.test(rawPath)) return notFound;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return notFound;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return notFound;
  const segments = decoded.split('/').filter((s) => s !== '');
  // No `..` or `.` segments, no dot-files (.git, .env …).
  if (segments.some((s) => s.startsWith('.'))) return notFound;
  const full = join(root, ...segments);
  if (!inside(root, full)) return notFound;
  let st = await stat(full).catch(() => undefined);
  if (!st) return notFound;
  let file = full;
  if (st.isDirectory()) {
    if (!rawPath.endsWith('/')) return { kind: 'redirect', location: `${rawPath}/${query}` };
    file = join(full, 'index.html');
    st = await stat(file).catch(() => undefined);
    if (!st) return notFound;
  }
  if (!st.isFile()) return notFound;
  // A symbolic link may point anywhere: the real path must still be under the root.
  const real = await realpath(file).catch(() => undefined);
  if (!real || !inside(root, real)) return notFound;
  return { kind: 'file', path: real };
}

function notFoundPage(): string {
  return renderHtmlPage({
    lang: 'zh',
    title: '404 未找到 / Not found',
    body: [
      '<main id="main" tabindex="-1">',
      '<h1>404 未找到 <span lang="en">/ Not found</span></h1>',
      '<p>您请求的页面不存在。<span lang="en">The page you asked for does not exist.</span></p>',
      '<p><a href="/">返回首页 <span lang="en">/ Back to the start page</span></a></p>',
      '</main>',
    ].join('\n'),
  });
}

const NOT_FOUND_PAGE = notFoundPage();

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('405 Method Not Allowed\n');
    return;
  }
  const r = await resolveRequest(root, req.url ?? '/');
  if (r.kind === 'redirect') {
    res.writeHead(301, { ...SECURITY_HEADERS, location: r.location });
    res.end();
    return;
  }
  if (r.kind === 'not-found') {
    const body = Buffer.from(NOT_FOUND_PAGE);
    res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  const body = await readFile(r.path);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': contentTypeOf(r.path), 'content-length': body.length });
  res.end(method === 'HEAD' ? undefined : body);
}

/** An http.Server that serves `root` (which must exist by the first request). */
export function createStaticServer(root: string): Server {
  // Resolved at the first request, not here: `pipa site --serve` listens before it writes the site
  // (a port that is taken is found before anything is written).
  let realRoot: string | undefined;
  const rootOf = (): string => {
    realRoot ??= realpathSync(resolve(root));
    return realRoot;
  };
  return createServer((req, res) => {
    Promise.resolve()
      .then(() => handle(rootOf(), req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end('500 Internal Server Error\n');
      });
  });
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export function serverUrl(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

/** Listen on host:port (port 0 = any free port). Rejects with the listen error (EADDRINUSE …). */
export function serveDirectory(root: string, host: string, port: number): Promise<RunningServer> {
  const server = createStaticServer(root);
  return new Promise((resolvePromise, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const actual = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolvePromise({
        server,
        port: actual,
        url: serverUrl(host, actual),
        close: () => {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

/** An AbortSignal that fires on the first of `signals` emitted by `emitter` (process by default). */
export function shutdownSignal(
  emitter: Pick<NodeJS.EventEmitter, 'once' | 'off'> = process,
  signals: readonly string[] = ['SIGINT', 'SIGTERM'],
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: string) => controller.abort(name);
  const listeners = signals.map((name) => [name, () => handler(name)] as const);
  for (const [name, fn] of listeners) emitter.once(name, fn);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, fn] of listeners) emitter.off(name, fn);
    },
  };
}
