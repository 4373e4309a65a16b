/** OpenAPI 3.1 document and a standalone reference page, generated from the route definitions. */
import { z } from 'zod';
import type { AnyRoute } from './route.js';

export const ERROR_SCHEMA = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable machine-readable code, e.g. validation_failed' }),
      message: z.string(),
      requestId: z.string(),
      details: z.array(z.object({ path: z.string().optional(), message: z.string() }).passthrough()).optional(),
    }),
  })
  .meta({ id: 'Error' });

function schema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

export function buildOpenApi(routes: readonly AnyRoute[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = toOpenApiPath(r.url);
    const parameters: unknown[] = [];
    for (const [where, s] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!s) continue;
      const js = schema(s, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: prop });
      }
    }
    const status = String(r.status ?? 200);
    const security =
      r.auth === 'none'
        ? []
        : r.auth === 'subject'
          ? [{ subjectToken: [] }]
          : r.auth === 'api-key-or-subject'
            ? [{ apiKey: r.scopes ?? [] }, { subjectToken: [] }]
            : [{ apiKey: r.scopes ?? [] }];
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      security,
      ...(r.scopes?.length ? { 'x-scopes': r.scopes } : {}),
      parameters,
      responses: {
        [status]:
          status === '204'
            ? { description: 'No content' }
            : { description: 'OK', content: { 'application/json': { schema: schema(r.response, 'output') } } },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } };
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: schema(ERROR_SCHEMA, 'output') },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key created with `pipa keys create` (shown once).' },
        subjectToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'pipa subject token',
          description: "A short-lived token signed by the operator's backend for one subject (end-user routes).",
        },
      },
    },
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A standalone HTML reference page (no external assets) for /docs. */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const info = doc.info as OpenApiInfo;
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const ops: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const id = String(op.operationId);
      toc.push(`<li><a href="#${esc(id)}"><code>${method.toUpperCase()} ${esc(path)}</code> ${esc(String(op.summary))}</a></li>`);
      const scopes = (op['x-scopes'] as string[] | undefined)?.join(', ');
      const security =
        (op.security as unknown[]).length === 0 ? 'none' : scopes ? `API key with scope: ${scopes}` : 'API key or subject token';
      const body = (op.requestBody as { content: { 'application/json': { schema: unknown } } } | undefined)?.content['application/json']
        .schema;
      const responses = op.responses as Record<string, { content?: { 'application/json': { schema: unknown } } }>;
      const ok = Object.entries(responses).find(([k]) => k !== 'default');
      ops.push(`<section id="${esc(id)}" aria-labelledby="${esc(id)}-h">
<h3 id="${esc(id)}-h"><span class="m m-${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(String(op.summary))}</p>${op.description ? `<p>${esc(String(op.description))}</p>` : ''}
<p><strong>Auth:</strong> ${esc(security)}</p>
${(op.parameters as unknown[]).length ? `<details><summary>Parameters</summary><pre>${esc(JSON.stringify(op.parameters, null, 2))}</pre></details>` : ''}
${body ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
${ok?.[1].content ? `<details><summary>Response ${esc(ok[0])}</summary><pre>${esc(JSON.stringify(ok[1].content['application/json'].schema, null, 2))}</pre></details>` : ''}
</section>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} — API reference</title>
<style>body{font:15px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:960px;padding:1rem;color:#1a1a1a}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}pre{background:#f4f4f4;padding:.75rem;overflow:auto;font-size:13px}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;color:#fff;font-size:13px;padding:0 .3em}
.m-get{background:#0b6e4f}.m-post{background:#1d4ed8}.m-put,.m-patch{background:#92400e}.m-delete{background:#b91c1c}a{color:#1d4ed8}</style></head>
<body><a href="#ops" class="skip">Skip to operations</a><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors always have the shape <code>{"error":{"code","message","requestId","details"?}}</code>.</p>
<nav aria-label="Operations"><h2>Operations</h2><ul>${toc.join('')}</ul></nav><main id="ops"><h2>Reference</h2>${ops.join('\n')}</main></body></html>`;
}
