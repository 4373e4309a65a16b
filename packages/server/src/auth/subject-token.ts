/**
 * Subject tokens: how an end user reaches pipa's end-user routes (privacy center, own consent,
 * own data, rights requests) without pipa managing passwords. The operator's backend, which has
 * already authenticated the user, signs a short-lived token for that subject with its Ed25519
 * private key; pipa holds only the public key, so pipa can never mint a token itself.
 *
 * Format (compact, JWS-like): base64url(JSON header) "." base64url(JSON claims) "." base64url(sig)
 * header  {"alg":"EdDSA","typ":"pipa-subject","kid":"<key id>"}
 * claims  {"app":"<app id>","sub":"<subject external id or sub_ id>","iat":s,"exp":s,"jti":"<nonce>"}
 * Lifetime is at most 15 minutes; clock skew of 60 s is tolerated.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';

export const MAX_TOKEN_LIFETIME_S = 15 * 60;
const SKEW_S = 60;

export interface SubjectClaims {
  app: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
}

export class SubjectTokenError extends Error {
  readonly reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'too-long-lived' | 'wrong-app';
  constructor(reason: SubjectTokenError['reason'], message: string) {
    super(message);
    this.name = 'SubjectTokenError';
    this.reason = reason;
  }
}

const enc = (o: unknown) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');

export function generateTokenKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function signSubjectToken(
  privateKeyPem: string | KeyObject,
  kid: string,
  claims: { app: string; sub: string; ttlSeconds?: number; now?: number },
): string {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const now = Math.floor((claims.now ?? Date.now()) / 1000);
  const body: SubjectClaims = {
    app: claims.app,
    sub: claims.sub,
    iat: now,
    exp: now + Math.min(claims.ttlSeconds ?? 300, MAX_TOKEN_LIFETIME_S),
    jti: randomBytes(12).toString('base64url'),
  };
  const input = `${enc({ alg: 'EdDSA', typ: 'pipa-subject', kid })}.${enc(body)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** Verify a token against the app's registered public keys (by kid). Throws SubjectTokenError. */
export function verifySubjectToken(token: string, keys: (kid: string) => string | KeyObject | undefined, now = Date.now()): SubjectClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new SubjectTokenError('malformed', 'a subject token has three dot-separated parts');
  const [h, c, s] = parts as [string, string, string];
  let header: { alg?: unknown; typ?: unknown; kid?: unknown };
  let claims: Partial<SubjectClaims>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  } catch {
    throw new SubjectTokenError('malformed', 'the token header or claims are not base64url JSON');
  }
  if (header.alg !== 'EdDSA' || header.typ !== 'pipa-subject' || typeof header.kid !== 'string') {
    throw new SubjectTokenError('malformed', 'unsupported token type or algorithm');
  }
  const key = keys(header.kid);
  if (!key) throw new SubjectTokenError('unknown-key', `unknown token key "${header.kid}"`);
  const pub = typeof key === 'string' ? createPublicKey(key) : key;
  if (!verify(null, Buffer.from(`${h}.${c}`), pub, Buffer.from(s, 'base64url'))) {
    throw new SubjectTokenError('bad-signature', 'the token signature does not verify');
  }
  if (
    typeof claims.app !== 'string' ||
    typeof claims.sub !== 'string' ||
    typeof claims.iat !== 'number' ||
    typeof claims.exp !== 'number' ||
    typeof claims.jti !== 'string'
  ) {
    throw new SubjectTokenError('malformed', 'the token claims app, sub, iat, exp and jti are required');
  }
  const t = Math.floor(now / 1000);
  if (claims.exp - claims.iat > MAX_TOKEN_LIFETIME_S)
    throw new SubjectTokenError('too-long-lived', 'subject tokens may live at most 15 minutes');
  if (claims.iat > t + SKEW_S) throw new SubjectTokenError('not-yet-valid', 'the token is issued in the future');
  if (claims.exp < t - SKEW_S) throw new SubjectTokenError('expired', 'the token has expired');
  return claims as SubjectClaims;
}
