/**
 * The HTTP connector against a local node:http endpoint that implements docs/connectors.md on its
 * own: it verifies the signature, the timestamp window and the nonce, then answers per test.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DatasetDecl } from '@pipa/policy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Connector, type ConnectorError, type ConnectorOptions, createConnector, isConnectorError, signRequest } from './index.js';

const SECRET = 'a3f1c9e07b2d48e6a1c5f3b9d7e2a4c6b8d0f2e4a6c8b0d2';
const URL_ENV = 'CRM_URL';
const SECRET_ENV = 'CRM_URL_SECRET';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  raw: string;
}

type Handler = (op: string, body: Record<string, unknown>, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

/** The endpoint an operator would write, following docs/connectors.md. */
function verify(
  method: string,
  path: string,
  headers: IncomingMessage['headers'],
  raw: string,
  seen: Set<string>,
  nowSec: number,
): string | undefined {
  const ts = String(headers['x-pipa-timestamp'] ?? '');
  const nonce = String(headers['x-pipa-nonce'] ?? '');
  const sig = String(headers['x-pipa-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > 300) return 'stale timestamp';
  if (!/^[0-9a-f]{32}$/.test(nonce)) return 'bad nonce';
  if (seen.has(nonce)) return 'replayed nonce';
  const expected = `v1=${createHmac('sha256', SECRET).update(`${method}\n${path}\n${ts}\n${nonce}\n${raw}`).digest('hex')}`;
  const a = Buffer.from(sig);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return 'bad signature';
  seen.add(nonce);
  return undefined;
}

describe('http connector', () => {
  let server: Server;
  let base: string;
  let handler: Handler;
  const received: Received[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  const open: Connector[] = [];

  const okHandler: Handler = (op, body, res) => {
    const keys = (body.subject as { keys: Record<string, string[]> } | undefined)?.keys ?? {};
    const isSubject = (keys.phone ?? []).includes('13812345678');
    switch (op) {
      case 'check':
        return json(res, 200, { protocol: 1, categories: ['contact.phone', 'basic.name'] });
      case 'locate':
        return json(res, 200, { tables: [{ table: 'crm_contacts', rows: isSubject ? 1 : 0 }] });
      case 'collect':
        return json(res, 200, {
          tables: [
            {
              table: 'crm_contacts',
              categories: { phone: 'contact.phone', name: 'basic.name' },
              rows: isSubject ? [{ phone: '13812345678', name: '王小明' }] : [],
            },
          ],
        });
      case 'correct':
        return json(res, 200, { tables: [{ table: 'crm_contacts', columns: ['name'], rows: 1 }] });
      case 'erase':
        return json(res, 200, {
          tables: [
            {
              table: 'crm_contacts',
              rows: 1,
              actions: [
                { strategy: 'delete-row', columns: ['phone', 'name'], rows: 1 },
                {
                  strategy: 'legal-hold',
                  columns: ['invoice_no'],
                  rows: 1,
                  legalHold: { basis: { zh: '税法', en: 'Tax law' }, period: 'P10Y', firstUntil: '2035-01-01', until: '2035-01-01' },
                },
              ],
            },
          ],
        });
      default:
        return json(res, 404, { error: { code: 'unknown_operation' } });
    }
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        const problem = verify(req.method ?? '', path, req.headers, raw, seen, Math.floor(Date.now() / 1000));
        if (problem !== undefined) {
          rejected.push(problem);
          return json(res, 401, { error: { code: 'bad_signature' } });
        }
        const body = JSON.parse(raw) as Record<string, unknown>;
        received.push({ path, headers: req.headers, body, raw });
        const op = path.split('/').pop() ?? '';
        handler(op, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/ops/pipa`;
  });
  afterAll(async () => {
    for (const c of open) await c.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    handler = okHandler;
    received.length = 0;
    rejected.length = 0;
  });

  const decl = (extra: Record<string, unknown> = {}) =>
    DatasetDecl.parse({ id: 'crm', engine: 'http', connectionEnv: URL_ENV, categories: ['contact.phone', 'basic.name'], ...extra });
  const connect = (options: ConnectorOptions = {}, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Connector => {
    const c = createConnector(decl(extra), { env: { [URL_ENV]: base, [SECRET_ENV]: SECRET, ...env }, ...options });
    open.push(c);
    return c;
  };
  const expectError = async (p: Promise<unknown>, code: string): Promise<ConnectorError> => {
    try {
      await p;
    } catch (err) {
      if (!isConnectorError(err)) throw err;
      expect(err.code, `${err.code}: ${err.message}`).toBe(code);
      return err;
    }
    throw new Error(`expected ${code}`);
  };
  const SUBJECT = { phone: '13812345678' };

  it('signs every request: the endpoint verifies method, path, timestamp, nonce and body', async () => {
    const now = new Date();
    const c = connect({ now: () => now });
    await c.check();
    await c.locate(SUBJECT);
    expect(rejected).toEqual([]);
    expect(received.map((r) => r.path)).toEqual(['/ops/pipa/check', '/ops/pipa/locate']);
    const [a, b] = received;
    expect(a?.headers['x-pipa-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(a?.headers['x-pipa-dataset']).toBe('crm');
    expect(a?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(a?.headers['x-pipa-nonce']).not.toBe(b?.headers['x-pipa-nonce']);
    expect(b?.body).toEqual({ protocol: 1, dataset: 'crm', operation: 'locate', subject: { keys: { phone: ['13812345678'] } } });
    // the exported signer is the documented algorithm
    expect(a?.headers['x-pipa-signature']).toBe(
      signRequest(
        SECRET,
        'POST',
        '/ops/pipa/check',
        String(a?.headers['x-pipa-timestamp']),
        String(a?.headers['x-pipa-nonce']),
        a?.raw ?? '',
      ),
    );
  });

  it('matches the test vector in docs/connectors.md', () => {
    const doc = readFileSync(new URL('../../../../../docs/connectors.md', import.meta.url), 'utf8');
    const body = '{"protocol":1,"dataset":"crm","operation":"erase","subject":{"keys":{"phone":["13812345678"]}},"dryRun":true}';
    const sig = signRequest(
      '0123456789abcdef0123456789abcdef',
      'POST',
      '/pipa/crm/erase',
      '1748764800',
      '00112233445566778899aabbccddeeff',
      body,
    );
    expect(doc).toContain(body);
    expect(doc).toContain(`X-Pipa-Signature: ${sig}`);
  });

  it('a replayed or tampered request is refused by an endpoint that follows the protocol', async () => {
    await connect().check();
    const r = received[0];
    if (r === undefined) throw new Error('no request');
    const headers = {
      'content-type': 'application/json',
      'x-pipa-timestamp': String(r.headers['x-pipa-timestamp']),
      'x-pipa-nonce': String(r.headers['x-pipa-nonce']),
      'x-pipa-signature': String(r.headers['x-pipa-signature']),
    };
    const replay = await fetch(`${base}/check`, { method: 'POST', headers, body: r.raw });
    expect(replay.status).toBe(401);
    expect(rejected).toEqual(['replayed nonce']);
    const tampered = await fetch(`${base}/check`, {
      method: 'POST',
      headers: { ...headers, 'x-pipa-nonce': 'f'.repeat(32) },
      body: r.raw.replace('check', 'erase'),
    });
    expect(tampered.status).toBe(401);
    expect(rejected[1]).toBe('bad signature');
  });

  it('check() compares the categories the endpoint holds with the declaration', async () => {
    expect((await connect().check()).dataset).toBe('crm');
    handler = (_op, _b, res) => json(res, 200, { protocol: 1, categories: ['contact.phone', 'identity.id-card'] });
    const err = await expectError(connect().check(), 'schema_mismatch');
    expect(err.problems.map((p) => p.message)).toEqual([
      'the endpoint holds category "identity.id-card", which is not declared',
      'category "basic.name" is declared but the endpoint does not hold it',
    ]);
    handler = (_op, _b, res) => json(res, 200, { protocol: 2, categories: [] });
    await expectError(connect().check(), 'bad_response');
  });

  it('locate, collect, correct and erase follow the protocol', async () => {
    const c = connect();
    expect(await c.locate(SUBJECT)).toEqual({ dataset: 'crm', found: true, tables: [{ table: 'crm_contacts', rows: 1 }] });
    expect((await c.locate({ phone: '13900000000' })).found).toBe(false);
    const collected = await c.collect(SUBJECT);
    expect(collected.tables[0]?.rows).toEqual([{ phone: '13812345678', name: '王小明' }]);
    const corrected = await c.correct(SUBJECT, [{ table: 'crm_contacts', column: 'name', value: '王晓明' }]);
    expect(corrected.tables).toEqual([{ table: 'crm_contacts', columns: ['name'], rows: 1 }]);
    expect(received.at(-1)?.body.changes).toEqual([{ table: 'crm_contacts', column: 'name', value: '王晓明' }]);
    const report = await c.erase(SUBJECT, { dryRun: true, requestId: 'req_123' });
    expect(received.at(-1)?.body).toMatchObject({ operation: 'erase', dryRun: true, requestId: 'req_123' });
    expect(report.dryRun).toBe(true);
    expect(report.tables[0]?.actions[1]).toMatchObject({ strategy: 'legal-hold', legalHold: { until: '2035-01-01' } });
  });

  it('a timeout is connector_timeout and retryable', async () => {
    handler = (_op, _b, res) => {
      setTimeout(() => json(res, 200, { protocol: 1, categories: [] }), 1500);
    };
    const started = Date.now();
    const err = await expectError(connect({ http: { timeoutMs: 150 } }).check(), 'connector_timeout');
    expect(Date.now() - started).toBeLessThan(1200);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('150 ms');
    expect(err.messageZh).toContain('超时');
  });

  it('a body that stalls after the headers also times out', async () => {
    handler = (_op, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"protocol":1,');
    };
    await expectError(connect({ http: { timeoutMs: 200 } }).check(), 'connector_timeout');
  });

  it('5xx and 429 are connector_unavailable and retryable, with Retry-After', async () => {
    handler = (_op, _b, res) => json(res, 500, { error: { code: 'boom', message: '13812345678 failed' } });
    const err = await expectError(connect().erase(SUBJECT), 'connector_unavailable');
    expect(err.retryable).toBe(true);
    expect(err.driverCode).toBe('HTTP 500');
    expect(err.message).toContain('HTTP 500, error boom');
    expect(err.message).not.toContain('13812345678');
    handler = (_op, _b, res) => json(res, 429, {}, { 'retry-after': '7' });
    expect((await expectError(connect().collect(SUBJECT), 'connector_unavailable')).retryAfterMs).toBe(7000);
    handler = (_op, _b, res) => json(res, 504, {});
    await expectError(connect().collect(SUBJECT), 'connector_timeout');
  });

  it('a wrong secret is auth_failed and not retryable', async () => {
    const err = await expectError(connect({}, { [SECRET_ENV]: 'b'.repeat(48) }).check(), 'auth_failed');
    expect(err.retryable).toBe(false);
    expect(rejected).toEqual(['bad signature']);
    expect(err.message).not.toContain('bbbb');
  });

  it('bad JSON, a wrong shape or a response too large is bad_response', async () => {
    handler = (_op, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tables": [');
    };
    const err = await expectError(connect().collect(SUBJECT), 'bad_response');
    expect(err.message).toContain('not JSON');
    expect(err.retryable).toBe(false);
    handler = (_op, _b, res) => json(res, 200, { tables: [{ table: 'x', rows: -1 }] });
    expect((await expectError(connect().locate(SUBJECT), 'bad_response')).message).toContain('$.tables[0].rows');
    handler = (_op, _b, res) =>
      json(res, 200, { tables: [{ table: 'x', rows: 1, actions: [{ strategy: 'legal-hold', columns: ['a'], rows: 1 }] }] });
    expect((await expectError(connect().erase(SUBJECT), 'bad_response')).message).toContain('legalHold');
    handler = okHandler;
    await expectError(connect({ http: { maxResponseBytes: 50 } }).collect(SUBJECT), 'bad_response');
  });

  it('collected data of undeclared categories or columns without a category is schema_mismatch', async () => {
    handler = (_op, _b, res) =>
      json(res, 200, {
        tables: [{ table: 'crm', categories: { phone: 'contact.phone', id: 'identity.id-card' }, rows: [{ phone: '1', id: '2', x: 3 }] }],
      });
    const err = await expectError(connect().collect(SUBJECT), 'schema_mismatch');
    expect(err.problems.map((p) => p.column)).toEqual(['id', 'x']);
  });

  it('4xx: redirects and unknown paths are remote_rejected, endpoint error codes are mapped', async () => {
    handler = (_op, _b, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/' });
      res.end();
    };
    expect((await expectError(connect().check(), 'remote_rejected')).message).toContain('redirects are not followed');
    handler = (_op, _b, res) => json(res, 404, {});
    await expectError(connect().check(), 'remote_rejected');
    handler = (_op, _b, res) => json(res, 422, { error: { code: 'not_writable' } });
    await expectError(connect().correct(SUBJECT, [{ table: 'crm_contacts', column: 'phone', value: '1' }]), 'not_writable');
  });

  it('with tables declared, corrections of columns not declared writable are refused without a request', async () => {
    const tables = [
      {
        name: 'crm_contacts',
        subject: { column: 'phone', key: 'phone' },
        fields: { phone: 'contact.phone', name: 'basic.name' },
        erasure: { default: 'delete-row' },
        writable: ['name'],
      },
    ];
    const c = connect({}, {}, { tables });
    await expectError(c.correct(SUBJECT, [{ table: 'crm_contacts', column: 'phone', value: '1' }]), 'not_writable');
    await expectError(c.correct(SUBJECT, []), 'invalid_argument');
    expect(received).toEqual([]);
    await c.correct(SUBJECT, [{ table: 'crm_contacts', column: 'name', value: '王晓明' }]);
    expect(received).toHaveLength(1);
    handler = (_op, _b, res) => json(res, 200, { tables: [{ table: 'other_table', rows: 1 }] });
    await expectError(c.locate(SUBJECT), 'schema_mismatch');
    await expectError(c.locate({ 'external-id': 'x' }), 'subject_key_missing');
  });

  it('configuration errors name the variable, never its value', async () => {
    const missingUrl = createConnector(decl(), { env: { [SECRET_ENV]: SECRET } });
    expect((await expectError(missingUrl.check(), 'env_missing')).env).toBe(URL_ENV);
    const missingSecret = createConnector(decl(), { env: { [URL_ENV]: base } });
    const err = await expectError(missingSecret.check(), 'env_missing');
    expect(err.env).toBe(SECRET_ENV);
    const custom = createConnector(decl({ secretEnv: 'CRM_SIGNING_KEY' }), { env: { [URL_ENV]: base, CRM_SIGNING_KEY: SECRET } });
    expect((await custom.check()).dataset).toBe('crm');
    expect((await expectError(connect({}, { [SECRET_ENV]: 'short-secret' }).check(), 'invalid_config')).message).not.toContain(
      'short-secret',
    );
    expect((await expectError(connect({}, { [URL_ENV]: 'http://crm.example.com/pipa' }).check(), 'invalid_config')).message).toContain(
      'https://',
    );
    expect(
      (await expectError(connect({}, { [URL_ENV]: 'https://u:pw-123@crm.example.com/pipa' }).check(), 'invalid_config')).message,
    ).not.toContain('pw-123');
    await expectError(connect({}, { [URL_ENV]: 'ftp://crm.example.com/' }).check(), 'invalid_config');
    await expectError(connect({}, { [URL_ENV]: 'not a url' }).check(), 'invalid_config');
    expect(() => DatasetDecl.parse({ id: 'crm', engine: 'http', connectionEnv: URL_ENV, secretEnv: 'lower_case' })).toThrow();
  });

  it('an endpoint that is not listening is connector_unavailable', async () => {
    // a port that was free a moment ago (fetch refuses some low ports such as 1 outright)
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const addr = probe.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await expectError(connect({}, { [URL_ENV]: `http://127.0.0.1:${port}/pipa` }).check(), 'connector_unavailable');
    expect(err.retryable).toBe(true);
    expect(err.driverCode).toBe('ECONNREFUSED');
  });

  it('after close() calls fail with closed and send nothing', async () => {
    const c = connect();
    await c.close();
    await expectError(c.check(), 'closed');
    expect(received).toEqual([]);
  });
  describe('rows by primary key (hold manifest)', () => {
    const heldTables = [
      {
        name: 'crm_contacts',
        subject: { column: 'phone', key: 'phone' },
        fields: { phone: 'contact.phone', name: 'basic.name' },
        erasure: { default: 'delete-row' },
        legalRetention: { period: 'P10Y', basis: { zh: '税法', en: 'Tax law' }, columns: ['invoice_no'] },
      },
      { name: 'crm_notes', subject: { column: 'phone', key: 'phone' }, fields: { note: 'basic.name' }, erasure: { default: 'delete-row' } },
    ];

    it('erase asks for the held rows only when told to, and passes them on', async () => {
      handler = (op, body, res) => {
        if (op !== 'erase') return okHandler(op, body, res);
        return json(res, 200, {
          tables: [
            {
              table: 'crm_contacts',
              rows: 1,
              actions: [
                {
                  strategy: 'legal-hold',
                  columns: ['invoice_no'],
                  rows: 1,
                  legalHold: { basis: { zh: '税法', en: 'Tax law' }, period: 'P10Y', firstUntil: '2035-01-01', until: '2035-01-01' },
                },
              ],
              ...(body.heldRows === true ? { heldRows: [{ key: 'c-1', until: '2035-01-01' }] } : {}),
            },
          ],
        });
      };
      const c = connect({}, {}, { tables: heldTables });
      const plain = await c.erase(SUBJECT, { dryRun: true });
      expect(received[0]?.body.heldRows).toBeUndefined();
      expect(plain.tables[0]).not.toHaveProperty('heldRows');
      const held = await c.erase(SUBJECT, { heldRows: true, requestId: 'task_1' });
      expect(received[1]?.body).toMatchObject({ operation: 'erase', heldRows: true, requestId: 'task_1', dryRun: false });
      expect(held.tables[0]?.heldRows).toEqual([{ key: 'c-1', until: '2035-01-01' }]);
    });

    it('collect-rows and erase-rows send the tables and keys, signed; answers are checked', async () => {
      handler = (op, body, res) => {
        if (op === 'collect-rows')
          return json(res, 200, {
            tables: [{ table: 'crm_contacts', categories: { name: 'basic.name' }, keys: ['c-1'], rows: [{ name: '王小明' }] }],
          });
        if (op === 'erase-rows')
          return json(res, 200, {
            tables: [{ table: 'crm_contacts', rows: 1, actions: [{ strategy: 'delete-row', columns: ['phone', 'name'], rows: 1 }] }],
          });
        return okHandler(op, body, res);
      };
      const c = connect({}, {}, { tables: heldTables });
      const collected = await c.collectRows([{ table: 'crm_contacts', keys: ['c-1', 7] }]);
      expect(collected.tables).toEqual([
        { table: 'crm_contacts', categories: { name: 'basic.name' }, keys: ['c-1'], rows: [{ name: '王小明' }] },
      ]);
      const since = Date.UTC(2025, 0, 1);
      const erased = await c.eraseRows([{ table: 'crm_contacts', keys: ['c-1'], heldSince: since }], {
        heldRows: true,
        requestId: 'rsw_1',
      });
      expect(erased.tables[0]?.actions).toEqual([{ strategy: 'delete-row', columns: ['phone', 'name'], rows: 1 }]);
      expect(rejected).toEqual([]);
      expect(received.map((r) => r.path)).toEqual(['/ops/pipa/collect-rows', '/ops/pipa/erase-rows']);
      expect(received[0]?.body).toEqual({
        protocol: 1,
        dataset: 'crm',
        operation: 'collect-rows',
        rows: [{ table: 'crm_contacts', keys: ['c-1', 7] }],
      });
      expect(received[1]?.body).toEqual({
        protocol: 1,
        dataset: 'crm',
        operation: 'erase-rows',
        rows: [{ table: 'crm_contacts', keys: ['c-1'], heldSince: since }],
        dryRun: false,
        requestId: 'rsw_1',
        heldRows: true,
      });

      // keys and rows of different lengths, undeclared tables or categories: refused.
      handler = (_op, _b, res) =>
        json(res, 200, { tables: [{ table: 'crm_contacts', categories: { name: 'basic.name' }, keys: [], rows: [{ name: 'x' }] }] });
      await expectError(c.collectRows([{ table: 'crm_contacts', keys: ['c-1'] }]), 'bad_response');
      handler = (_op, _b, res) => json(res, 200, { tables: [{ table: 'elsewhere', categories: {}, keys: [], rows: [] }] });
      await expectError(c.collectRows([{ table: 'crm_contacts', keys: ['c-1'] }]), 'schema_mismatch');
      handler = (_op, _b, res) =>
        json(res, 200, { tables: [{ table: 'crm_contacts', categories: { id: 'identity.id-card' }, keys: ['c-1'], rows: [{ id: '1' }] }] });
      await expectError(c.collectRows([{ table: 'crm_contacts', keys: ['c-1'] }]), 'schema_mismatch');
    });

    it('bad selections are refused before any request', async () => {
      const c = connect({}, {}, { tables: heldTables });
      await expectError(c.collectRows([{ table: 'nope', keys: [1] }]), 'invalid_argument');
      await expectError(c.eraseRows([{ table: 'crm_notes', keys: [1] }]), 'invalid_argument');
      await expectError(c.eraseRows([{ table: 'crm_contacts', keys: [Number.NaN] }]), 'invalid_argument');
      await expectError(c.eraseRows([{ table: 'crm_contacts', keys: [{} as never] }]), 'invalid_argument');
      await expectError(c.eraseRows([{ table: 'crm_contacts', keys: [1], heldSince: -5 }]), 'invalid_argument');
      await expectError(c.collectRows('x' as never), 'invalid_argument');
      expect(received).toEqual([]);
    });

    it('an endpoint that does not answer in time is connector_timeout', async () => {
      handler = () => {
        /* never answers */
      };
      const err = await expectError(
        connect({ http: { timeoutMs: 200 } }, {}, { tables: heldTables }).collectRows([{ table: 'crm_contacts', keys: ['c-1'] }]),
        'connector_timeout',
      );
      expect(err.retryable).toBe(true);
      expect(err.operation).toBe('collect-rows');
    });
  });
});
