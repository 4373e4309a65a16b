/**
 * The two seed apps (examples/*) load through `loadDeclaration` and state exactly what their
 * policies state: the facts below are the ones lint rules and the runtime build on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeclaration } from './load.js';
import type { Declaration, RecipientDecl } from './schema.js';
import { taxonomyCategory } from './taxonomy.js';

function load(app: string): Declaration {
  const url = new URL(`../../../examples/${app}/policy.yaml`, import.meta.url);
  return loadDeclaration(readFileSync(url, 'utf8'), `examples/${app}/policy.yaml`).declaration;
}

function recipient(d: Declaration, id: string): RecipientDecl {
  const r = d.recipients?.find((x) => x.id === id);
  if (!r) throw new Error(`no recipient "${id}"`);
  return r;
}

function zh(text: unknown): string | undefined {
  if (typeof text === 'string') return text;
  if (text && typeof text === 'object' && 'zh' in text && typeof text.zh === 'string') return text.zh;
  return undefined;
}

describe('examples/xiaopiaopiao-merchant (小票票商户版)', () => {
  const d = load('xiaopiaopiao-merchant');

  it('is the 河南小票票 ticketing merchant app with its dates, phone and addresses', () => {
    expect(d.app.type).toBe('performance-ticketing');
    expect(d.app.publicAffairs).toBe(false);
    expect(d.app.products[0]?.framework).toContain('uni-app');
    expect(zh(d.controller.legalName)).toBe('河南小票票文化传播有限公司');
    expect(zh(d.controller.registeredAddress)).toBe('郑州市二七区瑞光创意工厂1号院3号楼B-316');
    expect(zh(d.controller.officeAddress)).toBe('郑州市二七区瑞光创意工厂1号院3号楼B-316');
    expect(d.controller.phone).toEqual(['400-8331-369']);
    expect(d.controller.dpo?.phone).toEqual(['400-8331-369']);
    expect(d.controller.dpo?.name).toBeUndefined();
    expect(d.versions).toEqual([{ version: '2022-03-20', published: '2022-03-20', effective: '2022-03-20' }]);
  });

  it('names each SDK with the company the policy gives, and none for DCloud or the analysis provider', () => {
    const companies = Object.fromEntries((d.recipients ?? []).map((r) => [r.id, zh(r.company)]));
    expect(companies).toEqual({
      'dcloud-uni-app': undefined,
      umeng: '北京锐讯灵通科技有限公司',
      getui: '浙江每日互动网络科技股份有限公司',
      alipay: '支付宝（中国）网络技术有限公司',
      'wechat-pay': '财付通支付科技有限公司',
      'tencent-tbs': '深圳市腾讯计算机系统有限公司',
      'data-analysis-provider': undefined,
    });
    expect(zh(recipient(d, 'umeng').name)).toBe('友盟SDK');
    expect(zh(recipient(d, 'getui').name)).toBe('个推SDK');
    expect(zh(recipient(d, 'tencent-tbs').policyTitle)).toBe('腾讯浏览服务SDK隐私保护声明');
    expect(recipient(d, 'umeng').categories).toEqual(['device.storage']);
    expect(recipient(d, 'alipay').categories).toEqual(['finance.payment-account']);
    expect(recipient(d, 'wechat-pay').categories).toEqual(['finance.payment-account']);
    // no recipient has a contact: the policy gives none
    expect(d.recipients?.every((r) => r.contact === undefined)).toBe(true);
  });

  it('provides to every recipient on bundled consent only ("使用即同意")', () => {
    expect(d.consent?.impliedByUse).toBe(true);
    expect(d.consent?.acceptsFutureChanges).toBe(true);
    expect(d.recipients?.map((r) => r.consent)).toEqual(Array((d.recipients ?? []).length).fill('bundled'));
    expect(d.purposes.some((p) => p.separateConsent)).toBe(false);
  });

  it('declares 个推 reading the installed-apps list to wake closed push processes', () => {
    const getui = recipient(d, 'getui');
    expect(getui.categories).toContain('device.installed-apps');
    expect(taxonomyCategory('device.installed-apps')?.appList).toBe(true);
    expect(getui.wakesOtherApps).toBe(true);
    expect(getui.purposes).toContain('push-keepalive');
    const keepalive = d.purposes.find((p) => p.id === 'push-keepalive');
    expect(keepalive?.wakesOtherApps).toBe(true);
    expect(keepalive?.categories).toEqual(['device.installed-apps']);
  });

  it('collects immutable device identifiers for DCloud statistics', () => {
    const stats = d.purposes.find((p) => p.id === 'dcloud-statistics');
    const immutable = stats?.categories.filter((id) => taxonomyCategory(id)?.immutableDeviceId) ?? [];
    expect(immutable.sort()).toEqual(['device.id.imei', 'device.id.imsi']);
    expect(recipient(d, 'dcloud-uni-app').purposes).toContain('dcloud-statistics');
  });

  it('shares de-identified data with an unnamed data-analysis provider', () => {
    const r = recipient(d, 'data-analysis-provider');
    expect(r.deidentified).toBe(true);
    expect(r.company).toBeUndefined();
    expect(r.categories.length).toBeGreaterThan(10);
  });

  it('promises an answer within 15 days and states only a complaint channel', () => {
    expect(d.rights?.responseTime).toEqual({ value: 15, unit: 'days' });
    expect(d.rights?.list.map((r) => r.right)).toEqual(['complaint']);
    expect(d.rights?.cancellation).toBeUndefined();
  });

  it('leaves unsaid what the policy does not say: retention, bases, minors, storage, incidents', () => {
    expect(d.purposes.every((p) => p.retention === undefined)).toBe(true);
    expect(d.purposes.every((p) => p.basis === undefined)).toBe(true);
    expect(d.minors).toBeUndefined();
    expect(d.storage).toBeUndefined();
    expect(d.incidents).toBeUndefined();
  });

  it('declares the four permissions, none on by default, and what degrades when denied', () => {
    expect(d.permissions?.map((p) => p.id)).toEqual(['phone-state', 'location', 'camera-photos', 'write-storage']);
    expect(d.permissions?.every((p) => p.enabledByDefault === false && p.ifDenied !== undefined)).toBe(true);
    const storage = d.permissions?.find((p) => p.id === 'write-storage');
    expect(storage?.android).toEqual(['android.permission.WRITE_EXTERNAL_STORAGE']);
    expect(storage?.requestedAtLaunch).toBe(true);
    expect(storage?.optional).toBe(false);
  });

  it('keeps the security measures and the liability disclaimer', () => {
    expect(d.security?.measures).toEqual(['access-control', 'confidentiality-rules', 'encryption-in-transit', 'firewall']);
    expect(zh(d.security?.liabilityDisclaimer)).toContain('我们也不负责赔偿');
  });

  it('describes the demo database for rights requests', () => {
    const ds = d.datasets?.[0];
    expect(ds).toMatchObject({ id: 'xpp-demo', engine: 'sqlite', connectionEnv: 'XPP_DB_URL' });
    expect(ds?.tables?.map((t) => t.name)).toEqual(['merchants', 'orders', 'login_logs']);
    const [merchants, orders, logs] = ds?.tables ?? [];
    expect(merchants?.subject).toEqual({ column: 'phone', key: 'phone' });
    expect(merchants?.fields.id_card).toBe('identity.id-card');
    expect(orders?.subject).toEqual({ via: 'merchants', column: 'merchant_id', references: 'id' });
    expect(orders?.legalRetention?.period).toBe('P3Y');
    expect(zh(orders?.legalRetention?.basis)).toContain('电子商务法');
    expect(orders?.legalRetention?.columns).toEqual(['merchant_id', 'amount', 'created_at']);
    expect(logs?.fields).toEqual({ ip: 'network.ip', device_imei: 'device.id.imei', at: 'online.access-logs' });
    expect(logs?.erasure.default).toBe('delete-row');
  });
});

describe('examples/shengshitong (盛事通)', () => {
  const d = load('shengshitong');
  const SDKS = ['mobtech', 'xylink', 'baidu-statistics', 'amap-location'];

  it('is a public-affairs app of 沈阳市信息中心 with no storage location', () => {
    expect(d.app.type).toBe('none');
    expect(d.app.publicAffairs).toBe(true);
    expect(d.app.stateOrgan).toBe(false);
    expect(zh(d.controller.legalName)).toBe('沈阳市信息中心（沈阳市信用中心）');
    expect(d.storage?.location).toBeUndefined();
    expect(d.storage?.crossBorder).toBeUndefined();
  });

  it('has customer-service phones and a contact address, and no DPO', () => {
    expect(d.controller.phone).toEqual(['024-86277299', '024-86271177']);
    expect(zh(d.controller.contactAddress)).toBe('沈阳市大东区如意一路11号1门');
    expect(d.controller.dpo).toBeUndefined();
  });

  it('states no version date at all', () => {
    expect(d.versions).toHaveLength(1);
    expect(d.versions[0]?.effective).toBeUndefined();
    expect(d.versions[0]?.published).toBeUndefined();
  });

  it('declares the four SDKs with their policy links and no company or contact', () => {
    const sdks = d.recipients?.filter((r) => r.kind === 'sdk') ?? [];
    expect(sdks.map((r) => r.id)).toEqual(SDKS);
    for (const r of sdks) {
      expect(r.company, r.id).toBeUndefined();
      expect(r.contact, r.id).toBeUndefined();
      expect(r.consent, r.id).toBe('bundled');
    }
    expect(recipient(d, 'mobtech').policyUrl).toBe('www.mob.com/about/policy');
    expect(recipient(d, 'xylink').policyUrl).toBe('https://www.xylink.com/support/policy-norms');
    expect(recipient(d, 'baidu-statistics').policyUrl).toBe('https://tongji.baidu.com/web/help/article?id=330&type=0&castk=LTE%3D');
    expect(recipient(d, 'amap-location').policyUrl).toBe('https://lbs.amap.com/home/privacy/');
    expect(recipient(d, 'xylink').categories).toEqual(['device.id.mac']);
    expect(recipient(d, 'mobtech').categories).toEqual(
      expect.arrayContaining(['device.installed-apps', 'account.openid', 'device.id.imsi']),
    );
  });

  it('keeps collecting the MAC address in the background for MobTech, 小鱼易连 and 百度统计, not 高德', () => {
    const background = (d.recipients ?? []).filter((r) => r.background).map((r) => r.id);
    expect(background).toEqual(['mobtech', 'xylink', 'baidu-statistics']);
    for (const id of background) {
      expect(recipient(d, id).background).toMatchObject({ categories: ['device.id.mac'], frequency: 'continuous' });
      expect(zh(recipient(d, id).background?.reason)).toBeTruthy();
    }
    expect(zh(recipient(d, 'mobtech').background?.reason)).toContain('二维码');
  });

  it('treats under-18s as minors with guardian consent and has no under-14 rules', () => {
    expect(d.minors).toEqual({ ageThreshold: 18, guardianConsent: true });
    expect(d.minors?.under14Rules).toBeUndefined();
  });

  it('says using the service is agreeing, all or nothing', () => {
    expect(d.consent).toEqual({ impliedByUse: true, refuseAllOrNothing: true });
  });

  it('declares the cancellation flow and the correction channel', () => {
    expect(d.rights?.cancellation).toEqual({
      effect: 'immediate',
      irreversibleWarning: true,
      afterwards: 'delete-or-anonymise',
      verification: [
        'basic.name',
        'identity.document-type',
        'custom.document-number',
        'custom.account-security-state',
        'custom.device-info',
      ],
    });
    const cancel = d.rights?.list.find((r) => r.right === 'cancellation');
    expect(cancel?.channels.map((c) => c.kind)).toEqual(['customer-service']);
    const correction = d.rights?.list.find((r) => r.right === 'correction');
    expect(correction?.channels[0]?.kind).toBe('in-app');
    expect(zh(correction?.channels[0]?.detail)).toContain('信息修正');
    expect(d.rights?.responseTime).toBeUndefined();
  });

  it('declares the security measures and the incident-notice channels and content', () => {
    expect(d.security?.measures).toEqual(
      expect.arrayContaining(['access-control', 'encryption-in-transit', 'encryption-at-rest', 'masking']),
    );
    expect(d.security?.encryptionAtRest?.algorithm).toContain('AES-256');
    expect(d.security?.encryptionInTransit).toBe('SSL');
    expect(d.security?.liabilityDisclaimer).toBeUndefined();
    expect(d.incidents).toEqual({
      channels: ['email', 'letter', 'phone', 'push', 'announcement'],
      content: ['what-happened', 'impact', 'measures', 'self-protection', 'remedies'],
      reportsToRegulator: true,
    });
  });

  it('gives a lawful basis only to legal compliance and no retention period anywhere', () => {
    expect(d.purposes.filter((p) => p.basis !== undefined).map((p) => [p.id, p.basis])).toEqual([['legal-compliance', 'legal-duty']]);
    expect(d.purposes.every((p) => p.retention === undefined)).toBe(true);
  });

  it('declares cookies that can be refused and public disclosure without separate consent', () => {
    expect(d.cookies).toMatchObject({ used: true, canRefuse: true, purposes: ['cookie-recall'] });
    expect(d.disclosure?.public?.occurs).toBe(true);
    expect(d.disclosure?.public?.separateConsent).toBeUndefined();
    expect(d.disclosure?.exceptions).toHaveLength(7);
  });
});
