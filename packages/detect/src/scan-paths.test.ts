/**
 * The fast paths of the scan: the one token pass and what it records (context word starts, the
 * first dashes and colons of UUID, MAC and IPv6 tokens), context windows read from those records,
 * candidates dropped early when they cannot reach minScore, case folding left to the reported
 * detections, and full-width notes from the runs found while narrowing.
 */
import { describe, expect, it } from 'vitest';
import { luhnCheckDigit, mod11_2Check } from './checksums.js';
import { candidates, detect, resolveOverlaps } from './detect.js';
import type { DetectOptions, DetectorType } from './types.js';

const ID = ((f: string) => f + mod11_2Check(f))('11010519491231002');
const PHONE = '13812345678';
const luhn = (payload: string) => payload + String(luhnCheckDigit(payload));

function found(text: string, type: DetectorType, options?: DetectOptions): string[] {
  return detect(text, options)
    .filter((d) => d.type === type)
    .map((d) => d.text);
}

function only(text: string, type: DetectorType, options?: DetectOptions) {
  const ds = detect(text, options).filter((d) => d.type === type);
  expect(ds).toHaveLength(1);
  return ds[0] as NonNullable<(typeof ds)[0]>;
}

describe('UUID and MAC tokens with dashes', () => {
  const upper = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
  const lower = upper.toLowerCase();
  it('normalises the case per type when reported, not before', () => {
    expect(only(`idfa=${lower}`, 'idfa').normalized).toBe(upper);
    expect(only(`oaid: ${upper}`, 'oaid').normalized).toBe(lower);
    expect(only(`IDFV ${upper}`, 'idfv').normalized).toBe(upper);
    // candidates() folds every candidate it returns
    const text = `idfa idfv oaid: ${lower}`;
    const all = candidates(text).filter((c) => c.start === text.indexOf(lower));
    expect(all.map((c) => [c.type, c.normalized]).sort()).toEqual([
      ['idfa', upper],
      ['idfv', upper],
      ['oaid', lower],
    ]);
  });
  it('takes only a token of exactly the UUID or MAC shape', () => {
    expect(detect(`idfa=aaaa-${upper}`)).toEqual([]);
    expect(detect(`idfa=${upper}-ab`)).toEqual([]);
    expect(detect(`idfa=x${upper}`)).toEqual([]);
    expect(detect(`idfa=${upper.replace('-4BA4-', '-4BA4X')}`)).toEqual([]);
    expect(found('mac aa-bb-cc-dd-ee-ff-00', 'mac')).toEqual([]);
    expect(found('mac 0aa-bb-cc-dd-ee-ff', 'mac')).toEqual([]);
  });
  it('normalises a MAC address with dashes to upper case and colons', () => {
    expect(only('设备 mac c8-3c-58-66-e5-67 已绑定', 'mac').normalized).toBe('C8:3C:58:66:E5:67');
    expect(only('mac=C8:3C:58:66:E5:67', 'mac').normalized).toBe('C8:3C:58:66:E5:67');
    expect(only('mac=c8:3c:58:66:e5:67', 'mac').normalized).toBe('C8:3C:58:66:E5:67');
  });
  it('finds a MAC address after dates and phone numbers with dashes, and does not take those', () => {
    const text = '2024-01-15 138-1234-5678 mac 1c-c3-d6-81-8c-1c';
    expect(found(text, 'mac')).toEqual(['1c-c3-d6-81-8c-1c']);
    expect(found('2024-01-15 12-30-45', 'mac')).toEqual([]);
  });
});

describe('words', () => {
  it('tells passport and permit formats apart by their letters and digits', () => {
    const type = (w: string, ctx: string) => detect(`${ctx} ${w}`).map((d) => [d.type, d.reasons[0]]);
    expect(type('E12345678', '护照')).toEqual([['passport', 'passport-format:E']]);
    expect(type('EA1234567', '护照')).toEqual([['passport', 'passport-format:E+letter']]);
    expect(type('EI1234567', '护照')).toEqual([]);
    expect(type('G12345678', '护照')).toEqual([['passport', 'passport-format:G']]);
    expect(type('PE1234567', '护照')).toEqual([['passport', 'passport-format:official']]);
    expect(type('C12345678', '港澳通行证')).toEqual([['hk-macao-permit', 'permit-format:mainland-to-hk-macao']]);
    expect(type('CA1234567', '港澳通行证')).toEqual([['hk-macao-permit', 'permit-format:mainland-to-hk-macao']]);
    expect(type('H1234567890', '回乡证')).toEqual([['hk-macao-permit', 'permit-format:home-return']]);
    expect(type('H123456789', '回乡证')).toEqual([]);
    expect(type('L12345678', '台湾通行证')).toEqual([['hk-macao-permit', 'permit-format:taiwan']]);
    expect(type('E1234567A', '护照')).toEqual([]);
  });
  it('checks plate bodies: letters without I and O, at most two letters, new-energy forms, special suffixes', () => {
    expect(found('车牌 粤B12345', 'licence-plate')).toEqual(['粤B12345']);
    expect(found('车牌 粤BI2345', 'licence-plate')).toEqual([]);
    expect(found('车牌 粤BAB3C5', 'licence-plate')).toEqual([]);
    expect(found('车牌 粤BD12345，粤B12345F', 'licence-plate')).toEqual(['粤BD12345', '粤B12345F']);
    expect(only('车牌 粤b12345', 'licence-plate').normalized).toBe('粤B12345');
    expect(only('车牌 京A·12345', 'licence-plate').normalized).toBe('京A12345');
  });
  it('takes a four-character plate only with its suffix, also at the end of the text', () => {
    expect(found('车牌 京A1234学', 'licence-plate')).toEqual(['京A1234学']);
    expect(found('车牌 京A1234', 'licence-plate')).toEqual([]);
    expect(detect('车牌 京A1234').every((d) => d.end <= '车牌 京A1234'.length)).toBe(true);
  });
});

describe('colon tokens', () => {
  it('does not read times or key-value colons as IPv6', () => {
    expect(detect('2023-11-15 00:40:11.181 INFO {"key": "value", "ts": 12:30:05}')).toEqual([]);
  });
  it('finds IPv6 with an embedded IPv4 address, compressed and full forms', () => {
    expect(found('client ::ffff:192.168.1.10 ok', 'ipv6')).toEqual(['::ffff:192.168.1.10']);
    expect(found('ip=2001:0db8:85a3:0000:0000:8a2e:0370:7334', 'ipv6')).toEqual(['2001:0db8:85a3:0000:0000:8a2e:0370:7334']);
    expect(only('client=2001:DB8::8A2E:370:7334', 'ipv6').normalized).toBe('2001:db8::8a2e:370:7334');
  });
  it('does not take a :: form with a single group', () => {
    expect(candidates('ip ::1 or ::ab').filter((c) => c.type === 'ipv6')).toEqual([]);
    expect(candidates('ip fe80::1').filter((c) => c.type === 'ipv6')).toHaveLength(1);
  });
  it('drops a label colon before the value', () => {
    expect(found('地址:E4:03:07:09:37:7C', 'mac')).toEqual(['E4:03:07:09:37:7C']);
  });
});

describe('context windows', () => {
  it('does not find a Latin context word inside a longer word', () => {
    expect(only('ip 10.1.2.3', 'ipv4').reasons).toContain('context:ip');
    expect(only('zip 10.1.2.3', 'ipv4').reasons).not.toContain('context:ip');
  });
  it('stops at the end of a sentence or a line', () => {
    expect(only(`手机号码 ${PHONE}`, 'phone').reasons).toContain('context:号码');
    expect(only(`手机号码。${PHONE}`, 'phone').reasons.some((r) => r.startsWith('context'))).toBe(false);
    expect(only(`手机\n${PHONE}`, 'phone').reasons.some((r) => r.startsWith('context'))).toBe(false);
  });
  it('uses a context word after the match unless it labels the next value', () => {
    expect(only(`${PHONE}（手机）`, 'phone').reasons).toContain('context-after:手机');
    expect(only(`${PHONE} phone=x`, 'phone').reasons.some((r) => r.startsWith('context'))).toBe(false);
  });
  it('lets a negative word win when it is nearer than the context word by more than 4', () => {
    const phone = (text: string) => candidates(text).find((c) => c.type === 'phone')?.reasons ?? [];
    expect(phone(`手机，请看这一条信息 订单 ${PHONE}`)).toContain('negative-context:订单');
    expect(found(`手机，请看这一条信息 订单 ${PHONE}`, 'phone')).toEqual([]);
    expect(phone(`手机 订单 ${PHONE}`)).toContain('context:手机');
    expect(phone(`订单 手机 ${PHONE}`)).toContain('context:手机');
  });
  it('finds the context of a number inside a longer chain of digit groups', () => {
    // the phone is the second group of the chain "2024 13812345678": its window is read before the
    // token pass has recorded it
    const d = only(`手机 2024 ${PHONE}`, 'phone');
    expect(d.reasons).toEqual(expect.arrayContaining(['part-of-longer-number', 'context:手机']));
  });
  it('honours windowBefore and windowAfter', () => {
    expect(only(`身份证 ${ID}`, 'id-card').reasons).toContain('context:身份证');
    const far = `身份证${'，'.repeat(30)}${ID}`;
    expect(only(far, 'id-card').reasons).not.toContain('context:身份证');
    expect(only(far, 'id-card', { windowBefore: 40 }).reasons).toContain('context:身份证');
    expect(only(`${PHONE}    手机`, 'phone', { windowAfter: 3 }).reasons.some((r) => r.startsWith('context'))).toBe(false);
  });
});

describe('early drops and thresholds', () => {
  const mix = [
    `身份证 ${ID} 手机 ${PHONE}，卡号 ${luhn('622202123456789012')}`,
    `见 ${luhn('622202123456789012').slice(0, -1)}0 订单 202401151234567890`,
    'req=9774d56d682e549c android_id: 9774d56d682e549c oaid=a1ab789f04423ecd',
    `IMEI ${luhn('86123456789012')} IMSI 460001234567890 MEID A0000012345678`,
    '收货人：张伟，电话 13912345678，地址：辽宁省沈阳市和平区南京北街123号4单元501室',
    `手机 2024 ${PHONE} 0086 138 1234 5678 (010) 1234 5678`,
  ];
  it('detect() reports what resolving all candidates at minScore would report', () => {
    for (const text of mix) {
      for (const minScore of [0.2, 0.3, 0.5, 0.7, 0.9]) {
        const expected = resolveOverlaps(candidates(text), minScore).map((c) => [c.type, c.start, c.end, Math.round(c.score * 100) / 100]);
        const got = detect(text, { minScore }).map((d) => [d.type, d.start, d.end, d.score]);
        expect(got).toEqual(expected);
      }
    }
  });
  it('reports nothing above a minScore of 1, and candidates down to 0.2 at 0', () => {
    expect(detect(mix[0] as string, { minScore: 1.01 })).toEqual([]);
    const low = detect(mix[1] as string, { minScore: 0 });
    expect(low.length).toBeGreaterThan(detect(mix[1] as string).length);
    expect(Math.min(...low.map((d) => d.score))).toBeGreaterThanOrEqual(0.2);
  });
  it('ignores unknown types in the types option', () => {
    expect(detect(`手机 ${PHONE}`, { types: ['phone', 'nonsense' as DetectorType] }).map((d) => d.type)).toEqual(['phone']);
    expect(detect(`手机 ${PHONE}`, { types: [] })).toEqual([]);
  });
});

describe('full-width text', () => {
  it('notes full width only on detections that contain some', () => {
    const wide = PHONE.replace(/\d/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const ds = detect(`手机${wide}，邮箱：zhang.san@example.com，ＩＤ ${ID}`);
    const byType = new Map(ds.map((d) => [d.type, d]));
    expect(byType.get('phone')?.reasons).toContain('full-width');
    expect(byType.get('phone')?.normalized).toBe(PHONE);
    expect(byType.get('phone')?.text).toBe(wide);
    expect(byType.get('email')?.reasons).not.toContain('full-width');
    expect(byType.get('id-card')?.reasons).not.toContain('full-width');
  });
  it('gives the same detections for a text built by concatenation as for a flat one', () => {
    let built = '';
    for (const part of ['手机', PHONE, '，身份证 ', ID, '，mac ', 'c8-3c-58-66-e5-67']) built += part;
    expect(detect(built)).toEqual(detect(JSON.parse(JSON.stringify(built)) as string));
  });
});
