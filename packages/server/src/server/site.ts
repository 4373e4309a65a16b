/**
 * The published policies as a static site under /site/ (the policy, the two lists and the
 * permissions of every app, zh and en): what `pipa site` renders to files, served from memory and
 * re-rendered when a published version changes. The renderer is passed in (the CLI owns it), so
 * the server does not depend on the CLI. Files are looked up in the rendered map only: no path ever
 * reaches the file system.
 */
import type { Declaration } from '@pipa/policy';
import type { FastifyInstance } from 'fastify';
import type { AppPolicy } from '../service/context.js';

/** Relative path (`<app>/<lang>/policy.html`, `index.html`) -> content. */
export type SiteRenderer = (declarations: readonly Declaration[]) => Record<string, string>;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export function registerSite(app: FastifyInstance, policies: () => readonly AppPolicy[], render: SiteRenderer): void {
  let cache: { signature: string; files: Record<string, string> } | undefined;
  const files = (): Record<string, string> => {
    const list = [...policies()].sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0));
    const signature = list.map((p) => `${p.appId}@${p.version}`).join('\n');
    if (cache === undefined || cache.signature !== signature) cache = { signature, files: render(list.map((p) => p.declaration)) };
    return cache.files;
  };

  app.get('/', async (_req, reply) => reply.redirect('/site/'));
  app.get('/site', async (_req, reply) => reply.redirect('/site/'));
  app.get('/site/*', async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    const all = files();
    const path = rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest;
    if (all[path] === undefined && all[`${path}/index.html`] !== undefined) return reply.redirect(`/site/${rest}/`);
    const body = all[path];
    if (body === undefined) {
      return reply.code(404).type('text/html; charset=utf-8').send('<!doctype html><title>404</title><p>404 未找到 / Not found</p>');
    }
    const ext = path.slice(path.lastIndexOf('.') + 1);
    return reply
      .type(TYPES[ext] ?? 'text/plain; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(body);
  });
}
