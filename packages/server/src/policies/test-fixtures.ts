/**
 * Declarations for policy tests: the lint-clean starter template (`pipa init`) as version 1.0, a
 * version 2.0 with a material change (push notifications also use the IP address: re-consent for
 * the purpose), a version 3.0 that changes only wording (editorial) and a material 4.0.
 */
import { STARTER_TEMPLATE } from '@pipa/policy';

const V1_BLOCK = '    summary: { zh: 首次发布, en: First publication }\n';

/** Add a version entry after `after` (the last entry's last line). */
function withVersion(source: string, after: string, version: string, published: string): string {
  if (!source.includes(after)) throw new Error('the starter template changed: update policies/test-fixtures.ts');
  return source.replace(after, `${after}  - version: "${version}"\n    published: ${published}\n`);
}

export const APP = 'example-app';
export const V1 = STARTER_TEMPLATE;

const PUSH_CATEGORIES = 'categories: [device.id.oaid, device.id.idfv, device.model, device.os]';
export const V2 = withVersion(V1, V1_BLOCK, '2.0', '2025-06-01').replace(
  PUSH_CATEGORIES,
  'categories: [device.id.oaid, device.id.idfv, device.model, device.os, network.ip]',
);

export const V3 = withVersion(V2, '    published: 2025-06-01\n', '3.0', '2025-07-01').replace(
  'en: When the user turns notifications on }\n    requestedAtLaunch',
  'en: When the user switches notifications on }\n    requestedAtLaunch',
);

/** 4.0: material again (push-notification data is kept 30 days after withdrawal: a longer retention). */
export const V4 = withVersion(V3, '    published: 2025-07-01\n', '4.0', '2025-08-01').replace(
  '      - trigger: consent-withdrawn\n        action: delete',
  '      - trigger: consent-withdrawn\n        period: P30D\n        action: delete',
);

/**
 * A "billion laughs" document: ten levels of ten aliases each, 10^9 strings if expanded. The
 * loader refuses it at the alias that goes over its limit.
 */
export const ALIAS_BOMB = [
  'pipa: 1',
  'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`),
].join('\n');
