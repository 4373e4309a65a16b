import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipaError } from '../errors.js';
import { JobHandlerError } from '../jobs/errors.js';
import { classifyAddress, createEgressPolicy, createGuardedFetch, EgressRefusedError, literalAddress } from './egress.js';
import { checkWebhookUrl, deliverWebhook } from './webhook.js';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2400:3200::1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['fd00::1', 'private'],
    ['0.0.0.0', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['::', 'reserved'],
    ['64:ff9b::a00:1', 'reserved'],
    ['2002:a00:1::', 'reserved'],
    ['ff02::1', 'reserved'],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it('refuses what is not an address', () => {
    expect(() => classifyAddress('example.com')).toThrow(/not an IP address/);
  });
});

describe('literalAddress', () => {
  it('reads addresses and localhost from a URL host; names are left to the resolver', () => {
    expect(literalAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(literalAddress('[::1]')).toBe('::1');
    expect(literalAddress('LOCALHOST')).toBe('127.0.0.1');
    expect(literalAddress('hooks.localhost')).toBe('127.0.0.1');
    expect(literalAddress('hooks.example.com')).toBeUndefined();
  });
});

describe('createEgressPolicy', () => {
  it('allows public addresses, and others only inside a listed network', () => {
    const none = createEgressPolicy();
    expect(none.refusal('8.8.8.8')).toBeUndefined();
    expect(none.refusal('169.254.169.254')).toMatch(/link-local.*PIPA_WEBHOOK_ALLOW_NETWORKS/);
    expect(none.refusal('10.0.0.1')).toMatch(/private-network/);
    expect(none.refusal('::1')).toMatch(/loopback/);
    const some = createEgressPolicy('10.20.0.0/16, 192.168.7.12 fd00:1::/64,127.0.0.1');
    expect(some.allowed).toEqual(['10.20.0.0/16', '192.168.7.12', 'fd00:1::/64', '127.0.0.1']);
    expect(some.refusal('10.20.3.4')).toBeUndefined();
    expect(some.refusal('::ffff:10.20.3.4')).toBeUndefined();
    expect(some.refusal('10.21.0.1')).toMatch(/private-network/);
    expect(some.refusal('192.168.7.12')).toBeUndefined();
    expect(some.refusal('192.168.7.13')).toMatch(/private-network/);
    expect(some.refusal('fd00:1::9')).toBeUndefined();
    expect(some.refusal('fd00:2::9')).toMatch(/private-network/);
    expect(some.refusal('127.0.0.1')).toBeUndefined();
    expect(some.refusal('127.0.0.2')).toMatch(/loopback/);
    expect(createEgressPolicy(['169.254.0.0/16']).refusal('169.254.169.254')).toBeUndefined();
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'intranet', '::1/129', '10.0.0.0/', '10.0.0.0/8x'])('names a bad entry: %s', (entry) => {
    let err: unknown;
    try {
      createEgressPolicy(`10.1.0.0/16,${entry}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipaError);
    expect((err as PipaError).code).toBe('validation_failed');
    expect((err as PipaError).message).toContain(`PIPA_WEBHOOK_ALLOW_NETWORKS: "${entry}" is not a network`);
    expect((err as PipaError).details?.[0]?.path).toBe('PIPA_WEBHOOK_ALLOW_NETWORKS');
  });
});

describe('checkWebhookUrl with a policy', () => {
  const policy = createEgressPolicy('10.9.0.0/16');
  it.each([
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://10.0.0.5/hook', /private-network/],
    ['https://[fd00::1]/hook', /private-network/],
    ['https://localhost:8443/hook', /loopback/],
    ['http://127.0.0.1:7000/hook', /loopback/],
    ['https://0.0.0.0/hook', /reserved/],
  ])('refuses %s at the given path', (url, why) => {
    let err: unknown;
    try {
      checkWebhookUrl(url, '$.body.url', policy);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipaError);
    expect((err as PipaError).message).toMatch(why);
    expect((err as PipaError).details?.[0]?.path).toBe('$.body.url');
  });

  it('accepts names (checked when a delivery connects), public and allowed addresses', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x', '$.body.url', policy)).toBe('https://hooks.example.com/x');
    expect(checkWebhookUrl('https://8.8.8.8/x', '$.body.url', policy)).toBe('https://8.8.8.8/x');
    expect(checkWebhookUrl('https://10.9.1.1/x', '$.body.url', policy)).toBe('https://10.9.1.1/x');
    // Without a policy (a caller that checks elsewhere) only the scheme rules apply.
    expect(checkWebhookUrl('http://127.0.0.1:7000/hook')).toBe('http://127.0.0.1:7000/hook');
  });
});

describe('createGuardedFetch (a real server on this machine)', () => {
  let server: Server;
  let port = 0;
  const calls: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/cut') {
          // Headers, part of the body, then the connection drops.
          res.writeHead(200, { 'content-length': '100' });
          res.write('{"partial":');
          setTimeout(() => res.socket?.destroy(), 20);
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        } else if (req.url === '/hang') {
          // never answers
        } else res.writeHead(req.url === '/teapot' ? 418 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const causeOf = async (p: Promise<unknown>): Promise<unknown> => {
    try {
      await p;
    } catch (e) {
      return (e as { cause?: unknown }).cause ?? e;
    }
    throw new Error('expected a rejection');
  };

  it('refuses a loopback address and a name resolving to one, before anything is sent', async () => {
    const f = createGuardedFetch(createEgressPolicy());
    const before = calls.length;
    const literal = await causeOf(f(`http://127.0.0.1:${port}/x`, { method: 'POST', body: '{}' }));
    expect(literal).toBeInstanceOf(EgressRefusedError);
    expect((literal as EgressRefusedError).reason).toMatch(/loopback/);
    const named = await causeOf(f(`http://localhost:${port}/x`, { method: 'POST', body: '{}' }));
    expect(named).toBeInstanceOf(EgressRefusedError);
    expect((named as EgressRefusedError).host).toBe('localhost');
    expect(calls.length).toBe(before);
  });

  it('delivers where allowed: method, headers and body arrive; the status comes back', async () => {
    const f = createGuardedFetch(createEgressPolicy('127.0.0.0/8,::1'));
    const before = calls.length;
    const res = await f(`http://localhost:${port}/hook?a=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pipa-event': 'rights.code' },
      body: '{"code":"123456","名":"张"}',
    });
    expect(res.status).toBe(204);
    const call = calls[before];
    expect(call).toMatchObject({ method: 'POST', url: '/hook?a=1', body: '{"code":"123456","名":"张"}' });
    expect(call?.headers['x-pipa-event']).toBe('rights.code');
    expect(call?.headers['content-length']).toBe(String(Buffer.byteLength('{"code":"123456","名":"张"}')));
    expect((await f(`http://127.0.0.1:${port}/teapot`, { method: 'POST', body: '' })).status).toBe(418);
  });

  it('does not follow a redirect (to the metadata service here)', async () => {
    const f = createGuardedFetch(createEgressPolicy('127.0.0.1'));
    const before = calls.length;
    const res = await f(`http://127.0.0.1:${port}/redirect`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(302);
    expect(calls.length).toBe(before + 1);
  });

  it('fails, not hangs, when the answer is cut off', async () => {
    const f = createGuardedFetch(createEgressPolicy('127.0.0.1'));
    const started = Date.now();
    await expect(f(`http://127.0.0.1:${port}/cut`, { method: 'POST', body: '{}' })).rejects.toThrow('fetch failed');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops at the abort signal', async () => {
    const f = createGuardedFetch(createEgressPolicy('127.0.0.1'));
    const started = Date.now();
    await expect(f(`http://127.0.0.1:${port}/hang`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a refused delivery fails for good, naming the host and the reason, never the body', async () => {
    const f = createGuardedFetch(createEgressPolicy());
    let err: unknown;
    try {
      await deliverWebhook(
        { url: `http://localhost:${port}/hook`, secret: Buffer.alloc(32, 1) },
        'rights.code',
        'd1',
        { code: '987654' },
        { fetch: f },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobHandlerError);
    expect((err as JobHandlerError).retryable).toBe(false);
    expect((err as JobHandlerError).message).toMatch(/^webhook localhost:\d+ refused: 127\.0\.0\.1 is a loopback address/);
    expect((err as JobHandlerError).message).not.toContain('987654');
    // Allowed, the same delivery goes through.
    const ok = await deliverWebhook(
      { url: `http://localhost:${port}/hook`, secret: Buffer.alloc(32, 1) },
      'rights.code',
      'd2',
      { code: '987654' },
      { fetch: createGuardedFetch(createEgressPolicy('127.0.0.0/8, ::1')) },
    );
    expect(ok.status).toBe(204);
  });
});
