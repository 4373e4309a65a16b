import { describe, expect, it } from 'vitest';
import { createDataKeyCache, DataKey, shredDataKey } from './data-key.js';
import { CryptoError, isCryptoError } from './errors.js';
import { createFieldCipher } from './field-cipher.js';
import { createKeyring } from './keyring.js';
import { createEnvKeyProvider } from './master-key.js';
import { createSeededRandom } from './random.js';
import { getSuite, SUITE_NAMES } from './suites.js';

const random = createSeededRandom('field-cipher tests');
const A = { app: 'xiaopiaopiao', subject: 'sub_alice', field: 'phone' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoError) return err.code;
    throw err;
  }
  return 'no error';
}

for (const suite of SUITE_NAMES) {
  describe(`field cipher, suite ${suite}`, () => {
    const cipher = createFieldCipher({ suite });
    const dek = DataKey.generate(1, random);

    it('round-trips strings, bytes, Chinese text and the empty value', () => {
      for (const value of ['13812345678', '张三', '', 'a'.repeat(5000)]) {
        const envelope = cipher.encrypt(dek, value, A);
        expect(cipher.decryptString(dek, envelope, A)).toBe(value);
      }
      const bytes = Buffer.from([0, 1, 2, 255]);
      expect(cipher.decrypt(dek, cipher.encrypt(dek, bytes, A), A).equals(bytes)).toBe(true);
    });

    it('uses a fresh nonce each time: equal plaintexts give different envelopes', () => {
      const a = cipher.encrypt(dek, '13812345678', A);
      const b = cipher.encrypt(dek, '13812345678', A);
      expect(a.equals(b)).toBe(false);
      expect(a.length).toBe(b.length);
    });

    it('a flipped bit anywhere in the envelope fails with a typed error', () => {
      const envelope = cipher.encrypt(dek, '110101199003071234', A);
      const seen = new Set<string>();
      for (let bit = 0; bit < envelope.length * 8; bit++) {
        const tampered = Buffer.from(envelope);
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const code = codeOf(() => cipher.decrypt(dek, tampered, A));
        expect(code, `bit ${bit}`).not.toBe('no error');
        seen.add(code);
      }
      // Header bits give the structural errors; everything else fails authentication.
      expect(seen).toContain('authentication_failed');
      expect(seen).toContain('envelope_unknown_version');
      expect(seen).toContain('key_version_mismatch');
      expect([...seen].every((c) => c.startsWith('envelope_') || c === 'authentication_failed' || c === 'key_version_mismatch')).toBe(true);
    });

    it('a ciphertext swapped between rows, subjects, fields or apps does not open', () => {
      const envelope = cipher.encrypt(dek, '13812345678', A);
      expect(codeOf(() => cipher.decrypt(dek, envelope, { ...A, subject: 'sub_bob' }))).toBe('authentication_failed');
      expect(codeOf(() => cipher.decrypt(dek, envelope, { ...A, field: 'emergency-contact-phone' }))).toBe('authentication_failed');
      expect(codeOf(() => cipher.decrypt(dek, envelope, { ...A, app: 'shengshitong' }))).toBe('authentication_failed');
      // Another subject's row, with that subject's own key.
      const bobKey = DataKey.generate(1, random);
      const bob = { ...A, subject: 'sub_bob' };
      const bobEnvelope = cipher.encrypt(bobKey, '13900000000', bob);
      expect(codeOf(() => cipher.decrypt(dek, bobEnvelope, A))).toBe('authentication_failed');
      expect(codeOf(() => cipher.decrypt(bobKey, envelope, bob))).toBe('authentication_failed');
    });

    it('context strings are length-prefixed: ("ab","c") is not ("a","bc")', () => {
      const envelope = cipher.encrypt(dek, 'x', { app: 'ab', subject: 'c', field: 'f' });
      expect(codeOf(() => cipher.decrypt(dek, envelope, { app: 'a', subject: 'bc', field: 'f' }))).toBe('authentication_failed');
    });

    it('a wrong key version fails with key_version_mismatch', () => {
      const envelope = cipher.encrypt(dek, '13812345678', A);
      const v2 = DataKey.generate(2, random);
      expect(codeOf(() => cipher.decrypt(v2, envelope, A))).toBe('key_version_mismatch');
      expect(codeOf(() => cipher.decrypt(dek, envelope, { ...A, keyVersion: 2 }))).toBe('key_version_mismatch');
      expect(codeOf(() => cipher.encrypt(dek, 'x', { ...A, keyVersion: 2 }))).toBe('key_version_mismatch');
      // Same version number, different key: authentication fails.
      expect(codeOf(() => cipher.decrypt(DataKey.generate(1, random), envelope, A))).toBe('authentication_failed');
    });

    it('forSubject encrypts many fields with one derivation and binds each to its field', () => {
      const s = cipher.forSubject(dek, { app: A.app, subject: A.subject });
      const sealed = s.encryptFields({ phone: '13812345678', name: '张三', 'id-card': '11010119900307123X' });
      expect(Object.keys(sealed)).toEqual(['phone', 'name', 'id-card']);
      const opened = s.decryptFields(sealed);
      expect(opened.name?.toString('utf8')).toBe('张三');
      // Interchangeable with the per-call API.
      expect(cipher.decryptString(dek, sealed.phone ?? Buffer.alloc(0), A)).toBe('13812345678');
      expect(s.decryptString('phone', cipher.encrypt(dek, '1', A))).toBe('1');
      // Swapping two fields of the same subject fails.
      expect(codeOf(() => s.decrypt('name', sealed.phone ?? Buffer.alloc(0)))).toBe('authentication_failed');
    });

    it('rejects empty app, subject or field', () => {
      expect(codeOf(() => cipher.encrypt(dek, 'x', { ...A, field: '' }))).toBe('invalid_argument');
      expect(codeOf(() => cipher.forSubject(dek, { app: '', subject: 's' }))).toBe('invalid_argument');
    });
  });
}

describe('suites side by side', () => {
  it('a cipher opens envelopes of the other suite (migration), and seals with its own', () => {
    const dek = DataKey.generate(1, random);
    const aes = createFieldCipher({ suite: 'aes-256-gcm' });
    const sm4 = createFieldCipher({ suite: 'sm4' });
    expect(aes.decryptString(dek, sm4.encrypt(dek, '张三', A), A)).toBe('张三');
    expect(sm4.decryptString(dek, aes.encrypt(dek, '张三', A), A)).toBe('张三');
    expect(sm4.encrypt(dek, 'x', A)[1]).toBe(2);
  });
});

describe('crypto-shredding', () => {
  it('once the data key is gone, the data cannot be read', async () => {
    const provider = createEnvKeyProvider({ env: { PIPA_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') } });
    const keyring = createKeyring({ provider });
    const cipher = createFieldCipher();
    const owner = { app: A.app, subject: A.subject };
    // What the store holds: the wrapped key and the envelopes.
    const store = new Map<string, Buffer>();
    const { dataKey, wrapped } = await keyring.generateDataKey(owner);
    store.set('dek', wrapped);
    const envelope = cipher.encrypt(dataKey, '13812345678', A);
    const cache = createDataKeyCache();
    cache.set(owner.app, owner.subject, dataKey);

    // Before: readable through the stored wrapped key.
    const reopened = await keyring.unwrapDataKey(store.get('dek') ?? Buffer.alloc(0), owner);
    expect(cipher.decryptString(reopened, envelope, A)).toBe('13812345678');

    // Shred: delete the wrapped key (the store's part) and destroy every copy in memory.
    store.delete('dek');
    expect(cache.shred(owner.app, owner.subject)).toBe(true);
    shredDataKey(reopened);

    expect(cache.get(owner.app, owner.subject)).toBeUndefined();
    expect(codeOf(() => cipher.decrypt(dataKey, envelope, A))).toBe('key_destroyed');
    expect(codeOf(() => cipher.decrypt(reopened, envelope, A))).toBe('key_destroyed');
    expect(codeOf(() => cipher.forSubject(dataKey, owner))).toBe('key_destroyed');
    expect(store.has('dek')).toBe(false);
    // A new key for the same subject (the person signs up again) does not open the old data, and
    // neither does the master key: the envelope is under the shredded data key only.
    const fresh = await keyring.generateDataKey(owner);
    expect(codeOf(() => cipher.decrypt(fresh.dataKey, envelope, A))).toBe('authentication_failed');
  });

  it('destroy zero-fills derived keys too', () => {
    const dek = DataKey.generate(1, random);
    const derived = dek.suiteKey(getSuite('sm4'));
    expect(derived.enc.some((b) => b !== 0)).toBe(true);
    dek.destroy();
    expect(derived.enc.every((b) => b === 0)).toBe(true);
    expect(derived.mac.every((b) => b === 0)).toBe(true);
    expect(dek.destroyed).toBe(true);
    expect(String(JSON.stringify(dek))).toBe('{"version":1,"destroyed":true}');
  });
});

describe('data key cache', () => {
  it('expires entries by time and evicts the least recently used', () => {
    let t = 0;
    const cache = createDataKeyCache({ maxEntries: 2, ttlMs: 100, now: () => t });
    const k = () => DataKey.generate(1, random);
    cache.set('a', '1', k());
    cache.set('a', '2', k());
    expect(cache.get('a', '1')).toBeDefined(); // 1 is now most recent
    cache.set('a', '3', k());
    expect(cache.get('a', '2')).toBeUndefined();
    expect(cache.get('a', '1')).toBeDefined();
    t = 150;
    expect(cache.get('a', '1')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('drop takes a key out of the cache without destroying it, and returns it', () => {
    const cache = createDataKeyCache();
    const key = DataKey.generate(1, random);
    cache.set('a', '1', key);
    expect(cache.drop('a', '1')).toBe(key);
    expect(key.destroyed).toBe(false);
    expect(cache.get('a', '1')).toBeUndefined();
    expect(cache.drop('a', '1')).toBeUndefined();
  });

  it('clear destroys the keys', () => {
    const cache = createDataKeyCache();
    const key = DataKey.generate(1, random);
    cache.set('a', '1', key);
    cache.clear();
    expect(key.destroyed).toBe(true);
    expect(isCryptoError(new CryptoError('key_destroyed', 'x', 'x'), 'key_destroyed')).toBe(true);
  });
});
