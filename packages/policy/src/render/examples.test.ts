/**
 * The two declared apps (examples/xiaopiaopiao-merchant, examples/shengshitong): every category,
 * purpose, recipient and permission they declare appears in every rendered output, in zh and en.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeclaration } from '../load.js';
import type { Declaration } from '../schema.js';
import { buildRenderDocument, renderAll } from './render.js';
import type { CollectionRow, PermissionRow, SharingRow } from './types.js';

const EXAMPLES = ['xiaopiaopiao-merchant', 'shengshitong'] as const;

const load = (app: string): Declaration => {
  const file = new URL(`../../../../examples/${app}/policy.yaml`, import.meta.url);
  return loadDeclaration(readFileSync(file, 'utf8'), `examples/${app}/policy.yaml`).declaration;
};

const ids = (html: string) => new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1] ?? ''));
const decode = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
const text = (html: string) => decode(html.replace(/<style>[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ''));
const mdAnchors = (md: string) => new Set([...md.matchAll(/<a id="([^"]*)"><\/a>/g)].map((m) => m[1] ?? ''));

function label(t: Declaration['app']['name'], lang: 'zh' | 'en'): string {
  if (typeof t === 'string') return t;
  return lang === 'en' ? (t.en ?? t.zh) : t.zh;
}

for (const app of EXAMPLES) {
  describe(`examples/${app}`, () => {
    const d = load(app);
    const pairs = d.purposes.flatMap((p) => [...new Set(p.categories)].map((c) => ({ purpose: p.id, category: c })));

    for (const lang of ['zh', 'en'] as const) {
      const html = renderAll(d, { lang, format: 'html' });
      const md = renderAll(d, { lang, format: 'md' });
      const json = renderAll(d, { lang, format: 'json' });
      const page = (name: string) => html[`${name}.html`] ?? '';

      it(`every category and every category × purpose is in the collection list (${lang})`, () => {
        const htmlIds = ids(page('collection-list'));
        const mdIds = mdAnchors(md['collection-list.md'] ?? '');
        const rows = (JSON.parse(json['collection-list.json'] ?? '{}') as { rows: CollectionRow[] }).rows;
        for (const { purpose, category } of pairs) {
          const id = `collect-${purpose}--${category}`;
          expect(htmlIds.has(id), `html ${id}`).toBe(true);
          expect(mdIds.has(id), `md ${id}`).toBe(true);
          expect(
            rows.some((r) => r.purpose?.id === purpose && r.category.id === category),
            `json ${id}`,
          ).toBe(true);
        }
        const collected = new Set(rows.map((r) => r.category.id));
        for (const c of d.categories) expect(collected.has(c.id), `category ${c.id}`).toBe(true);
        // Each category's label is shown (from the taxonomy, or the declared label of a custom one).
        const shown = text(page('collection-list'));
        const built = buildRenderDocument(d, 'collection-list', lang).rows as CollectionRow[];
        for (const r of built) expect(shown).toContain(r.category.label);
        for (const c of d.categories) if (c.label) expect(shown).toContain(label(c.label, lang));
      });

      it(`every purpose is in the policy (${lang})`, () => {
        const policyIds = ids(page('policy'));
        const policyText = text(page('policy'));
        const mdIds = mdAnchors(md['policy.md'] ?? '');
        const sections = JSON.stringify((JSON.parse(json['policy.json'] ?? '{}') as { sections: unknown }).sections);
        for (const p of d.purposes) {
          expect(policyIds.has(`purpose-${p.id}`), p.id).toBe(true);
          expect(mdIds.has(`purpose-${p.id}`), p.id).toBe(true);
          expect(sections).toContain(`"id":"purpose-${p.id}"`);
          expect(policyText).toContain(label(p.name, lang));
          if (p.scenario) expect(policyText).toContain(label(p.scenario, lang));
        }
      });

      it(`every recipient is in the sharing list and the policy (${lang})`, () => {
        const listIds = ids(page('sharing-list'));
        const policyIds = ids(page('policy'));
        const listText = text(page('sharing-list'));
        const rows = (JSON.parse(json['sharing-list.json'] ?? '{}') as { rows: SharingRow[] }).rows;
        for (const r of d.recipients ?? []) {
          expect(listIds.has(`recipient-${r.id}`), r.id).toBe(true);
          expect(policyIds.has(`recipient-${r.id}`), r.id).toBe(true);
          expect(mdAnchors(md['sharing-list.md'] ?? '').has(`recipient-${r.id}`), r.id).toBe(true);
          expect(listText).toContain(label(r.name, lang));
          if (r.company) expect(listText).toContain(label(r.company, lang));
          if (r.policyUrl?.startsWith('http')) expect(page('sharing-list')).toContain(`href="${r.policyUrl.replace(/&/g, '&amp;')}"`);
          const row = rows.find((x) => x.recipient.id === r.id);
          expect(row?.categories.map((c) => c.id)).toEqual([...new Set(r.categories)]);
          expect(row?.purposes.map((p) => p.id)).toEqual([...new Set(r.purposes)]);
          expect(row?.method.id).toBe(r.method);
          expect(row?.deidentified).toBe(r.deidentified);
        }
      });

      it(`every permission is in the permissions list (${lang})`, () => {
        const listIds = ids(page('permissions'));
        const listHtml = page('permissions');
        const rows = (JSON.parse(json['permissions.json'] ?? '{}') as { rows: PermissionRow[] }).rows;
        expect(rows.map((r) => r.id)).toEqual((d.permissions ?? []).map((p) => `permission-${p.id}`));
        for (const p of d.permissions ?? []) {
          expect(listIds.has(`permission-${p.id}`), p.id).toBe(true);
          expect(text(listHtml)).toContain(label(p.name, lang));
          for (const a of p.android ?? []) expect(listHtml).toContain(`<code>${a}</code>`);
          for (const i of p.ios ?? []) expect(listHtml).toContain(`<code>${i}</code>`);
        }
      });

      it(`links resolve and external links are declared policy URLs (${lang})`, () => {
        const declaredUrls = new Set<string>();
        for (const r of d.recipients ?? [])
          if (r.policyUrl) declaredUrls.add(r.policyUrl.startsWith('http') ? r.policyUrl : `https://${r.policyUrl}`);
        if (d.app.website) declaredUrls.add(d.app.website);
        const byFile = new Map(Object.entries(html).map(([name, h]) => [name, ids(h)]));
        for (const [name, h] of Object.entries(html)) {
          expect(h).not.toMatch(/<script|<link[^>]*stylesheet|<[^>]*\ssrc=/i);
          for (const m of h.matchAll(/\shref="([^"]*)"/g)) {
            const href = decode(m[1] ?? '');
            if (/^https?:/.test(href)) {
              expect(declaredUrls.has(href), `${name}: ${href}`).toBe(true);
              continue;
            }
            const [file, hash] = href.startsWith('#') ? [name, href.slice(1)] : (href.split('#') as [string, string | undefined]);
            expect(byFile.has(file), `${name}: ${href}`).toBe(true);
            if (hash) expect(byFile.get(file)?.has(hash), `${name}: ${href}`).toBe(true);
          }
        }
      });
    }

    it('states what the declaration leaves out instead of inventing it', () => {
      const zh = text(renderAll(d)['policy.html'] ?? '');
      if (!d.storage?.location) expect(zh).toContain('本政策未说明个人信息的存储地点。');
      if (!d.versions.at(-1)?.effective) expect(zh).toContain('本政策未说明生效日期。');
      if (d.purposes.every((p) => !p.retention?.length) && !d.storage?.retention) expect(zh).toContain('本政策未说明个人信息的保存期限。');
      if (!d.minors) expect(zh).toContain('本政策未说明如何保护未成年人的个人信息。');
    });
  });
}
