import { describe, expect, it } from 'vitest';
import { STARTER_TEMPLATE } from '../init/template.js';
import { loadDeclaration } from '../load.js';
import { LINT_RULES, lintDeclaration, lintRule, regulationOf } from './lint.js';
import { REGULATION_IDS } from './types.js';

describe('LINT_RULES', () => {
  it('has more than 25 rules with unique keys of the form <REGULATION-ID>/<slug>', () => {
    expect(LINT_RULES.length).toBeGreaterThanOrEqual(30);
    const keys = LINT_RULES.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of LINT_RULES) {
      expect(r.key).toMatch(/^[A-Z0-9.-]+\/[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(REGULATION_IDS).toContain(r.id);
      expect(r.key.startsWith(`${r.id}/`)).toBe(true);
    }
  });

  it('gives every rule a title, citation and hint in zh and en', () => {
    for (const r of LINT_RULES) {
      for (const t of [r.title, r.citation, r.hint]) {
        expect(t.zh, r.key).toMatch(/[\u4e00-\u9fff]/);
        expect(t.en, r.key).toMatch(/^[\x20-\x7e\u2013\u2014\u2019\u2026]+$/);
      }
    }
  });

  it('covers the regulations the issue lists', () => {
    const ids = new Set(LINT_RULES.map((r) => r.id));
    for (const id of [
      'PIPL-13',
      'PIPL-14',
      'PIPL-15',
      'PIPL-16',
      'PIPL-17',
      'PIPL-23',
      'PIPL-24',
      'PIPL-25',
      'PIPL-28',
      'PIPL-31',
      'PIPL-36',
      'PIPL-38',
      'PIPL-44',
      'PIPL-47',
      'PIPL-51',
      'PIPL-52',
      'PIPL-55',
      'PIPL-57',
      'PIPL-69',
      'GBT-5.5',
      'GBT-6.1',
      'GBT-8.5',
      'GBT-8.7',
      'GBT-9.7',
      'GBT-10.2',
      'MIIT-2',
      'MIIT-3',
      'MIIT-4',
      'MIIT-26',
      'MIIT-164',
      'MIIT-292',
      'MIIT-337',
      'TAF-APPLIST',
      'GB41391-ID',
      'SDK-1',
      'NEC',
    ]) {
      expect(ids.has(id as never), id).toBe(true);
    }
  });

  it('looks rules up by key and splits keys into regulation ids', () => {
    expect(lintRule('PIPL-17/retention')?.severity).toBe('error');
    expect(lintRule('PIPL-17/nope')).toBeUndefined();
    expect(regulationOf('GBT-10.2/notice-content')).toBe('GBT-10.2');
    expect(() => regulationOf('PIPL-99/x')).toThrow(/not a lint rule key/);
    expect(() => regulationOf('retention')).toThrow(/not a lint rule key/);
  });
});

describe('the starter declaration of `pipa init`', () => {
  it('lints without errors', () => {
    const { summary, findings } = lintDeclaration(loadDeclaration(STARTER_TEMPLATE, 'pipa.policy.yaml'));
    expect(findings.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.path}`)).toEqual([]);
    expect(summary.error).toBe(0);
  });
});
