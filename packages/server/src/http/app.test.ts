import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PipaError } from '../errors.js';
import { createHttpApp } from './app.js';
import { createRateLimiter } from './rate-limit.js';
import { type AnyRoute, type Authenticator, defineRoute, type Principal, type Scope } from './route.js';

const keys = new Map<string, Principal>([
  ['Bearer pipa_k1_secret', { kind: 'api-key', keyId: 'k1', appId: 'demo', scopes: new Set<Scope>(['vault:write']) }],
  ['Bearer pipa_k2_secret', { kind: 'api-key', keyId: 'k2', appId: 'demo', scopes: new Set<Scope>(['decide']) }],
  ['Bearer verified.subject.token', { kind: 'subject', appId: 'demo', subjectId: 'sub_a', tokenId: 'j1' }],
]);
const auth: Authenticator = { authenticate: async (req) => keys.get(String(req.headers.authorization)) ?? null };

const writes: unknown[] = [];
const routes: AnyRoute[] = [
  defineRoute({
    method: 'POST',
    url: '/v1/things/:id',
    operationId: 'putThing',
    summary: 'Store a thing',
    tags: ['test'],
    auth: 'api-key',
    scopes: ['vault:write'],
    params: z.object({ id: z.string().regex(/^t_[a-z]+$/) }),
    body: z.strictObject({ phone: z.string().min(1).max(20), count: z.number().int() }),
    status: 201,
    response: z.object({ id: z.string(), stored: z.boolean() }),
    handler: async ({ params, body }) => {
      if (params.id === 't_missing') throw new PipaError('unknown_subject', 'unknown subject t_missing');
      if (params.id === 't_crash') throw new Error('secret 13812345678 exploded');
      writes.push(body);
      // `phone` is not in the response schema: it must never leave the server.
      return { id: params.id, stored: true, phone: body.phone } as { id: string; stored: boolean };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/ping',
    operationId: 'ping',
    summary: 'Ping',
    tags: ['test'],
    auth: 'none',
    query: z.object({ q: z.string().optional() }),
    response: z.object({ pong: z.literal(true) }),
    rateLimit: { bucket: 'ping', perMinute: 3 },
    handler: async () => ({ pong: true as const }),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/pages',
    operationId: 'pages',
    summary: 'A page of something',
    tags: ['test'],
    auth: 'none',
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).optional(), order: z.enum(['asc', 'desc']) }),
    response: z.object({ ok: z.literal(true) }),
    handler: async () => ({ ok: true as const }),
  }),
];

let logs = '';
const sink = new Writable({
  write(chunk, _enc, cb) {
    logs += String(chunk);
    cb();
  },
});

async function app() {
  return createHttpApp({ routes, auth, version: 'test', bodyLimit: 1024, logger: { level: 'info', stream: sink } });
}

afterEach(() => {
  writes.length = 0;
});

const K1 = { authorization: 'Bearer pipa_k1_secret' };

describe('http app', () => {
  it('accepts a valid request and serialises only the response schema', async () => {
    const a = await app();
    const r = await a.inject({ method: 'POST', url: '/v1/things/t_abc', headers: K1, payload: { phone: '13812345678', count: 2 } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: 't_abc', stored: true });
    expect(r.body).not.toContain('138');
    expect(r.headers['x-request-id']).toMatch(/^req_/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it.each([
    ['malformed JSON', { payload: '{"phone": ', headers: { ...K1, 'content-type': 'application/json' } }, 400, 'invalid_json'],
    ['wrong types', { payload: { phone: 1, count: 'x' }, headers: K1 }, 400, 'validation_failed'],
    ['unknown field', { payload: { phone: '1', count: 1, extra: true }, headers: K1 }, 400, 'validation_failed'],
    [
      'JSON sent as text/plain',
      { payload: '{"phone":"1","count":1}', headers: { ...K1, 'content-type': 'text/plain' } },
      415,
      'unsupported_media_type',
    ],
    [
      'a form',
      { payload: 'phone=1&count=1', headers: { ...K1, 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
    ['oversized body', { payload: { phone: 'x'.repeat(2000), count: 1 }, headers: K1 }, 413, 'payload_too_large'],
    ['missing key', { payload: { phone: '1', count: 1 }, headers: {} }, 401, 'unauthenticated'],
    ['wrong key', { payload: { phone: '1', count: 1 }, headers: { authorization: 'Bearer pipa_k9_nope' } }, 401, 'unauthenticated'],
    ['wrong scope', { payload: { phone: '1', count: 1 }, headers: { authorization: 'Bearer pipa_k2_secret' } }, 403, 'forbidden'],
    [
      'a token that does not verify',
      { payload: { phone: '1', count: 1 }, headers: { authorization: 'Bearer nope' } },
      401,
      'unauthenticated',
    ],
    [
      'a verified subject token on a key route',
      { payload: { phone: '1', count: 1 }, headers: { authorization: 'Bearer verified.subject.token' } },
      403,
      'forbidden',
    ],
  ])('%s -> %i %s with the error shape and nothing written', async (_name, req, status, code) => {
    const a = await app();
    const r = await a.inject({ method: 'POST', url: '/v1/things/t_abc', ...req });
    expect(r.statusCode).toBe(status);
    const body = r.json() as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.requestId).toBe(r.headers['x-request-id']);
    expect(writes).toHaveLength(0);
  });

  it('a body that is not JSON, or holds a __proto__ key, is refused saying where, without repeating it', async () => {
    const a = await app();
    const json = { ...K1, 'content-type': 'application/json' };
    const cut = await a.inject({
      method: 'POST',
      url: '/v1/things/t_abc',
      headers: json,
      payload: '{"phone": "13812345678",\n "count" 2}',
    });
    expect(cut.statusCode).toBe(400);
    expect(cut.json().error).toMatchObject({
      code: 'invalid_json',
      message: "the body is not valid JSON: line 2, column 10: expected ':' after a property name",
      details: [{ path: '$.body', line: 2, column: 10 }],
    });
    expect(cut.body).not.toContain('138');
    const proto = await a.inject({
      method: 'POST',
      url: '/v1/things/t_abc',
      headers: json,
      payload: '{"phone": "1", "count": 1, "__proto__": {"admin": true}}',
    });
    expect(proto.statusCode).toBe(400);
    expect(proto.json().error.code).toBe('invalid_json');
    expect(proto.json().error.message).toContain('$.body.__proto__ (line 1, column 28): a "__proto__" key is refused');
    expect(writes).toHaveLength(0);
  });

  it('refuses a query parameter the route does not declare instead of ignoring it', async () => {
    const a = await app();
    const known = await a.inject({ method: 'GET', url: '/v1/ping?q=1' });
    expect(known.statusCode).toBe(200);
    const unknown = await a.inject({ method: 'GET', url: '/v1/ping?q=1&filter=x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details[0]).toMatchObject({ path: '$.query', code: 'unrecognized_keys' });
    expect(unknown.json().error.details[0].message).toContain('filter');
    const none = await a.inject({ method: 'POST', url: '/v1/things/t_abc?dryRun=1', headers: K1, payload: { phone: '1', count: 1 } });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.details[0]).toMatchObject({ path: '$.query', code: 'unrecognized_keys' });
    expect(none.json().error.details[0].message).toContain('dryRun');
    expect(writes).toHaveLength(0);
  });

  it('names the JSON path of each invalid field', async () => {
    const a = await app();
    const r = await a.inject({ method: 'POST', url: '/v1/things/BAD', headers: K1, payload: { phone: 1, count: 1 } });
    const details = (r.json() as { error: { details: { path: string }[] } }).error.details;
    expect(details.map((d) => d.path)).toEqual(['$.params.id']);
    const r2 = await a.inject({ method: 'POST', url: '/v1/things/t_a', headers: K1, payload: { phone: 1, count: 1 } });
    expect((r2.json() as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)).toEqual(['$.body.phone']);
  });

  it('says what is wrong in words a caller understands, the first problem in the message', async () => {
    const a = await app();
    const err = async (url: string, payload?: Record<string, unknown>) => {
      const r = await a.inject({
        method: payload === undefined ? 'GET' : 'POST',
        url,
        headers: K1,
        ...(payload === undefined ? {} : { payload }),
      });
      expect(r.statusCode, url).toBe(400);
      return (r.json() as { error: { message: string; details: { path: string; message: string; code: string }[] } }).error;
    };
    const missing = await err('/v1/things/t_a', {});
    expect(missing.details).toEqual([
      { path: '$.body.phone', message: 'required (a string)', code: 'invalid_type' },
      { path: '$.body.count', message: 'required (a number)', code: 'invalid_type' },
    ]);
    expect(missing.message).toBe('request body is invalid: $.body.phone: required (a string); 1 more problem in details');
    const badId = await err('/v1/things/BAD', { phone: '1', count: 1 });
    expect(badId.message).toMatch(/^request params are invalid: \$\.params\.id: /);
    const order = await err('/v1/pages');
    expect(order.details).toEqual([{ path: '$.query.order', message: 'required (one of "asc", "desc")', code: 'invalid_value' }]);
    expect(order.message).toBe('request query is invalid: $.query.order: required (one of "asc", "desc")');
    expect((await err('/v1/pages?order=asc&limit=ten')).details[0]).toMatchObject({ path: '$.query.limit', message: 'must be a number' });
    expect((await err('/v1/pages?order=asc&limit=1.5')).details[0]).toMatchObject({
      path: '$.query.limit',
      message: 'must be a whole number',
    });
    expect((await err('/v1/pages?order=asc&limit=0')).details[0]).toMatchObject({ path: '$.query.limit', message: 'must be at least 1' });
    expect((await err('/v1/pages?order=asc&limit=101')).details[0]).toMatchObject({
      path: '$.query.limit',
      message: 'must be at most 100',
    });
    expect((await err('/v1/things/t_a', { phone: '', count: 1 })).details[0]).toMatchObject({
      path: '$.body.phone',
      message: 'must not be empty',
    });
    expect((await err('/v1/things/t_a', { phone: '1'.repeat(21), count: 1 })).details[0]).toMatchObject({
      path: '$.body.phone',
      message: 'must be at most 20 characters long',
    });
    // A repeated parameter is named as such, not as a wrong type.
    const twice = await err('/v1/pages?order=asc&limit=1&limit=2&order=desc');
    expect(twice.details).toEqual([
      { path: '$.query.order', message: 'given 2 times; give it once', code: 'repeated_parameter' },
      { path: '$.query.limit', message: 'given 2 times; give it once', code: 'repeated_parameter' },
    ]);
    expect(twice.message).toBe('request query is invalid: $.query.order: given 2 times; give it once; 1 more problem in details');
    // A wrong type names what was given, as a type only.
    expect((await err('/v1/things/t_a', { phone: 1, count: 1 })).details[0]?.message).toBe('must be a string (got a number)');
    expect((await err('/v1/things/t_a', { phone: ['1'], count: 1 })).details[0]?.message).toBe('must be a string (got an array)');
    expect((await err('/v1/things/t_a', { phone: '1', count: null })).details[0]?.message).toBe('must be a number (got null)');
    // A wrong enum value: the allowed ones, never the value given (it may be personal information).
    const sideways = await err('/v1/pages?order=13812345678');
    expect(sideways.details[0]).toMatchObject({ path: '$.query.order', message: 'must be one of "asc", "desc"' });
    expect(JSON.stringify(sideways)).not.toContain('13812345678');
    const ok = await a.inject({ method: 'GET', url: '/v1/pages?order=asc&limit=2' });
    expect(ok.statusCode).toBe(200);
  });

  it('maps domain errors and hides unknown ones behind a 500', async () => {
    const a = await app();
    const r = await a.inject({ method: 'POST', url: '/v1/things/t_missing', headers: K1, payload: { phone: '1', count: 1 } });
    expect(r.statusCode).toBe(404);
    expect((r.json() as { error: { code: string } }).error.code).toBe('unknown_subject');
    const c = await a.inject({ method: 'POST', url: '/v1/things/t_crash', headers: K1, payload: { phone: '1', count: 1 } });
    expect(c.statusCode).toBe(500);
    expect(c.body).not.toContain('exploded');
    expect(c.body).not.toContain('at ');
  });

  it('answers 404 with the error shape for unknown routes', async () => {
    const a = await app();
    const r = await a.inject({ method: 'GET', url: '/v1/nothing?phone=13812345678' });
    expect(r.statusCode).toBe(404);
    expect((r.json() as { error: { code: string; message: string } }).error).toMatchObject({ code: 'not_found' });
    expect(r.body).not.toContain('13812345678');
  });

  it("answers the router's and the HTTP parser's refusals with the error shape, a request id and the headers, and logs them", async () => {
    logs = '';
    const a = await app();
    const expectShape = (r: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) => {
      expect(r.statusCode).toBe(status);
      const body = JSON.parse(r.body) as { error: { code: string; message: string; requestId: string } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(code);
      expect(body.error.requestId).toMatch(/^req_/);
      expect(r.headers['x-request-id']).toBe(body.error.requestId);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['content-security-policy']).toBe("default-src 'none'");
      expect(logs).toContain(`"reqId":"${body.error.requestId}"`);
      expect(logs).toMatch(new RegExp(`"reqId":"${body.error.requestId}".*"statusCode":${status}`));
      return body.error;
    };
    // Not percent-encoded UTF-8: never quoted back (the path may hold personal information).
    const bad = await a.inject({ method: 'GET', url: '/v1/things/13812345678%' });
    expect(expectShape(bad, 400, 'invalid_request').message).not.toContain('138');
    expect(bad.body).not.toContain('13812345678');
    // A parameter longer than the router takes: 414, the path neither quoted nor logged.
    const long = await a.inject({
      method: 'POST',
      url: `/v1/things/t_${'a'.repeat(3000)}`,
      headers: K1,
      payload: { phone: '1', count: 1 },
    });
    expectShape(long, 414, 'uri_too_long');
    expect(long.body).not.toContain('aaaaaaaaaa');
    expect(logs).toContain('/v1/things/[3002 characters]');
    expect(logs).not.toContain('aaaaaaaaaa');
    expect(writes).toHaveLength(0);

    // A raw non-ASCII byte in the query or path: refused by Node's parser, before Fastify has a request.
    await a.listen({ host: '127.0.0.1', port: 0 });
    const { port } = a.server.address() as { port: number };
    const raw = (line: string) =>
      new Promise<{ statusCode: number; headers: Record<string, string>; body: string }>((resolve) => {
        const c = connect(port, '127.0.0.1', () => c.write(Buffer.from(`${line}\r\nhost: x\r\n\r\n`, 'utf8')));
        let got = '';
        c.on('data', (d: Buffer) => {
          got += d.toString('utf8');
        });
        c.on('close', () => {
          const [head = '', body = ''] = got.split('\r\n\r\n');
          const [status = '', ...lines] = head.split('\r\n');
          const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]));
          resolve({ statusCode: Number(status.split(' ')[1]), headers, body });
        });
      });
    try {
      for (const line of ['GET /v1/ping?q=王 HTTP/1.1', 'GET /v1/王 HTTP/1.1', 'GET /v1/ping?q=a b HTTP/1.1', 'NOT HTTP']) {
        const r = await raw(line);
        expectShape(r, 400, 'invalid_request');
        expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(r.headers.connection).toBe('close');
        expect(r.body).not.toContain('王');
      }
      expect(logs).toContain('"method":"GET"');
      expect(logs).not.toContain('王');
      // Percent-encoded UTF-8 is the way to send it, and is accepted.
      const ok = await raw('GET /v1/ping?q=%E7%8E%8B HTTP/1.1\r\nconnection: close');
      expect(ok.statusCode).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('rate-limits per bucket with 429 and retry-after', async () => {
    const a = await app();
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await a.inject({ method: 'GET', url: '/v1/ping' })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const r = await a.inject({ method: 'GET', url: '/v1/ping' });
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('never logs bodies, query strings or error details containing personal information', async () => {
    logs = '';
    const a = await app();
    await a.inject({
      method: 'POST',
      url: '/v1/things/t_abc?idcard=110101199003071234',
      headers: K1,
      payload: { phone: '13812345678', count: 1 },
    });
    await a.inject({ method: 'POST', url: '/v1/things/t_crash', headers: K1, payload: { phone: '13912345678', count: 1 } });
    await a.inject({ method: 'POST', url: '/v1/things/t_abc', headers: K1, payload: '{"phone":"13712345678"' });
    expect(logs).toContain('/v1/things/t_abc');
    expect(logs).not.toContain('110101199003071234');
    expect(logs).not.toContain('13812345678');
    expect(logs).not.toContain('13712345678');
    expect(logs).not.toContain('pipa_k1_secret');
  });

  it('serves the OpenAPI 3.1 document, the reference page, health and readiness', async () => {
    const a = await app();
    const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/v1/things/{id}', '/v1/ping', '/v1/pages']);
    const docs = await a.inject({ method: 'GET', url: '/docs' });
    expect(docs.headers['content-type']).toContain('text/html');
    expect(docs.body).toContain('putThing');
    expect(docs.body).not.toMatch(/<script|https?:\/\/(?!json-schema)/);
    expect((await a.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('reply coalescing', () => {
  /**
   * 20 keep-alive connections each send a GET in the same tick, so that the server's next poll phase
   * reads all of them; the order of handler runs (h) and of replies released to the socket (s: an
   * onSend hook added after the app's own) shows whether the turn's replies left together.
   */
  async function order(coalesceReplies: boolean): Promise<{ order: string; bodies: string[] }> {
    const events: string[] = [];
    const a = await createHttpApp({
      routes: [
        defineRoute({
          method: 'GET',
          url: '/v1/n/:n',
          operationId: 'n',
          summary: 'n',
          tags: ['test'],
          auth: 'none',
          params: z.object({ n: z.string() }),
          response: z.object({ n: z.string() }),
          handler: async ({ params }) => {
            events.push('h');
            return { n: params.n };
          },
        }),
      ],
      auth,
      version: 'test',
      rateLimit: false,
      coalesceReplies,
    });
    a.addHook('onSend', (_request, _reply, payload, done) => {
      events.push('s');
      done(null, payload);
    });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const { port } = a.server.address() as { port: number };
    const accepted = new Promise<void>((resolve) => {
      let n = 0;
      a.server.on('connection', () => {
        if (++n === 20) resolve();
      });
    });
    const sockets: Socket[] = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<Socket>((resolve) => {
            const c = connect(port, '127.0.0.1', () => resolve(c));
          }),
      ),
    );
    await accepted;
    const bodies = sockets.map(
      (c) =>
        new Promise<string>((resolve) => {
          let got = '';
          c.on('data', (d: Buffer) => {
            got += d.toString('utf8');
            if (got.includes('}')) resolve(got.slice(got.indexOf('\r\n\r\n') + 4));
          });
        }),
    );
    for (const [i, c] of sockets.entries()) c.write(`GET /v1/n/${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
    const out = await Promise.all(bodies);
    for (const c of sockets) c.destroy();
    await a.close();
    return { order: events.join(''), bodies: out };
  }

  it('releases the replies of requests read in one turn together, each to its own connection', async () => {
    const r = await order(true);
    expect(r.bodies).toEqual(Array.from({ length: 20 }, (_, i) => JSON.stringify({ n: String(i) })));
    // Every request of the turn was handled before the first reply left.
    expect(r.order).toBe(`${'h'.repeat(20)}${'s'.repeat(20)}`);
  });

  it('without coalescing, each reply leaves as soon as it is computed', async () => {
    const r = await order(false);
    expect(r.bodies).toEqual(Array.from({ length: 20 }, (_, i) => JSON.stringify({ n: String(i) })));
    expect(r.order).toBe('hs'.repeat(20));
  });
});

describe('rate limiter', () => {
  it('refills continuously and bounds its memory', () => {
    const l = createRateLimiter({ maxKeys: 10 });
    expect(l.take('a', 60, 0).ok).toBe(true);
    for (let i = 0; i < 59; i++) l.take('a', 60, 0);
    expect(l.take('a', 60, 0).ok).toBe(false);
    expect(l.take('a', 60, 1000).ok).toBe(true);
    for (let i = 0; i < 50; i++) l.take(`k${i}`, 60, 0);
    expect(l.size()).toBeLessThanOrEqual(10);
  });
});

describe('log scrubbing', () => {
  it('removes quoted values, e-mails and long digit runs', async () => {
    const { scrubForLog } = await import('./scrub.js');
    expect(scrubForLog('invalid input: "张三" for a@b.cn id 110101199003071234 phone 138 1234 5678 at line 42')).toBe(
      'invalid input: "…" for [email] id [digits] phone [digits] at line 42',
    );
  });
});
