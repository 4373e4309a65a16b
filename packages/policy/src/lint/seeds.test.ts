/**
 * The two seed policies (examples/*) are the first apps declared with pipa; every defect the issue
 * names in them must be something lint reports, as an error, at the declaration fact that shows it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeclaration } from '../load.js';
import { lintDeclaration } from './lint.js';
import type { LintFinding } from './types.js';

function lintSeed(app: string, lang: 'zh' | 'en' = 'zh') {
  const file = `examples/${app}/policy.yaml`;
  const text = readFileSync(new URL(`../../../../${file}`, import.meta.url), 'utf8');
  return lintDeclaration(loadDeclaration(text, file), { lang });
}

function errors(findings: readonly LintFinding[], rule: string): LintFinding[] {
  return findings.filter((f) => f.severity === 'error' && f.rule === rule);
}

describe('examples/xiaopiaopiao-merchant (小票票商户版)', () => {
  const { findings, summary } = lintSeed('xiaopiaopiao-merchant');

  it('has error findings', () => {
    expect(summary.error).toBeGreaterThan(0);
  });

  it('MIIT-337 / TAF-APPLIST: the installed-apps list goes to 个推 and wakes other apps', () => {
    const shared = errors(findings, 'MIIT-337/app-list-shared');
    expect(shared.map((f) => f.path)).toContain('$.recipients[2].categories[5]');
    expect(shared.find((f) => f.path.startsWith('$.recipients[2]'))?.message).toContain('个推SDK');
    const wake = errors(findings, 'TAF-APPLIST/wake-other-apps');
    expect(wake.map((f) => f.path)).toEqual(['$.purposes[8].wakesOtherApps', '$.recipients[2].wakesOtherApps']);
    expect(wake[1]?.message).toContain('个推SDK');
  });

  it('PIPL-17: no purpose states a retention period', () => {
    const retention = errors(findings, 'PIPL-17/retention');
    const purposes = retention.map((f) => f.path);
    expect(purposes).toContain('$.purposes[0].retention');
    expect(retention).toHaveLength(13);
    expect(retention[0]?.message).toContain('统计分析服务（DCloud uni-app）');
  });

  it('PIPL-31: no rules for minors', () => {
    expect(errors(findings, 'PIPL-31/minors-missing').map((f) => f.path)).toEqual(['$.minors']);
  });

  it('PIPL-23: sharing with the SDKs without separate consent; DCloud and the analysis provider have no company', () => {
    const consent = errors(findings, 'PIPL-23/separate-consent');
    expect(consent.map((f) => f.message).join('\n')).toMatch(/个推SDK[\s\S]*支付宝SDK/);
    expect(consent.every((f) => f.message.includes('bundled'))).toBe(true);
    const company = errors(findings, 'PIPL-23/recipient-company');
    expect(company.map((f) => f.message)).toEqual([expect.stringContaining('DCloud uni-app'), expect.stringContaining('数据分析服务商')]);
  });

  it('GB41391-ID: immutable device identifiers serve statistics and push', () => {
    const ids = errors(findings, 'GB41391-ID/non-security-use');
    expect(ids[0]?.message).toContain('统计分析服务');
    expect(ids[0]?.message).toContain('IMEI');
    expect(ids.map((f) => f.path)).toContain('$.purposes[0].categories[0]');
  });

  it('also reports implied consent, the liability disclaimer and the storage permission asked at launch', () => {
    expect(errors(findings, 'PIPL-14/implied-consent')).toHaveLength(1);
    expect(errors(findings, 'PIPL-14/future-changes')).toHaveLength(1);
    expect(errors(findings, 'PIPL-69/liability-disclaimer')[0]?.message).toContain('不负责赔偿');
    expect(errors(findings, 'MIIT-3/permission-at-launch')[0]?.message).toContain('写入外部存储');
    expect(errors(findings, 'NEC/beyond-necessary')[0]?.message).toContain('演出票务类');
  });
});

describe('examples/shengshitong (盛事通)', () => {
  const { findings, summary } = lintSeed('shengshitong');

  it('has error findings', () => {
    expect(summary.error).toBeGreaterThan(0);
  });

  it('MIIT-164: the SDKs keep collecting the MAC address in the background', () => {
    const bg = errors(findings, 'MIIT-164/background-sensitive');
    const text = bg.map((f) => f.message).join('\n');
    expect(text).toContain('MobTech SDK');
    expect(text).toContain('小鱼易连 SDK');
    expect(text).toContain('百度统计SDK');
    expect(text).toContain('MAC地址');
  });

  it('PIPL-31: minors are under 18 but there are no rules for children under 14', () => {
    const f = errors(findings, 'PIPL-31/under-14-rules');
    expect(f.map((x) => x.path)).toEqual(['$.minors.under14Rules']);
    expect(f[0]?.message).toContain('18 周岁');
  });

  it('PIPL-17: the policy has no effective date', () => {
    expect(errors(findings, 'PIPL-17/effective-date').map((f) => f.path)).toEqual(['$.versions[0].effective']);
  });

  it('PIPL-23: no SDK names its company, and none is shared with separately', () => {
    const company = errors(findings, 'PIPL-23/recipient-company');
    expect(company.map((f) => f.message)).toEqual([
      expect.stringContaining('MobTech SDK'),
      expect.stringContaining('小鱼易连 SDK'),
      expect.stringContaining('百度统计SDK'),
      expect.stringContaining('高德地图定位SDK'),
    ]);
    expect(errors(findings, 'PIPL-23/separate-consent')).toHaveLength(4);
  });

  it('PIPL-36: a body managing public affairs states no storage location', () => {
    const f = errors(findings, 'PIPL-36/storage-location');
    expect(f.map((x) => x.path)).toEqual(['$.storage.location']);
    expect(f[0]?.message).toContain('管理公共事务');
  });

  it('also reports deletion limited to unlawful processing and cancellation asking for data never collected', () => {
    expect(errors(findings, 'PIPL-47/deletion-conditions')[0]?.path).toBe('$.rights.list[2].conditions');
    expect(errors(findings, 'GBT-8.5/verification-excess')[0]?.message).toContain('账号安全状态');
    expect(errors(findings, 'PIPL-16/all-or-nothing')).toHaveLength(1);
    expect(errors(findings, 'PIPL-57/notice-content')[0]?.message).toMatch(/种类.*原因.*联系方式/);
  });

  it('reads in English too', () => {
    const en = lintSeed('shengshitong', 'en').findings.find((f) => f.rule === 'PIPL-36/storage-location');
    expect(en?.message).toBe(
      'The controller is a body managing public affairs and must store personal information in China, but no storage location is stated.',
    );
  });
});
