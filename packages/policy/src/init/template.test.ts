import { describe, expect, it } from 'vitest';
import { loadDeclaration } from '../load.js';
import { taxonomyCategory } from '../taxonomy.js';
import { STARTER_TEMPLATE } from './template.js';

const loaded = loadDeclaration(STARTER_TEMPLATE, 'pipa.policy.yaml');
const d = loaded.declaration;

describe('starter template', () => {
  it('loads as a valid declaration', () => {
    expect(d.pipa).toBe(1);
    expect(d.app.id).toBe('example-app');
  });

  it('covers what a new operator has to fill in', () => {
    expect(d.controller.legalName).toBeDefined();
    expect(d.controller.dpo?.email?.length).toBeGreaterThan(0);
    expect(d.versions.length).toBeGreaterThan(0);
    expect(d.categories.length).toBeGreaterThanOrEqual(3);
    for (const p of d.purposes) {
      expect(p.basis, p.id).toBeDefined();
      expect(p.scenario, p.id).toBeDefined();
      expect(p.retention?.length, p.id).toBeGreaterThan(0);
    }
    expect(d.permissions?.length).toBeGreaterThan(0);
    const sdk = d.recipients?.find((r) => r.kind === 'sdk');
    expect(sdk?.consent).toBe('separate');
    for (const r of d.rights?.list ?? []) expect(r.channels.length, r.right).toBeGreaterThan(0);
    expect(d.rights?.responseTime).toEqual({ value: 15, unit: 'working-days' });
    expect(d.minors).toMatchObject({ ageThreshold: 14, guardianConsent: true });
    expect(d.minors?.under14Rules).toBeDefined();
    expect(d.security?.measures.length).toBeGreaterThan(0);
    expect(d.incidents?.channels.length).toBeGreaterThan(0);
    expect(d.storage?.location).toBeDefined();
  });

  it('asks separately, with a statement of necessity, for every purpose using sensitive data', () => {
    const sensitive = new Set(d.categories.filter((c) => c.sensitive ?? taxonomyCategory(c.id)?.sensitive).map((c) => c.id));
    const users = d.purposes.filter((p) => p.categories.some((c) => sensitive.has(c)));
    expect(users.length).toBeGreaterThan(0);
    for (const p of users) {
      expect(p.separateConsent, p.id).toBe(true);
      expect(p.necessity, p.id).toBeDefined();
    }
  });

  it('comments in zh and en', () => {
    const comments = STARTER_TEMPLATE.split('\n').filter((l) => /^\s*#\s*\S/.test(l) && !/^\s*#\s*-+$/.test(l));
    expect(comments.some((l) => /[\u4e00-\u9fff]/u.test(l))).toBe(true);
    expect(comments.some((l) => /^\s*#[^\u4e00-\u9fff]*[A-Za-z]{4,}[^\u4e00-\u9fff]*$/u.test(l))).toBe(true);
    // Every section heading is bilingual.
    const headings = comments.filter((l) => /^# \S.* \/ \S/.test(l));
    expect(headings.length).toBeGreaterThanOrEqual(15);
  });
});
