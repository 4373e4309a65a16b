/**
 * The hash chain format, `pipa-audit-v1` (docs/storage.md "Audit chain"). Simple enough for an
 * auditor to re-implement in any language from this comment alone:
 *
 *   hash(n) = lower-case hex SHA-256 of the UTF-8 bytes of
 *     "pipa-audit-v1\n" || F(seq) || F(at) || F(actor) || F(action) || F(app_id) || F(subject_pseudonym)
 *       || F(categories) || F(purpose) || F(outcome) || F(count) || F(request_id) || F(details) || F(prev_hash)
 *   F(null)  = "-"
 *   F(value) = <length of value in UTF-8 bytes, decimal> ":" <value>
 *
 * Integers (seq, at, count) are written in decimal; `categories` and `details` are the stored JSON
 * text (canonical: sorted object keys, no spaces, as produced by `canonicalJson`); prev_hash of the
 * first event is 64 zeros. The length prefixes make the encoding unambiguous (no value can pass for
 * a field boundary).
 */
import { hash } from 'node:crypto';
import { AuditError } from './errors.js';
import type { AuditRecord } from './types.js';

export const AUDIT_HASH_FORMAT = 'pipa-audit-v1';
export const GENESIS_HASH = '0'.repeat(64);
const PREFIX = `${AUDIT_HASH_FORMAT}\n`;

function field(value: string | null): string {
  return value === null ? '-' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** The fields of an event other than its position in the chain. */
export type AuditContent = Pick<
  AuditRecord,
  'actor' | 'action' | 'app_id' | 'subject_pseudonym' | 'categories' | 'purpose' | 'outcome' | 'count' | 'request_id' | 'details'
>;

/** The exact text that is hashed for one event. */
export function auditHashInputOf(seq: number, at: number, c: AuditContent, prevHash: string): string {
  return (
    PREFIX +
    field(String(seq)) +
    field(String(at)) +
    field(c.actor) +
    field(c.action) +
    field(c.app_id) +
    field(c.subject_pseudonym) +
    field(c.categories) +
    field(c.purpose) +
    field(c.outcome) +
    field(String(c.count)) +
    field(c.request_id) +
    field(c.details) +
    field(prevHash)
  );
}

/** The exact text that is hashed for one event. */
export function auditHashInput(r: Omit<AuditRecord, 'hash'>): string {
  return auditHashInputOf(r.seq, r.at, r, r.prev_hash);
}

/** SHA-256, lower-case hex, of a string's UTF-8 bytes (one-shot `crypto.hash`: no Hash object per call). */
export function sha256Hex(input: string): string {
  return hash('sha256', input, 'hex');
}

export function computeAuditHash(r: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(auditHashInputOf(r.seq, r.at, r, r.prev_hash));
}

const MAX_DEPTH = 32;

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units, as `Array.prototype.sort` does), no
 * whitespace, strings and numbers as `JSON.stringify` writes them. Rejects what JSON cannot carry
 * faithfully (non-finite numbers, bigint, functions, undefined in arrays, cycles), naming the path.
 */
export function canonicalJson(value: unknown, path = '$'): string {
  return canon(value, path, 0);
}

function canon(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw notJson(path, `${value} is not a finite number`);
      return JSON.stringify(value);
    case 'object': {
      if (depth >= MAX_DEPTH) throw notJson(path, `nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw notJson(`${path}[${i}]`, 'undefined is not JSON');
          parts.push(canon(item, `${path}[${i}]`, depth + 1));
        }
        return `[${parts.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw notJson(path, 'only plain objects, arrays, strings, numbers, booleans and null');
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const v = record[key];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canon(v, `${path}.${key}`, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw notJson(path, `${typeof value} is not JSON`);
  }
}

function notJson(path: string, why: string): AuditError {
  return new AuditError('invalid_event', `details at ${path}: ${why}`, `details 中 ${path}：${why}`);
}

/** Categories as stored: canonical JSON of the sorted, de-duplicated list. */
export function canonicalCategories(categories: readonly string[] | undefined): string {
  if (categories === undefined || categories.length === 0) return '[]';
  let ordered = true;
  for (let i = 1; i < categories.length && ordered; i++) ordered = (categories[i - 1] as string) < (categories[i] as string);
  return JSON.stringify(ordered ? categories : [...new Set(categories)].sort());
}
