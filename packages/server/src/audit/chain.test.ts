import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_HASH_FORMAT, auditHashInput, canonicalCategories, canonicalJson, computeAuditHash, GENESIS_HASH } from './chain.js';
import { isAuditError } from './errors.js';
import type { AuditRecord } from './types.js';

const RECORD: AuditRecord = {
  seq: 42,
  at: 1_718_000_000_123,
  actor: 'key_x',
  action: 'vault.read',
  app_id: '小票票',
  subject_pseudonym: null,
  categories: '["contact.phone"]',
  purpose: null,
  outcome: 'ok',
  count: 1,
  request_id: 'req_1',
  details: '{"n":"é"}',
  prev_hash: GENESIS_HASH,
  hash: '',
};

describe('hash chain format pipa-audit-v1', () => {
  it('hashes a length-prefixed text an auditor can rebuild', () => {
    expect(AUDIT_HASH_FORMAT).toBe('pipa-audit-v1');
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    // 小票票 is 9 UTF-8 bytes, é is 2: lengths are bytes, not characters.
    const expected =
      'pipa-audit-v1\n2:42' +
      '13:1718000000123' +
      '5:key_x' +
      '10:vault.read' +
      '9:小票票' +
      '-' +
      '17:["contact.phone"]' +
      '-' +
      '2:ok' +
      '1:1' +
      '5:req_1' +
      '10:{"n":"é"}' +
      `64:${GENESIS_HASH}`;
    expect(auditHashInput(RECORD)).toBe(expected);
    expect(computeAuditHash(RECORD)).toBe(createHash('sha256').update(expected, 'utf8').digest('hex'));
  });

  it('tells a null from the text "-" and moves no boundary', () => {
    const dash = computeAuditHash({ ...RECORD, purpose: '-' });
    expect(dash).not.toBe(computeAuditHash(RECORD));
    // Moving characters from one field to the next changes the hash.
    expect(computeAuditHash({ ...RECORD, actor: 'key_', action: 'xvault.read' })).not.toBe(computeAuditHash(RECORD));
  });

  it('covers every field', () => {
    const base = computeAuditHash(RECORD);
    const changes: Partial<AuditRecord>[] = [
      { seq: 43 },
      { at: RECORD.at + 1 },
      { actor: 'key_y' },
      { action: 'vault.write' },
      { app_id: null },
      { subject_pseudonym: 'psn_aaaaaaaaaaaaaaaa' },
      { categories: '[]' },
      { purpose: 'x' },
      { outcome: 'denied' },
      { count: 2 },
      { request_id: null },
      { details: null },
      { prev_hash: '1'.repeat(64) },
    ];
    const hashes = changes.map((c) => computeAuditHash({ ...RECORD, ...c }));
    expect(new Set([base, ...hashes]).size).toBe(changes.length + 1);
  });
});

describe('canonicalJson', () => {
  it('sorts keys, drops undefined members, writes no spaces', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null, true], c: undefined }, é: false, A: 0 })).toBe(
      '{"A":0,"a":{"d":[1,"x",null,true]},"b":1,"é":false}',
    );
    expect(canonicalJson(Object.assign(Object.create(null) as object, { z: 1, y: 2 }))).toBe('{"y":2,"z":1}');
    expect(canonicalJson('line\n"q"')).toBe('"line\\n\\"q\\""');
    expect(canonicalJson(1e21)).toBe('1e+21');
    expect(canonicalJson(-0)).toBe('0');
  });

  it('names the path of what JSON cannot carry', () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [1, Number.POSITIVE_INFINITY] }, /details at \$\.a\[1\]: Infinity is not a finite number/],
      [{ a: 10n }, /\$\.a: bigint is not JSON/],
      [{ a: Symbol('s') }, /\$\.a: symbol is not JSON/],
      [{ m: new Map() }, /\$\.m: only plain objects/],
      [[undefined], /\$\[0\]: undefined is not JSON/],
      [undefined, /\$: undefined is not JSON/],
    ];
    for (const [value, message] of cases) {
      expect(() => canonicalJson(value)).toThrow(message);
      try {
        canonicalJson(value);
      } catch (err) {
        expect(isAuditError(err, 'invalid_event')).toBe(true);
      }
    }
  });
});

describe('canonicalCategories', () => {
  it('stores categories sorted and unique', () => {
    expect(canonicalCategories(undefined)).toBe('[]');
    expect(canonicalCategories([])).toBe('[]');
    expect(canonicalCategories(['b', 'a', 'b'])).toBe('["a","b"]');
    expect(canonicalCategories(['a', 'b'])).toBe('["a","b"]');
    expect(canonicalCategories(['a', 'a'])).toBe('["a"]');
  });
});
