/**
 * Crypto micro-benchmark: microseconds per field encryption and decryption for each cipher suite,
 * per field when one subject's record is sealed at once, per blind index and pseudonym, and per
 * data-key unwrap. Synchronous work is timed in batches (median of the batch times / batch size).
 */
import { type Figure, round, type Scenario, timeMedian } from '../lib.js';

const VALUES = ['13812345678', '11010119900307123X', '张三', 'zhang.san@example.com', '辽宁省沈阳市和平区南京北街 123 号 4 单元 501 室'];

function perOp(name: string, microseconds: number, limit: number, unit = 'µs/op'): Figure {
  return { name, value: round(microseconds, 2), unit, target: `<= ${limit} ${unit}`, ok: microseconds <= limit };
}

export const cryptoScenario: Scenario = {
  name: 'crypto',
  description: 'field encryption per suite, blind index, pseudonyms, data-key unwrap (µs per operation)',
  async run({ quick, log }) {
    // Loaded here so the other scenarios still run if this build lacks the crypto exports.
    const c = await import('@pipa/server');
    const batch = 1000;
    const runs = quick ? 10 : 40;
    const figures: Figure[] = [];
    const time = (fn: () => void) => (timeMedian(fn, runs, Math.min(5, runs)) * 1000) / batch;

    const aad = { app: 'xiaopiaopiao', subject: 'sub_01HZX4K6', field: 'phone' };
    const limits = { 'aes-256-gcm': { encrypt: 15, decrypt: 15 }, sm4: { encrypt: 30, decrypt: 30 } } as const;
    for (const suite of c.SUITE_NAMES) {
      if (!c.isSuiteAvailable(suite)) {
        log(`${suite}: not available in this OpenSSL build, skipped`);
        continue;
      }
      const cipher = c.createFieldCipher({ suite });
      const dek = c.DataKey.generate(1);
      const envelopes = Array.from({ length: batch }, (_, i) => cipher.encrypt(dek, VALUES[i % VALUES.length] ?? '', aad));
      let sink = 0;
      const enc = time(() => {
        for (let i = 0; i < batch; i++) sink += cipher.encrypt(dek, VALUES[i % VALUES.length] ?? '', aad).length;
      });
      const dec = time(() => {
        for (let i = 0; i < batch; i++) sink += cipher.decrypt(dek, envelopes[i] ?? Buffer.alloc(0), aad).length;
      });
      const subject = cipher.forSubject(dek, { app: aad.app, subject: aad.subject });
      const record = {
        phone: VALUES[0] ?? '',
        'id-card': VALUES[1] ?? '',
        name: VALUES[2] ?? '',
        email: VALUES[3] ?? '',
        address: VALUES[4] ?? '',
      };
      const fieldCount = Object.keys(record).length;
      const many = time(() => {
        for (let i = 0; i < batch / fieldCount; i++) sink += Object.keys(subject.encryptFields(record)).length;
      });
      log(`${suite}: checksum ${sink}`);
      figures.push(perOp(`${suite} encrypt one field`, enc, limits[suite].encrypt, 'µs/field'));
      figures.push(perOp(`${suite} decrypt one field`, dec, limits[suite].decrypt, 'µs/field'));
      figures.push(perOp(`${suite} encrypt a 5-field record (forSubject)`, many, limits[suite].encrypt, 'µs/field'));
    }

    const root = Buffer.alloc(32, 7);
    for (const digest of ['sha256', 'sm3'] as const) {
      if (digest === 'sm3' && !c.isSuiteAvailable('sm4')) continue;
      const index = c.createBlindIndex({ key: root, digest });
      const phone = index.forField('xiaopiaopiao', 'phone', 'phone');
      const typed = ['138 1234 5678', '+86-139-0000-1111', '１３７００００２２２２'];
      let sink = 0;
      const us = time(() => {
        for (let i = 0; i < batch; i++) sink += phone(typed[i % typed.length] ?? '').length;
      });
      log(`blind index ${digest}: checksum ${sink}`);
      figures.push(perOp(`blind index, phone (normalise + HMAC-${digest.toUpperCase()})`, us, 10));
    }

    const pseudonyms = c.createPseudonymizer({ auditKey: Buffer.alloc(32, 1), sharingKey: Buffer.alloc(32, 2) });
    let psink = 0;
    const psn = time(() => {
      for (let i = 0; i < batch; i++) psink += pseudonyms.audit(`sub_${i}`).length;
    });
    log(`pseudonyms: checksum ${psink}`);
    figures.push(perOp('audit pseudonym (HMAC-SHA256, base32)', psn, 10));

    // Unwrapping a data key (env master key, aes-256-gcm): async, timed over sequential awaits.
    const keyring = c.createKeyring({
      provider: c.createEnvKeyProvider({ env: { PIPA_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') } }),
    });
    const owner = { app: 'xiaopiaopiao', subject: 'sub_01HZX4K6' };
    const { wrapped } = await keyring.generateDataKey(owner);
    const n = quick ? 2000 : 10000;
    for (let i = 0; i < 200; i++) await keyring.unwrapDataKey(wrapped, owner);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) (await keyring.unwrapDataKey(wrapped, owner)).destroy();
    figures.push(perOp('unwrap a data key (env master key)', ((performance.now() - t0) * 1000) / n, 50));
    return figures;
  },
};
