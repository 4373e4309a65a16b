import { describe, expect, it } from 'vitest';
import { bearer, generateApiKey, parseApiKey, secretMatches } from './api-key.js';
import { generateTokenKeyPair, SubjectTokenError, signSubjectToken, verifySubjectToken } from './subject-token.js';

describe('api keys', () => {
  it('generates keys whose token parses back to the id and matches the stored hash', () => {
    const k = generateApiKey();
    expect(k.id).toMatch(/^key_[a-z2-7]{12}$/);
    const p = parseApiKey(k.token);
    expect(p?.id).toBe(k.id);
    expect(secretMatches(p?.secret ?? '', k.hash)).toBe(true);
    // One character changed (never to itself: a secret ending in A would otherwise match, 1 run in 64).
    const secret = p?.secret ?? '';
    expect(secretMatches(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, k.hash)).toBe(false);
  });

  it('rejects malformed tokens and headers', () => {
    expect(parseApiKey('pipa_short_x')).toBeNull();
    expect(parseApiKey('')).toBeNull();
    expect(bearer('Bearer abc')).toBe('abc');
    expect(bearer('Basic abc')).toBeNull();
    expect(bearer(undefined)).toBeNull();
  });
});

describe('subject tokens', () => {
  const { publicKeyPem, privateKeyPem } = generateTokenKeyPair();
  const keys = (kid: string) => (kid === 'k1' ? publicKeyPem : undefined);
  const now = Date.UTC(2026, 0, 1);

  it('verifies a token signed by the operator', () => {
    const t = signSubjectToken(privateKeyPem, 'k1', { app: 'demo', sub: 'u-1', now });
    expect(verifySubjectToken(t, keys, now + 1000)).toMatchObject({ app: 'demo', sub: 'u-1' });
  });

  const reason = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof SubjectTokenError) return e.reason;
      throw e;
    }
    return 'ok';
  };

  it('rejects expired, future, tampered, unknown-key, malformed and over-long tokens', () => {
    const t = signSubjectToken(privateKeyPem, 'k1', { app: 'demo', sub: 'u-1', now, ttlSeconds: 60 });
    expect(reason(() => verifySubjectToken(t, keys, now + 5 * 60_000))).toBe('expired');
    expect(reason(() => verifySubjectToken(t, keys, now - 5 * 60_000))).toBe('not-yet-valid');
    const [h, c, s] = t.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(c, 'base64url').toString()), sub: 'u-2' })).toString('base64url');
    expect(reason(() => verifySubjectToken(`${h}.${forged}.${s}`, keys, now))).toBe('bad-signature');
    const other = signSubjectToken(privateKeyPem, 'k9', { app: 'demo', sub: 'u-1', now });
    expect(reason(() => verifySubjectToken(other, keys, now))).toBe('unknown-key');
    expect(reason(() => verifySubjectToken('a.b', keys, now))).toBe('malformed');
    expect(reason(() => verifySubjectToken('a.b.c', keys, now))).toBe('malformed');
    const otherPair = generateTokenKeyPair();
    const wrongKey = signSubjectToken(otherPair.privateKeyPem, 'k1', { app: 'demo', sub: 'u-1', now });
    expect(reason(() => verifySubjectToken(wrongKey, keys, now))).toBe('bad-signature');
  });

  it('caps the lifetime at 15 minutes when signing', () => {
    const t = signSubjectToken(privateKeyPem, 'k1', { app: 'demo', sub: 'u-1', now, ttlSeconds: 3600 });
    const c = verifySubjectToken(t, keys, now);
    expect(c.exp - c.iat).toBe(900);
  });
});
