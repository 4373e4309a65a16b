/**
 * The 10-field insurance profile the vault and service benchmarks write (same data in both, so their
 * figures compare): a declaration that collects it and the i-th profile with distinct phone, e-mail
 * and ID number.
 */
import type { DeclarationInput } from '@pipa/policy';

export function benchDeclaration(appId: string, options: { marketing?: boolean } = {}): DeclarationInput {
  return {
    pipa: 1,
    app: { id: appId, name: '保险演示', products: [{ name: '保险演示', platforms: ['android', 'ios'] }] },
    controller: { legalName: '保险演示有限公司' },
    versions: [{ version: '1' }],
    categories: [
      { id: 'basic.name' },
      { id: 'basic.gender' },
      { id: 'basic.birth-date' },
      { id: 'contact.phone' },
      { id: 'contact.email' },
      { id: 'contact.address' },
      { id: 'contact.postcode' },
      { id: 'identity.id-card' },
      { id: 'finance.bank-account' },
      { id: 'work.employer' },
    ],
    purposes: [
      {
        id: 'policy-admin',
        name: '保单管理',
        basis: 'contract',
        categories: [
          'basic.name',
          'basic.gender',
          'basic.birth-date',
          'contact.phone',
          'contact.email',
          'contact.address',
          'contact.postcode',
          'identity.id-card',
          'finance.bank-account',
          'work.employer',
        ],
      },
      ...(options.marketing === true
        ? [{ id: 'marketing', name: '产品推荐', basis: 'consent' as const, categories: ['contact.phone', 'contact.email'] }]
        : []),
    ],
  };
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平';
const CHECK = '10X98765432';
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

function idNumber(i: number): string {
  const body = `110101${1960 + (i % 40)}${String((i % 12) + 1).padStart(2, '0')}${String((i % 28) + 1).padStart(2, '0')}${String(i % 1000).padStart(3, '0')}`;
  let sum = 0;
  for (let k = 0; k < 17; k++) sum += (body.charCodeAt(k) - 48) * (WEIGHTS[k] ?? 0);
  return body + CHECK.charAt(sum % 11);
}

/** The i-th 10-field profile (distinct phone, e-mail and ID number per i). */
export function profile(i: number): Record<string, string> {
  return {
    'basic.name': `${SURNAMES[i % 20]}${GIVEN[(i * 7) % 20]}${GIVEN[(i * 13) % 20]}`,
    'basic.gender': i % 2 === 0 ? '男' : '女',
    'basic.birth-date': `${1960 + (i % 40)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
    'contact.phone': `13${String(i).padStart(9, '0')}`,
    'contact.email': `user${i}@example.com`,
    'contact.address': `辽宁省沈阳市和平区南京北街${(i % 500) + 1}号${(i % 9) + 1}单元${(i % 30) + 101}室`,
    'contact.postcode': '110000',
    'identity.id-card': idNumber(i),
    'finance.bank-account': `6222${String(i).padStart(12, '0')}`,
    'work.employer': '沈阳某某科技有限公司',
  };
}
