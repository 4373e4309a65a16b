import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { luhnValid } from '../checksums.js';
import { detect } from '../detect.js';
import { hmacSha256, sha256, toHex, utf8 } from '../sha256.js';
import { applyOperator, keyedHash, OperatorError, operatorFor, pseudonym, redactText } from './apply.js';
import { cardToken, feistelDigits, feistelDigitsInverse, phoneToken } from './fpe.js';
import { generaliseAddress, generaliseAge, generaliseBirthDate } from './generalise.js';
import { maskMiddle, maskValue } from './mask.js';

const KEY = 'test-key-0123456789abcdef';

describe('SHA-256 and HMAC-SHA256 (pure TypeScript) against node:crypto', () => {
  const inputs = ['', 'abc', '手机13812345678', 'a'.repeat(55), 'b'.repeat(56), 'c'.repeat(64), 'd'.repeat(1000), '😀 emoji \ud800 lone'];
  it('sha256', () => {
    for (const s of inputs)
      expect(toHex(sha256(utf8(s))), s).toBe(
        createHash('sha256')
          .update(Buffer.from(utf8(s)))
          .digest('hex'),
      );
  });
  it('hmac with short and long keys', () => {
    for (const key of ['k', KEY, 'x'.repeat(64), 'y'.repeat(100)])
      for (const s of inputs)
        expect(toHex(hmacSha256(key, s))).toBe(
          createHmac('sha256', key)
            .update(Buffer.from(utf8(s)))
            .digest('hex'),
        );
  });
  it('utf8 matches Buffer for well-formed text', () => {
    expect(Buffer.from(utf8('身份证 ID 😀')).equals(Buffer.from('身份证 ID 😀', 'utf8'))).toBe(true);
  });
});

describe('mask (Chinese display conventions)', () => {
  it('masks each type as specified', () => {
    expect(maskValue('phone', '13812345678')).toBe('138****5678');
    expect(maskValue('phone', '+86 138 1234 5678')).toBe('+86 138 **** 5678');
    expect(maskValue('id-card', '41010119900307123X')).toBe('4101**********123X');
    expect(maskValue('name', '张三')).toBe('张*');
    expect(maskValue('name', '欧阳娜娜')).toBe('欧阳**');
    expect(maskValue('email', 'alice@x.com')).toBe('a***@x.com');
    expect(maskValue('bank-card', '6222 0212 3456 7890 123')).toBe('****0123');
    expect(maskValue('address', '辽宁省沈阳市和平区南京北街123号4单元501室')).toBe('辽宁省沈阳市和平区****');
    expect(maskValue('landline', '010-62345678')).toBe('010-****5678');
    expect(maskValue('ipv4', '116.7.8.9')).toBe('116.7.*.*');
    expect(maskValue('mac', 'E4:03:07:09:37:7C')).toBe('E4:03:07:**:**:**');
    expect(maskValue('url-credentials', 'postgres://app:s3cret@db')).toBe('postgres://app:****@db');
  });

  it('counts full-width digits and letters as their ASCII forms, and nothing else as alphanumeric', () => {
    expect(maskValue('phone', '１３８１２３４５６７８')).toBe('１３８****５６７８');
    expect(maskValue('phone', '+86 １３８-１２３４-５６７８')).toBe('+86 １３８-****-５６７８');
    expect(maskValue('id-card', '４１０１０１１９９００３０７１２３Ｘ')).toBe('４１０１**********１２３Ｘ');
    expect(maskValue('bank-card', '６２２２ ０２１２ ３４５６ ７８９０')).toBe('****７８９０');
    // Characters next to the ranges (／ ： ［ ｛ `, the CJK digits) are kept as they are.
    expect(maskMiddle('ab／：［｛`〇一cd', 1, 1)).toBe('a*／：［｛`〇一*d');
  });

  it('maskMiddle keeps what comes before `from`, then masks by alphanumeric position', () => {
    expect(maskMiddle('0086-13812345678', 3, 4, 5)).toBe('0086-138****5678');
    expect(maskMiddle('AB-CD-EF', 0, 0)).toBe('**-**-**');
    expect(maskMiddle('AB-CD-EF', 3, 3)).toBe('AB-CD-EF');
    expect(maskMiddle('', 1, 1)).toBe('');
    // Against a character-by-character reference, on random strings of alphanumerics and others.
    const alphabet = '0129azAZ０９ＡＺａｚ-_ ：／张@.';
    const reference = (text: string, keepStart: number, keepEnd: number, from: number) => {
      const alnum = (ch: string) => /[0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/.test(ch);
      const count = [...text.slice(from)].filter(alnum).length;
      let idx = 0;
      let out = text.slice(0, from);
      for (const ch of text.slice(from)) {
        if (!alnum(ch)) out += ch;
        else out += idx++ >= keepStart && idx - 1 < count - keepEnd ? '*' : ch;
      }
      return out;
    };
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let t = 0; t < 500; t++) {
      let text = '';
      for (let k = next(20); k > 0; k--) text += alphabet[next(alphabet.length)];
      const [a, b, f] = [next(5), next(5), next(Math.max(1, text.length))];
      expect(maskMiddle(text, a, b, f), JSON.stringify([text, a, b, f])).toBe(reference(text, a, b, f));
    }
  });
});

describe('redact, tag, keep, generalise', () => {
  const d = { type: 'phone' as const, text: '138 1234 5678', normalized: '13812345678' };
  it('redact removes, tag names the type, keep keeps', () => {
    expect(applyOperator('redact', d)).toBe('');
    expect(applyOperator('tag', d)).toBe('<PHONE>');
    expect(applyOperator('tag', { ...d, type: 'id-card' })).toBe('<ID_CARD>');
    expect(applyOperator('keep', d)).toBe(d.text);
  });
  it('generalises birth dates, ages, addresses, ID numbers', () => {
    expect(generaliseBirthDate('1990-03-07')).toBe('1990');
    expect(generaliseBirthDate('1990年3月7日')).toBe('1990');
    expect(generaliseAge(34)).toBe('30-39');
    expect(generaliseAge(17, 5)).toBe('15-19');
    expect(() => generaliseAge(-1)).toThrow();
    expect(generaliseAddress('北京市海淀区中关村大街27号')).toBe('北京市海淀区');
    expect(applyOperator('generalise', { type: 'id-card', text: '11010519491231002X', normalized: '11010519491231002X' })).toBe(
      '110105/1949',
    );
  });
});

describe('keyed hash and pseudonyms', () => {
  const a = { type: 'phone' as const, normalized: '13812345678' };
  it('hash is HMAC-SHA256 over category and normalised value, deterministic, format-independent', () => {
    expect(keyedHash(a, KEY)).toBe(createHmac('sha256', KEY).update('contact.phone\u000013812345678').digest('hex'));
    const [x] = detect('手机 138 1234 5678');
    const [y] = detect('手机 13812345678');
    expect(x && y && applyOperator('hash', x, { key: KEY })).toBe(y && applyOperator('hash', y, { key: KEY }));
    expect(keyedHash(a, 'another-key-0123456789')).not.toBe(keyedHash(a, KEY));
  });
  it('pseudonyms differ per recipient and are stable for one recipient', () => {
    const p1 = pseudonym(a, KEY, 'umeng');
    expect(p1).toMatch(/^phone_[a-z2-7]{16}$/);
    expect(pseudonym(a, KEY, 'umeng')).toBe(p1);
    expect(pseudonym(a, KEY, 'jpush')).not.toBe(p1);
  });
  it('keyed operators without a key fail clearly', () => {
    expect(() => applyOperator('hash', { ...a, text: '13812345678' })).toThrow(OperatorError);
  });
});

describe('format-preserving tokens', () => {
  it('the Feistel network is a bijection and reversible', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const v = String(i).padStart(3, '0');
      const t = feistelDigits(v, KEY, 'x');
      expect(t).toHaveLength(3);
      seen.add(t);
      expect(feistelDigitsInverse(t, KEY, 'x')).toBe(v);
    }
    expect(seen.size).toBe(1000);
    expect(feistelDigitsInverse(feistelDigits('1234567890123', KEY, 'y'), KEY, 'y')).toBe('1234567890123');
  });
  it('phone tokens keep the prefix, length and separators; deterministic under a key', () => {
    const t = phoneToken('+86 138 1234 5678', KEY);
    expect(t).toMatch(/^\+86 138 \d{4} \d{4}$/);
    expect(t).not.toBe('+86 138 1234 5678');
    expect(phoneToken('+86 138 1234 5678', KEY)).toBe(t);
    expect(phoneToken('+86 138 1234 5678', 'other-key-0123456789')).not.toBe(t);
  });
  it('card tokens keep the BIN and length and have a valid Luhn digit', () => {
    for (const card of ['6222021234567890123', '6228480402564890018', '4111111111111111']) {
      const t = cardToken(card, KEY);
      expect(t).toHaveLength(card.length);
      expect(t.slice(0, 6)).toBe(card.slice(0, 6));
      expect(t).not.toBe(card);
      expect(luhnValid(t)).toBe(true);
    }
    expect(cardToken('6222 0212 3456 7890 123', KEY)).toMatch(/^6222 02\d\d \d{4} \d{4} \d{3}$/);
  });
});

describe('redactText and operator choice', () => {
  it('applies the operator of the type, then the category, then default', () => {
    const plan = { operators: { phone: 'mask' as const, 'identity.id-card': 'tag' as const, default: 'redact' as const } };
    expect(operatorFor(plan, { type: 'phone', category: 'contact.phone' })).toBe('mask');
    expect(operatorFor(plan, { type: 'id-card', category: 'identity.id-card' })).toBe('tag');
    expect(operatorFor(plan, { type: 'email', category: 'contact.email' })).toBe('redact');
    const text = '手机13812345678，身份证11010519491231002X，邮箱 a@b.cn';
    expect(redactText(text, detect(text), plan)).toBe('手机138****5678，身份证<ID_CARD>，邮箱 ');
  });
});
