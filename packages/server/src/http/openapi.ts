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

type Json = Record<string, unknown>;

/**
 * zod writes a schema with an id (`.meta({ id })`), or one used in a cycle, into the generated schema's
 * own `$defs` and refers to it as `#/$defs/<name>` (or to the schema itself as `#`). Inside an OpenAPI
 * document those references resolve against the document's root, which has no `$defs`: so each
 * generated schema's `$defs` are moved to `components.schemas` and its references rewritten to
 * `#/components/schemas/<name>` (a schema that refers to itself is moved there too). A name already
 * taken by a different schema gets a suffix.
 */
class Components {
  readonly schemas: Record<string, Json> = {};

  /** The schema of `s`, every reference in it resolvable in the document. */
  schema(s: z.ZodType, io: 'input' | 'output', name: string): Json {
    const out = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    delete out.$schema;
    const defs = (out.$defs ?? {}) as Record<string, Json>;
    delete out.$defs;
    const renamed = new Map<string, string>();
    for (const [def, body] of Object.entries(defs)) {
      // The same schema with an id, met again (the same body, referring to nothing local): one component.
      const key = def.startsWith('__') || hasLocalRef(body) ? undefined : `${def} ${JSON.stringify(body)}`;
      const known = key === undefined ? undefined : this.byBody.get(key);
      const chosen = known ?? this.freeName(def.startsWith('__') ? `${name}_${def.slice(2)}` : def);
      if (key !== undefined) this.byBody.set(key, chosen);
      renamed.set(`#/$defs/${def}`, chosen);
    }
    const selfRef = hasRef(out, '#') || Object.values(defs).some((d) => hasRef(d, '#'));
    if (selfRef) renamed.set('#', this.freeName(name));
    const rewrite = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(rewrite);
      if (v === null || typeof v !== 'object') return v;
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [
          k,
          k === '$ref' && typeof x === 'string' && renamed.has(x) ? `#/components/schemas/${renamed.get(x)}` : rewrite(x),
        ]),
      );
    };
    for (const [def, body] of Object.entries(defs)) this.put(renamed.get(`#/$defs/${def}`) as string, rewrite(body) as Json);
    const root = rewrite(out) as Json;
    if (!selfRef) return root;
    this.put(renamed.get('#') as string, root);
    return { $ref: `#/components/schemas/${renamed.get('#')}` };
  }

  private readonly pending = new Set<string>();
  private readonly byBody = new Map<string, string>();

  /** `base`, or `base_2`, `base_3`… (a name is reserved when chosen, filled by `put`). */
  private freeName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9._-]/g, '_');
    let n = clean;
    for (let i = 2; n in this.schemas || this.pending.has(n); i++) n = `${clean}_${i}`;
    this.pending.add(n);
    return n;
  }

  private put(name: string, body: Json): void {
    this.pending.delete(name);
    this.schemas[name] = body;
  }
}

function hasLocalRef(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasLocalRef);
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => (k === '$ref' ? typeof x === 'string' && x.startsWith('#') : hasLocalRef(x)));
}

function hasRef(v: unknown, ref: string): boolean {
  if (Array.isArray(v)) return v.some((x) => hasRef(x, ref));
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => (k === '$ref' ? x === ref : hasRef(x, ref)));
}

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

export function buildOpenApi(routes: readonly AnyRoute[], info: OpenApiInfo): Record<string, unknown> {
  const components = new Components();
  const errorSchema = components.schema(ERROR_SCHEMA, 'output', 'Error');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = toOpenApiPath(r.url);
    const parameters: unknown[] = [];
    for (const [where, s] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!s) continue;
      const js = components.schema(s, 'input', `${r.operationId}_${where}`) as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
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
            : {
                description: 'OK',
                content: { 'application/json': { schema: components.schema(r.response, 'output', `${r.operationId}_response`) } },
              },
        default: { description: 'Error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
    if (r.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: components.schema(r.body, 'input', `${r.operationId}_body`) } },
      };
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components.schemas,
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
