/**
 * `diffDeclarations(old, new)`: every change between two versions of a declaration, each classified
 * as material (the person must consent again, or at least be told prominently: PIPL 14, 17, 23;
 * GB/T 35273-2020 5.5) or editorial (wording, labels, contact details, dates, URLs, and removals
 * that narrow processing).
 *
 * List items are matched by `id` (rights by `right`, channels by `kind`, cross-border entries by
 * recipient and country), and lists of ids are compared as sets, so reordering is never a change.
 * Each change carries the JSON path in the new declaration (in the old one for removals).
 */
import type { Declaration } from '../schema.js';
import { type Affects, createContext, type PendingChange } from './context.js';
import { diffPurposes } from './purposes.js';
import { diffRecipients } from './recipients.js';
import { diffRights } from './rights.js';
import {
  diffApp,
  diffCategories,
  diffConsentModel,
  diffController,
  diffCookies,
  diffDisclosure,
  diffMinors,
  diffOthers,
  diffPermissions,
  diffSecurity,
  diffSources,
  diffStorage,
  diffVersions,
} from './sections.js';
import type { DeclarationChange, DeclarationDiff } from './types.js';

export function diffDeclarations(oldDecl: Declaration, newDecl: Declaration): DeclarationDiff {
  const pending: PendingChange[] = [];
  const ctx = createContext(oldDecl, newDecl, pending);
  diffApp(ctx);
  diffController(ctx);
  diffVersions(ctx);
  diffConsentModel(ctx);
  diffCategories(ctx);
  diffSources(ctx);
  diffPurposes(ctx);
  diffPermissions(ctx);
  diffRecipients(ctx);
  diffCookies(ctx);
  diffMinors(ctx);
  diffRights(ctx);
  diffSecurity(ctx);
  diffStorage(ctx);
  diffDisclosure(ctx);
  diffOthers(ctx);

  const allPurposes = newDecl.purposes.map((p) => p.id);
  const allRecipients = (newDecl.recipients ?? []).map((r) => r.id);
  const resolve = (a: Affects): { purposes: string[]; recipients: string[] } =>
    a === 'all'
      ? { purposes: [...allPurposes], recipients: [...allRecipients] }
      : { purposes: uniqueSorted(a.purposes ?? []), recipients: uniqueSorted(a.recipients ?? []) };

  const affectedPurposes = new Set<string>();
  const affectedRecipients = new Set<string>();
  const changes: DeclarationChange[] = pending.map(({ affectsSpec, ...change }) => {
    if (!change.material) return change;
    const affects = resolve(affectsSpec ?? { purposes: [], recipients: [] });
    for (const p of affects.purposes) affectedPurposes.add(p);
    for (const r of affects.recipients) affectedRecipients.add(r);
    return { ...change, affects };
  });
  // Only ids that exist in the new declaration can have grants to mark.
  const known = (ids: Set<string>, list: readonly string[]) => uniqueSorted([...ids].filter((id) => list.includes(id)));
  return {
    changes,
    reconsent: changes.some((c) => c.material),
    affected: { purposes: known(affectedPurposes, allPurposes), recipients: known(affectedRecipients, allRecipients) },
  };
}

function uniqueSorted(ids: readonly string[]): string[] {
  return [...new Set(ids)].sort();
}
