/**
 * API keys: `pipa_<id>_<secret>`. The id (12 lower-case base32 characters) is public and indexes
 * the row; the secret (32 random bytes, base64url) is shown once and stored only as SHA-256.
 * A fast hash is right here: the secret has 256 bits of entropy, so there is nothing to brute
 * force, and verification must be cheap on every request. Comparison is constant-time.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32 } from '../crypto/encoding.js';

export interface NewApiKey {
  /** `key_<id>`: the id stored and shown in listings. */
  id: string;
  /** The full secret token, shown once. */
  token: string;
  /** SHA-256 of the secret part, stored. */
  hash: Buffer;
}

export function generateApiKey(random: (n: number) => Buffer = randomBytes): NewApiKey {
  const shortId = base32(random(8)).slice(0, 12);
  const secret = random(32).toString('base64url');
  return { id: `key_${shortId}`, token: `pipa_${shortId}_${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): Buffer {
  // One-shot hash (Node 20.12+): no Hash object per request.
  return hash('sha256', secret, 'buffer');
}

/** Split a bearer token into key id and secret, or null when it is not an API key. */
export function parseApiKey(token: string): { id: string; secret: string } | null {
  const m = /^pipa_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m?.[1] || !m[2]) return null;
  return { id: `key_${m[1]}`, secret: m[2] };
}

export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const h = hashSecret(secret);
  return storedHash.length === h.length && timingSafeEqual(h, storedHash);
}

/** Read `Authorization: Bearer …`. */
export function bearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}
