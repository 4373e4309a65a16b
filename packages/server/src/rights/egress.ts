/**
 * Where webhooks may connect. A key with `rights:write` chooses a webhook's URL, and pipa then POSTs
 * to it from inside the operator's network: without a check, such a key could make pipa reach the
 * cloud metadata service (169.254.169.254), a database on localhost or an admin page on the private
 * network (server-side request forgery). So a webhook may reach public addresses only, unless the
 * operator lists the networks its own receivers live in:
 *
 *   PIPA_WEBHOOK_ALLOW_NETWORKS=10.20.0.0/16,192.168.7.12,fd00:1::/64,127.0.0.1
 *
 * The check runs on the address pipa actually connects to: the host name is resolved once per
 * connection, every address it resolves to is checked, and the connection goes to a checked one
 * (a name that resolves to a public address at configuration and to a private one at delivery, DNS
 * rebinding, is refused at delivery). An IP literal or `localhost` in a URL is checked when the
 * webhook is configured as well, so the mistake is answered at once.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { PipaError } from '../errors.js';

/** The environment variable with the operator's allowed networks (comma- or space-separated). */
export const WEBHOOK_ALLOW_ENV = 'PIPA_WEBHOOK_ALLOW_NETWORKS';

export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'reserved';

const CLASS_WORDS: Record<Exclude<AddressClass, 'public'>, string> = {
  private: 'a private-network address',
  loopback: 'a loopback address (this machine)',
  'link-local': 'a link-local address (the cloud metadata service lives there)',
  reserved: 'a reserved or special-purpose address',
};

function blockList(v4: string[], v6: string[]): BlockList {
  const list = new BlockList();
  for (const n of v4) {
    const [a, p] = n.split('/');
    list.addSubnet(a as string, Number(p), 'ipv4');
  }
  for (const n of v6) {
    const [a, p] = n.split('/');
    list.addSubnet(a as string, Number(p), 'ipv6');
  }
  return list;
}

// IANA special-purpose registries (RFC 6890 and successors).
const CLASSES: [Exclude<AddressClass, 'public'>, BlockList][] = [
  ['loopback', blockList(['127.0.0.0/8'], ['::1/128'])],
  ['link-local', blockList(['169.254.0.0/16'], ['fe80::/10'])],
  ['private', blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'], ['fc00::/7'])],
  [
    'reserved',
    blockList(
      [
        '0.0.0.0/8',
        '192.0.0.0/24',
        '192.0.2.0/24',
        '192.88.99.0/24',
        '198.18.0.0/15',
        '198.51.100.0/24',
        '203.0.113.0/24',
        '224.0.0.0/4',
        '240.0.0.0/4',
      ],
      // Unspecified, NAT64 and discard prefixes, IETF assignments (Teredo among them), documentation,
      // 6to4 (both embed IPv4 addresses that could be private), site-local (deprecated), multicast.
      ['::/128', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64', '2001::/23', '2001:db8::/32', '2002::/16', 'fec0::/10', 'ff00::/8'],
    ),
  ],
];

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const MAPPED_V4_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** A URL host without the brackets of an IPv6 literal (`[::1]` -> `::1`). */
const unbracket = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** An address as pipa checks it: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as its IPv4 address; brackets dropped; undefined for a name. */
function canonical(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const a = unbracket(address);
  const v = isIP(a);
  if (v === 4) return { address: a, family: 'ipv4' };
  if (v !== 6) return undefined;
  const dotted = MAPPED_V4.exec(a);
  if (dotted !== null) return { address: dotted[1] as string, family: 'ipv4' };
  const hex = MAPPED_V4_HEX.exec(a);
  if (hex !== null) {
    const hi = Number.parseInt(hex[1] as string, 16);
    const lo = Number.parseInt(hex[2] as string, 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address: a, family: 'ipv6' };
}

/** The class of an IP address (IPv4 or IPv6, brackets allowed). Throws on something that is not an address. */
export function classifyAddress(address: string): AddressClass {
  const c = canonical(address);
  if (c === undefined) throw new Error(`not an IP address: ${address}`);
  for (const [cls, list] of CLASSES) if (list.check(c.address, c.family)) return cls;
  return 'public';
}

export interface EgressPolicy {
  /** Why pipa may not connect to `address`, or undefined when it may. */
  refusal(address: string): string | undefined;
  /** The allowed networks as configured (for messages and docs). */
  readonly allowed: readonly string[];
}

/**
 * The policy for an allow-list: public addresses always; any other address only inside one of the
 * listed networks (CIDR `10.0.0.0/8`, `fd00::/8`, or one address). `where` names the setting in errors.
 */
export function createEgressPolicy(allow: string | readonly string[] = [], where = WEBHOOK_ALLOW_ENV): EgressPolicy {
  const entries = (typeof allow === 'string' ? allow.split(/[\s,]+/) : allow).map((s) => s.trim()).filter((s) => s !== '');
  const list = new BlockList();
  for (const entry of entries) {
    const [addr = '', prefixText, ...extra] = entry.split('/');
    const c = canonical(addr);
    const bits = c?.family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (c === undefined || extra.length > 0 || !(prefix <= bits)) {
      throw new PipaError(
        'validation_failed',
        `${where}: "${entry}" is not a network; give addresses or CIDR networks such as 10.0.0.0/8 or fd00::/8, separated by commas`,
        [{ path: where, message: `"${entry}" 不是网络地址（应为 10.0.0.0/8 或 fd00::/8 这样的 CIDR，或单个地址） / not a network` }],
      );
    }
    list.addSubnet(c.address, prefix, c.family);
  }
  return {
    allowed: entries,
    refusal(address) {
      const c = canonical(address);
      if (c === undefined) return `${address} is not an IP address`;
      const cls = classifyAddress(c.address);
      if (cls === 'public' || list.check(c.address, c.family)) return undefined;
      return `${address} is ${CLASS_WORDS[cls]}, which webhooks may not reach unless ${WEBHOOK_ALLOW_ENV} lists its network`;
    },
  };
}

/** The host of a URL as an address when it is one (`[::1]` -> `::1`), `127.0.0.1` for `localhost`, else undefined. */
export function literalAddress(hostname: string): string | undefined {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return '127.0.0.1';
  const bare = unbracket(h);
  return isIP(bare) !== 0 ? bare : undefined;
}

/** A connection refused by the egress policy (never retried: the same address would be refused again). */
export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
    this.name = 'EgressRefusedError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/http that resolves the name and refuses it when any address it resolves to is refused. */
function guardedLookup(policy: EgressPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, ...(options.family !== undefined ? { family: options.family } : {}) }, (err, addresses) => {
      if (err !== null) return callback(err, []);
      for (const a of addresses) {
        const reason = policy.refusal(a.address);
        if (reason !== undefined) return callback(new EgressRefusedError(hostname, reason) as NodeJS.ErrnoException, []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} resolves to no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * A `fetch` for webhook deliveries that connects only where the policy allows. It implements what a
 * delivery uses: method, headers, a string body, an abort signal; redirects are never followed (a
 * 3xx is answered as is); the answer's body is read and dropped, and the answer is settled when it
 * ends (a receiver that stops sending is cut off by the caller's signal, its timeout).
 */
export function createGuardedFetch(policy: EgressPolicy): typeof fetch {
  const lookup = guardedLookup(policy);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, lookup } as http.AgentOptions),
    'https:': new https.Agent({ keepAlive: true, lookup } as https.AgentOptions),
  };
  const guarded = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const protocol = url.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') return Promise.reject(new TypeError(`unsupported protocol ${protocol}`));
    // A literal address is never looked up: check it here (`localhost` is a name: the lookup checks it).
    if (canonical(url.hostname) !== undefined) {
      const reason = policy.refusal(unbracket(url.hostname));
      if (reason !== undefined)
        return Promise.reject(new TypeError('fetch failed', { cause: new EgressRefusedError(url.hostname, reason) }));
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Response>((resolve, reject) => {
      const transport = protocol === 'https:' ? https : http;
      const req = transport.request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent: agents[protocol],
          ...(init.signal !== undefined && init.signal !== null ? { signal: init.signal } : {}),
        },
        (res) => {
          res.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
          // Closed before its end (aborted, connection reset): a failed attempt, never a hang.
          res.on('close', () => {
            if (!res.complete) reject(new TypeError('fetch failed', { cause: new Error('the answer was cut off') }));
          });
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            resolve(new Response(null, { status: status < 200 || status > 599 ? 502 : status, statusText: res.statusMessage ?? '' }));
          });
        },
      );
      req.on('error', (err) => reject(init.signal?.aborted === true ? err : new TypeError('fetch failed', { cause: err })));
      req.end(body);
    });
  };
  return guarded as typeof fetch;
}
