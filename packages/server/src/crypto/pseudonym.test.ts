import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32 } from './encoding.js';
import { createPseudonymizer, isPseudonym } from './pseudonym.js';

const auditKey = Buffer.alloc(32, 0xa1);
const sharingKey = Buffer.alloc(32, 0x5e);

describe('pseudonyms', () => {
  const p = createPseudonymizer({ auditKey, sharingKey });

  it('audit pseudonyms are deterministic, prefixed, base32 and keyed', () => {
    const a = p.audit('sub_alice');
    expect(a).toMatch(/^psn_[a-z2-7]{26}$/);
    expect(isPseudonym(a)).toBe(true);
    expect(p.audit('sub_alice')).toBe(a);
    expect(p.audit('sub_bob')).not.toBe(a);
    expect(createPseudonymizer({ auditKey: Buffer.alloc(32, 1), sharingKey }).audit('sub_alice')).not.toBe(a);
    // The documented construction.
    const info = Buffer.concat([Buffer.from([23]), Buffer.from('pipa/pseudonym/audit/v1')]);
    const k = Buffer.from(hkdfSync('sha256', auditKey, Buffer.alloc(0), info, 32));
    expect(a).toBe(`psn_${base32(createHmac('sha256', k).update('sub_alice').digest().subarray(0, 16))}`);
  });

  it('two recipients get unrelated pseudonyms for the same subject', () => {
    const toBank = p.forRecipient('rcp_bank', 'sub_alice');
    const toInsurer = p.forRecipient('rcp_insurer', 'sub_alice');
    expect(toBank).not.toBe(toInsurer);
    expect(toBank).not.toBe(p.audit('sub_alice'));
    // Stable per recipient, so one recipient can follow one person over time.
    expect(p.recipient('rcp_bank')('sub_alice')).toBe(toBank);
    // No shared structure between the two sets: joining on the identifier finds nothing.
    const subjects = Array.from({ length: 200 }, (_, i) => `sub_${i}`);
    const bank = new Set(subjects.map(p.recipient('rcp_bank')));
    const insurer = subjects.map(p.recipient('rcp_insurer'));
    expect(bank.size).toBe(200);
    expect(insurer.filter((x) => bank.has(x))).toEqual([]);
  });

  it('uses SM3 when asked, and checks its keys', () => {
    const sm3 = createPseudonymizer({ auditKey, sharingKey, digest: 'sm3' });
    expect(sm3.audit('sub_alice')).not.toBe(p.audit('sub_alice'));
    expect(() => createPseudonymizer({ auditKey, sharingKey: auditKey })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => createPseudonymizer({ auditKey: Buffer.alloc(8), sharingKey })).toThrowError(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    expect(() => p.audit('')).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
    expect(createPseudonymizer({ auditKey, sharingKey, length: 32 }).audit('x')).toMatch(/^psn_[a-z2-7]{52}$/);
  });

  it('base32 follows RFC 4648 (test vectors, lower case, no padding)', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [input, output] of vectors) expect(base32(Buffer.from(input))).toBe(output);
  });
});
