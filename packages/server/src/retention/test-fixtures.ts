/**
 * A declaration for the retention tests: purposes on every basis the sweep distinguishes, retention
 * rules with every trigger, and a SQLite dataset with tables the sweep can and cannot reach.
 */
import { type Declaration, type DeclarationInput, validateDeclaration } from '@pipa/policy';

export const RET_APP = 'retention-demo';
export const RET_DB_ENV = 'RET_DB_URL';

export const BASIS = { zh: '《电子商务法》第三十一条', en: 'E-Commerce Law art. 31' };

export function retentionDeclarationInput(): DeclarationInput {
  return {
    pipa: 1,
    app: { id: RET_APP, name: '保存期限演示', products: [{ name: '保存期限演示', platforms: ['android'] }] },
    controller: { legalName: '演示科技有限公司' },
    versions: [{ version: '1' }],
    categories: [
      { id: 'contact.phone' },
      { id: 'contact.email' },
      { id: 'basic.name' },
      { id: 'basic.gender' },
      { id: 'device.id.oaid' },
      { id: 'finance.transactions' },
      { id: 'online.browsing-history' },
      { id: 'contact.address' },
    ],
    purposes: [
      // 0: the contract: kept until 30 days after the account's cancellation
      {
        id: 'account',
        name: { zh: '账号', en: 'Account' },
        basis: 'contract',
        categories: ['contact.phone', 'basic.name'],
        retention: [{ trigger: 'account-cancellation', period: 'P30D', action: 'delete' }],
      },
      // 1: consent; e-mail kept 7 days after a withdrawal, the phone at once (but see `account`)
      {
        id: 'marketing',
        name: { zh: '营销', en: 'Marketing' },
        basis: 'consent',
        categories: ['contact.phone', 'contact.email'],
        retention: [{ categories: ['contact.email'], trigger: 'consent-withdrawn', period: 'P7D', action: 'delete' }],
      },
      // 2: consent; 90 days from collection, then anonymised
      {
        id: 'analytics',
        name: { zh: '统计分析', en: 'Analytics' },
        basis: 'consent',
        categories: ['device.id.oaid'],
        retention: [{ trigger: 'collection', period: 'P90D', action: 'anonymise' }],
      },
      // 3: consent, no rule: the withdrawal ends it at once
      { id: 'survey', name: { zh: '问卷', en: 'Survey' }, basis: 'consent', categories: ['basic.gender'] },
      // 4: contract, one year from the last activity
      {
        id: 'history',
        name: { zh: '浏览记录', en: 'History' },
        basis: 'contract',
        categories: ['online.browsing-history'],
        retention: [{ trigger: 'last-activity', period: 'P1Y', action: 'delete' }],
      },
      // 5: contract, 3 years from collection
      {
        id: 'orders',
        name: { zh: '订单', en: 'Orders' },
        basis: 'contract',
        categories: ['finance.transactions'],
        retention: [{ trigger: 'collection', period: 'P3Y', action: 'delete' }],
      },
      // 6: legal duty with a consent-withdrawn rule (never starts: not consent-based)
      {
        id: 'invoicing',
        name: { zh: '开票', en: 'Invoicing' },
        basis: 'legal-duty',
        categories: ['contact.address'],
        retention: [{ trigger: 'consent-withdrawn', action: 'delete' }],
      },
    ],
    datasets: [
      {
        id: 'ret-db',
        engine: 'sqlite',
        connectionEnv: RET_DB_ENV,
        tables: [
          // Found by pipa's subject id; the hold runs from issued_on: the sweep reaches it.
          {
            name: 'invoices',
            subject: { column: 'subject_ref', key: 'subject-id' },
            primaryKey: 'id',
            fields: { buyer_phone: 'contact.phone', amount: 'finance.transactions', issued_on: 'finance.transactions' },
            erasure: { default: 'delete-row', columns: { buyer_phone: 'set-null' } },
            legalRetention: { period: 'P3Y', basis: BASIS, columns: ['subject_ref', 'amount', 'issued_on'], from: 'issued_on' },
          },
          // Found by phone: gone with the vault after an erasure.
          {
            name: 'orders',
            subject: { column: 'phone', key: 'phone' },
            primaryKey: 'id',
            fields: { phone: 'contact.phone', total: 'finance.transactions' },
            erasure: { default: 'delete-row' },
            legalRetention: { period: 'P3Y', basis: BASIS, columns: ['total', 'created_at'], from: 'created_at' },
          },
          // No `from`: the connector would start the period at every call.
          {
            name: 'notes',
            subject: { column: 'subject_ref', key: 'subject-id' },
            primaryKey: 'id',
            fields: { note: 'basic.name' },
            erasure: { default: 'delete-row' },
            legalRetention: { period: 'P1Y', basis: BASIS },
          },
        ],
      },
      // Found by subject id but masked: erase() would mask the masked values again.
      {
        id: 'ret-masked',
        engine: 'sqlite',
        connectionEnv: 'RET_MASKED_DB_URL',
        tables: [
          {
            name: 'profiles',
            subject: { column: 'subject_ref', key: 'subject-id' },
            fields: { nickname: 'basic.name' },
            erasure: { default: 'mask' },
            legalRetention: { period: 'P1Y', basis: BASIS, from: 'created_at' },
          },
        ],
      },
    ],
  };
}

export function retentionDeclaration(edit?: (d: DeclarationInput) => void): Declaration {
  const input = retentionDeclarationInput();
  edit?.(input);
  return validateDeclaration(input, 'retention-demo.yaml');
}

/** The demo dataset's tables (SQLite). */
export const RET_DB_SCHEMA = `
  CREATE TABLE invoices (id INTEGER PRIMARY KEY, subject_ref TEXT, buyer_phone TEXT, amount TEXT, issued_on TEXT);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, phone TEXT, total TEXT, created_at TEXT);
  CREATE TABLE notes (id INTEGER PRIMARY KEY, subject_ref TEXT, note TEXT);
`;
