import { describe, expect, it } from 'vitest';
import { creditCodeCheck, luhnCheckDigit, luhnHexCheckDigit, mod11_2Check } from './checksums.js';
import { detect } from './detect.js';
import type { DetectorType } from './types.js';

const fw = (s: string) => s.replace(/[0-9A-Za-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const id18 = (first17: string) => first17 + mod11_2Check(first17);
const luhn = (payload: string) => payload + String(luhnCheckDigit(payload));
const wrongLast = (s: string) => s.slice(0, -1) + (s.endsWith('9') || s.endsWith('X') ? '0' : String(Number(s.slice(-1)) + 1));

function found(text: string, type: DetectorType): string[] {
  return detect(text)
    .filter((d) => d.type === type)
    .map((d) => d.text);
}

const ID = id18('11010519491231002'); // 11010519491231002X
const PHONE = '13812345678';
const CARD = luhn('622202123456789012'); // 19 digits

describe('resident ID numbers', () => {
  it('finds a valid 18-digit number, with context, and scores it', () => {
    const [d] = detect(`身份证号：${ID}。`);
    expect(d?.type).toBe('id-card');
    expect(d?.category).toBe('identity.id-card');
    expect(d?.text).toBe(ID);
    expect(d?.reasons).toEqual(expect.arrayContaining(['checksum:mod11-2', 'birth-date', 'region', 'context:身份证']));
    expect(d?.score).toBeGreaterThanOrEqual(0.95);
  });
  it('rejects a wrong check character, an impossible birth date and an implausible region', () => {
    expect(found(`身份证号：${wrongLast(ID)}`, 'id-card')).toEqual([]);
    expect(found(id18('11010519490231002'), 'id-card')).toEqual([]); // 31 Feb
    expect(found(`号码 ${id18('99010519491231002')}`, 'id-card')).toEqual([]);
  });
  it('accepts a lower-case x and full-width digits, and uses lookarounds for boundaries', () => {
    expect(found(`证件${ID.toLowerCase()}号`, 'id-card')).toEqual([ID.toLowerCase()]);
    expect(found(`身份证${fw(ID)}`, 'id-card')).toEqual([fw(ID)]);
    expect(detect(`身份证${fw(ID)}`)[0]?.reasons).toContain('full-width');
    expect(found(`1${ID}`, 'id-card')).toEqual([]);
  });
  it('finds ID numbers written in groups (6-8-4)', () => {
    expect(found(`身份证 ${ID.slice(0, 6)} ${ID.slice(6, 14)} ${ID.slice(14)}`, 'id-card')).toHaveLength(1);
  });
  it('finds a first-generation 15-digit number with context only', () => {
    expect(found('老身份证号 110105491231002', 'id-card')).toEqual(['110105491231002']);
    expect(found('110105491231002', 'id-card')).toEqual([]);
  });
  it('tells foreign permanent residence IDs and HK/Macao/Taiwan residence permits apart', () => {
    const foreign = id18('91184019900101001');
    const permit = id18('81000019900101001');
    expect(detect(`外国人永久居留身份证 ${foreign}`)[0]?.type).toBe('foreign-permanent-residence');
    expect(detect(`港澳台居民居住证 ${permit}`)[0]?.type).toBe('residence-permit');
    expect(found(`居住证 ${wrongLast(permit)}`, 'residence-permit')).toEqual([]);
  });
});

describe('mobile and landline numbers', () => {
  it('finds a number glued to Chinese text (手机13812345678号)', () => {
    expect(found(`手机${PHONE}号`, 'phone')).toEqual([PHONE]);
  });
  it('handles +86, 0086, 3-4-4 grouping with spaces or dashes, full-width digits', () => {
    for (const v of [`+86 138 1234 5678`, `+86${PHONE}`, `0086${PHONE}`, `138 1234 5678`, `138-1234-5678`, fw(PHONE)]) {
      const [d] = detect(`联系电话：${v}`);
      expect(d?.type, v).toBe('phone');
      expect(d?.normalized, v).toBe(PHONE);
    }
  });
  it('rejects unassigned prefixes, longer digit runs and order numbers', () => {
    expect(found('电话 12812345678', 'phone')).toEqual([]);
    expect(found(`电话 ${PHONE}9`, 'phone')).toEqual([]);
    expect(found(`订单号 ${PHONE}`, 'phone')).toEqual([]);
  });
  it('does not take digits inside a hex token', () => {
    expect(found('req=a13812345678bcdef0123', 'phone')).toEqual([]);
  });
  it('finds landlines with area codes in common forms', () => {
    for (const v of ['010-62345678', '(0755)86013388', '0571 8765 4321', '+86 10 6234 5678']) {
      expect(found(`座机 ${v}`, 'landline'), v).toEqual([v]);
    }
    expect(found('座机 012-62345678', 'landline')).toEqual([]);
  });
});

describe('bank cards', () => {
  it('finds UnionPay cards of 16 to 19 digits, plain or grouped', () => {
    for (const len of [16, 17, 18, 19]) {
      const card = luhn(`62${'1234567890123456'.slice(0, len - 3)}`);
      expect(found(`卡号 ${card}`, 'bank-card'), card).toEqual([card]);
    }
    const grouped = CARD.replace(/(\d{4})(?=\d)/g, '$1 ');
    expect(found(`银行卡 ${grouped}`, 'bank-card')).toEqual([grouped]);
    expect(found(`银行卡 ${CARD.replace(/(\d{4})(?=\d)/g, '$1-')}`, 'bank-card')).toHaveLength(1);
  });
  it('uses Luhn as a score factor: a failing UnionPay number is kept only with context', () => {
    const bad = wrongLast(CARD);
    expect(found(`卡号 ${bad}`, 'bank-card')).toEqual([bad]);
    expect(detect(`卡号 ${bad}`)[0]?.reasons).toContain('luhn-failed');
    expect(found(`见 ${bad}`, 'bank-card')).toEqual([]);
    expect(detect(`见 ${CARD}`)[0]?.score ?? 0).toBeGreaterThan(detect(`卡号 ${bad}`)[0]?.score ?? 1);
  });
  it('finds Visa / Mastercard numbers with a valid Luhn digit', () => {
    expect(found('card 4111111111111111', 'bank-card')).toEqual(['4111111111111111']);
    expect(found('card 4111111111111112', 'bank-card')).toEqual(['4111111111111112']);
    expect(found('ref 4111111111111112', 'bank-card')).toEqual([]);
  });
});

describe('codes and documents', () => {
  const credit = (b: string) => b + (creditCodeCheck(b) ?? '');
  it('validates unified social credit codes (GB 32100)', () => {
    const code = credit('91350100M000100Y4');
    expect(found(`统一社会信用代码 ${code}`, 'credit-code')).toEqual([code]);
    expect(found(`统一社会信用代码 ${code.slice(0, 17)}${code[17] === '0' ? '1' : '0'}`, 'credit-code')).toEqual([]);
  });
  it('finds passports and HK/Macao permits by format and context', () => {
    expect(found('护照号码 E12345678', 'passport')).toEqual(['E12345678']);
    expect(found('护照 EA1234567', 'passport')).toEqual(['EA1234567']);
    expect(found('港澳通行证 C12345678', 'hk-macao-permit')).toEqual(['C12345678']);
    expect(found('型号 C12345678', 'hk-macao-permit')).toEqual([]);
  });
  it('finds licence plates including new-energy plates', () => {
    expect(found('车牌 粤B12345 已入场', 'licence-plate')).toEqual(['粤B12345']);
    expect(found('京A·12345', 'licence-plate')).toEqual(['京A·12345']);
    expect(found('沪AD12345', 'licence-plate')).toEqual(['沪AD12345']);
    expect(found('粤B12345F', 'licence-plate')).toEqual(['粤B12345F']);
    expect(found('粤I12345', 'licence-plate')).toEqual([]);
  });
});

describe('network and device identifiers', () => {
  it('finds e-mail addresses and URLs with credentials', () => {
    expect(found('邮箱：zhang.san@example.com。', 'email')).toEqual(['zhang.san@example.com']);
    expect(found('a@b', 'email')).toEqual([]);
    expect(found('db=postgres://app:s3cret@db.internal:5432/x', 'url-credentials')).toEqual(['postgres://app:s3cret@db.internal:5432']);
  });
  it('finds IPv4 but not versions or out-of-range octets; IPv6; MAC', () => {
    expect(found('ip 116.7.8.9', 'ipv4')).toEqual(['116.7.8.9']);
    expect(found('版本 1.2.3.4.5', 'ipv4')).toEqual([]);
    expect(found('ip 256.1.1.1', 'ipv4')).toEqual([]);
    expect(found('client 2001:db8::8a2e:370:7334', 'ipv6')).toEqual(['2001:db8::8a2e:370:7334']);
    expect(found('at 12:30:45', 'ipv6')).toEqual([]);
    expect(found('MAC 地址：E4:03:07:09:37:7C。', 'mac')).toEqual(['E4:03:07:09:37:7C']);
    expect(found('mac 00-1A-2B-3C-4D-5E', 'mac')).toEqual(['00-1A-2B-3C-4D-5E']);
  });
  it('finds IMEI with Luhn, IMSI under MCC 460, MEID by context', () => {
    const imei = luhn('86123456789012');
    expect(found(`IMEI: ${imei}`, 'imei')).toEqual([imei]);
    expect(found(`IMEI: ${wrongLast(imei)}`, 'imei')).toEqual([]);
    expect(found('IMSI 460001234567890', 'imsi')).toEqual(['460001234567890']);
    const meid = 'A0000012345678';
    expect(found(`MEID ${meid}`, 'meid')).toEqual([meid]);
    expect(found(`MEID ${meid}${luhnHexCheckDigit(meid)}`, 'meid')).toHaveLength(1);
    expect(found(`hash ${meid}`, 'meid')).toEqual([]);
  });
  it('names UUID-shaped and hex identifiers only by their context', () => {
    const uuid = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
    expect(detect(`idfa=${uuid}`)[0]?.type).toBe('idfa');
    expect(detect(`IDFV: ${uuid}`)[0]?.type).toBe('idfv');
    expect(detect(`oaid: ${uuid.toLowerCase()}`)[0]?.type).toBe('oaid');
    expect(detect(`request ${uuid}`)).toEqual([]);
    expect(detect('idfa=00000000-0000-0000-0000-000000000000')).toEqual([]);
    expect(found('android_id: 9774d56d682e549c', 'android-id')).toEqual(['9774d56d682e549c']);
    expect(found('req=9774d56d682e549c oaid=x', 'android-id')).toEqual([]);
  });
});

describe('names and addresses', () => {
  it('finds names after a context word, before a title, next to a phone number', () => {
    expect(found('收货人：张伟，电话 13912345678', 'name')).toEqual(['张伟']);
    expect(found('王小明先生来电咨询', 'name')).toEqual(['王小明']);
    expect(found('欧阳娜娜女士', 'name')).toEqual(['欧阳娜娜']);
    expect(found('李四 13800138000', 'name')).toEqual(['李四']);
  });
  it('does not take common words that start with a surname character', () => {
    expect(found('高速公路和黄金价格在周末马上变化', 'name')).toEqual([]);
  });
  it('scores names below checksum-validated types', () => {
    const ds = detect(`姓名：张伟 身份证 ${ID}`);
    const name = ds.find((d) => d.type === 'name');
    const id = ds.find((d) => d.type === 'id-card');
    expect(name && id && name.score < id.score).toBe(true);
  });
  it('finds a full address and stops at the phrase boundary', () => {
    expect(found('收货地址：辽宁省沈阳市和平区南京北街123号4单元501室。', 'address')).toEqual([
      '辽宁省沈阳市和平区南京北街123号4单元501室',
    ]);
    expect(found('我住在郑州市二七区学府路452号阳光花园19栋', 'address')).toEqual(['郑州市二七区学府路452号阳光花园19栋']);
  });
  it('does not take institutions or region names alone', () => {
    expect(found('深圳市南山区人民法院发布通知', 'address')).toEqual([]);
    expect(found('北京市海淀区', 'address')).toEqual([]);
    expect(found('退款将原路退回', 'address')).toEqual([]);
  });
});

describe('hard negatives and options', () => {
  it('reports nothing in order numbers, timestamps, prices, tracking numbers', () => {
    const text =
      '订单号 202401151234567890，时间戳 1705290000123，价格 ¥1380.00，快递单号 SF1234567890123，运单号：YT1234567890123，版本 10.2.3.456';
    expect(detect(text)).toEqual([]);
  });
  it('fieldContext acts as a context word for structured values', () => {
    expect(detect('E12345678', { fieldContext: 'passport_no' })[0]?.type).toBe('passport');
    expect(detect('E12345678', { fieldContext: 'sku' })).toEqual([]);
  });
  it('types and minScore filter', () => {
    expect(detect(`手机 ${PHONE} 身份证 ${ID}`, { types: ['phone'] }).map((d) => d.type)).toEqual(['phone']);
    expect(detect(`见 ${wrongLast(CARD)}`, { minScore: 0.3 }).map((d) => d.type)).toContain('bank-card');
  });
  it('offsets point into the original text', () => {
    const text = `前缀😀 手机${PHONE}`;
    const [d] = detect(text);
    expect(text.slice(d?.start, d?.end)).toBe(PHONE);
  });
});
