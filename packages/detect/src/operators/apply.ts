/**
 * Operators applied to detections: mask, redact, tag, hash (HMAC-SHA256), pseudonym (per
 * recipient), token (format-preserving), generalise, keep. `redactText` rewrites a text.
 */
import { digitsOnly } from '../normalize.js';
import { hmacSha256, toBase32, toHex } from '../sha256.js';
import { DETECTOR_CATEGORIES, type Detection, type DetectorType } from '../types.js';
import { cardToken, landlineToken, phoneToken } from './fpe.js';
import { generaliseAddress } from './generalise.js';
import { maskValue } from './mask.js';

export const OPERATORS = ['mask', 'redact', 'tag', 'hash', 'pseudonym', 'token', 'generalise', 'keep'] as const;
export type OperatorName = (typeof OPERATORS)[number];

export function isOperatorName(s: string): s is OperatorName {
  return (OPERATORS as readonly string[]).includes(s);
}

export class OperatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorError';
  }
}

export interface OperatorContext {
  /** Secret for hash, pseudonym and token (bytes or a UTF-8 string). */
  key?: Uint8Array | string;
  /** Recipient the pseudonyms are made for: two recipients get unlinkable pseudonyms. */
  recipient?: string;
  /** Hex characters of the hash kept (default 64 = the whole HMAC). */
  hashLength?: number;
}

type Value = Pick<Detection, 'type' | 'text' | 'normalized'>;

function needKey(op: OperatorName, ctx: OperatorContext): Uint8Array | string {
  if (ctx.key === undefined || ctx.key.length === 0) throw new OperatorError(`operator "${op}" needs a key / 运算符 "${op}" 需要密钥`);
  return ctx.key;
}

/** Deterministic keyed hash of a value: HMAC-SHA256(key, category NUL normalized), hex. */
export function keyedHash(v: Pick<Detection, 'type' | 'normalized'>, key: Uint8Array | string, length = 64): string {
  return toHex(hmacSha256(key, `${DETECTOR_CATEGORIES[v.type]}\u0000${v.normalized}`)).slice(0, length);
}

/** Per-recipient pseudonym: `<type>_<16 base32 chars>`; two recipients cannot join on it. */
export function pseudonym(v: Pick<Detection, 'type' | 'normalized'>, key: Uint8Array | string, recipient: string): string {
  const mac = hmacSha256(key, `pseudonym\u0000${recipient}\u0000${DETECTOR_CATEGORIES[v.type]}\u0000${v.normalized}`);
  return `${v.type}_${toBase32(mac).slice(0, 16)}`;
}

export function typeTag(type: DetectorType): string {
  return `<${type.toUpperCase().replace(/-/g, '_')}>`;
}

/** The replacement text of one detected value under an operator. */
export function applyOperator(op: OperatorName, v: Value, ctx: OperatorContext = {}): string {
  switch (op) {
    case 'keep':
      return v.text;
    case 'redact':
      return '';
    case 'tag':
      return typeTag(v.type);
    case 'mask':
      return maskValue(v.type, v.text);
    case 'hash':
      return keyedHash(v, needKey(op, ctx), ctx.hashLength ?? 64);
    case 'pseudonym':
      return pseudonym(v, needKey(op, ctx), ctx.recipient ?? '');
    case 'token': {
      const key = needKey(op, ctx);
      if (v.type === 'phone') return phoneToken(v.text, key);
      if (v.type === 'bank-card') return cardToken(v.text, key);
      if (v.type === 'landline') {
        const area = v.normalized[1] === '1' || v.normalized[1] === '2' ? 3 : 4;
        // the text may carry +86 instead of the leading 0
        const lead = digitsOnly(v.text).length - v.normalized.length;
        return landlineToken(v.text, key, area + lead);
      }
      // no format-preserving form for this type: a per-recipient pseudonym
      return pseudonym(v, key, ctx.recipient ?? '');
    }
    case 'generalise':
      return generaliseValue(v);
  }
}

/** Generalised value: address to district, ID number to region code and birth year, phone to its 7-digit prefix. */
export function generaliseValue(v: Value): string {
  switch (v.type) {
    case 'address':
      return generaliseAddress(v.text) || typeTag(v.type);
    case 'id-card':
    case 'residence-permit':
    case 'foreign-permanent-residence': {
      const n = v.normalized;
      const year = n.length === 18 ? n.slice(6, 10) : `19${n.slice(6, 8)}`;
      return `${n.slice(0, 6)}/${year}`;
    }
    case 'phone':
      return `${v.normalized.slice(0, 7)}****`;
    case 'ipv4': {
      const p = v.normalized.split('.');
      return `${p[0]}.${p[1]}.${p[2]}.0/24`;
    }
    default:
      return typeTag(v.type);
  }
}

/** Which operator applies to a detection: by detector type, then by category id, then `default`. */
export interface RedactionPlan {
  /** Keys: a detector type (`phone`), a category id (`identity.id-card`) or `default`. */
  operators?: Readonly<Record<string, OperatorName>>;
  /** Used when nothing else matches. Default `mask`. */
  fallback?: OperatorName;
  context?: OperatorContext;
}

export function operatorFor(plan: RedactionPlan, d: Pick<Detection, 'type' | 'category'>): OperatorName {
  const ops = plan.operators ?? {};
  return ops[d.type] ?? ops[d.category] ?? ops.default ?? plan.fallback ?? 'mask';
}

/** Rewrite `text` with each detection replaced by its operator's output. Detections must not overlap. */
export function redactText(text: string, detections: readonly Detection[], plan: RedactionPlan = {}): string {
  let out = '';
  let pos = 0;
  for (const d of [...detections].sort((a, b) => a.start - b.start)) {
    if (d.start < pos) continue;
    out += text.slice(pos, d.start) + applyOperator(operatorFor(plan, d), d, plan.context);
    pos = d.end;
  }
  return out + text.slice(pos);
}
