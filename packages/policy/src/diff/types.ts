/**
 * Kinds of change between two declaration versions. The codes are stable and machine-readable:
 * add new ones, never rename one. Whether a change is material is decided per change (the same
 * kind can be either, e.g. `purpose.basis-changed` is material only to or from `consent`), but most
 * kinds are always one or the other; the comment says which.
 */
export const CHANGE_KINDS = [
  // purposes
  'purpose.added', // material
  'purpose.removed', // editorial (narrowing)
  'purpose.category-added', // material
  'purpose.category-removed', // editorial (narrowing)
  'purpose.source-added', // material: a new way of collecting for the purpose
  'purpose.source-removed', // editorial (narrowing)
  'purpose.basis-changed', // material to or from consent; editorial between other bases
  'purpose.made-required', // material: an optional purpose becomes part of the basic function
  'purpose.separate-consent-removed', // material: separate -> bundled consent
  'purpose.marketing-widened', // material
  'purpose.automated-decision-added', // material
  'purpose.wakes-other-apps', // material
  'purpose.narrowed', // editorial: a flag that narrows processing or strengthens consent
  // retention (per purpose and category)
  'retention.longer', // material
  'retention.removed', // material: no retention rule left for a category
  'retention.trigger-removed', // material: a deletion event no longer applies
  'retention.shorter', // editorial
  'retention.added', // editorial: a new deletion promise
  'retention.action-changed', // editorial: delete <-> anonymise
  // categories
  'category.added', // editorial (a non-sensitive category; its use by a purpose is material)
  'category.sensitive-added', // material
  'category.sensitive-raised', // material
  'category.sensitive-lowered', // material: less protection for data already collected
  'category.removed', // editorial (narrowing)
  // sources
  'source.added', // material: a new way of collecting
  'source.removed', // editorial (narrowing)
  'source.category-added', // material
  'source.category-removed', // editorial (narrowing)
  'source.kind-changed', // material: a different collection method
  'source.background-added', // material
  'source.frequency-increased', // material
  'source.narrowed', // editorial: background stopped or lower frequency
  // permissions
  'permission.added', // material
  'permission.removed', // editorial (narrowing)
  'permission.system-permission-added', // material: a new Android / iOS permission string
  'permission.system-permission-removed', // editorial (narrowing)
  'permission.purpose-added', // material
  'permission.category-added', // material
  'permission.requested-at-launch', // material
  'permission.enabled-by-default', // material
  'permission.made-required', // material
  'permission.narrowed', // editorial
  // recipients
  'recipient.added', // material
  'recipient.removed', // editorial (narrowing)
  'recipient.category-added', // material
  'recipient.purpose-added', // material
  'recipient.method-widened', // material: toward third-party provision or public disclosure
  'recipient.kind-widened', // material: an entrusted processor becomes a recipient deciding for itself
  'recipient.identified', // material: de-identified -> identified
  'recipient.consent-weakened', // material: separate -> bundled -> none
  'recipient.background-added', // material
  'recipient.background-widened', // material
  'recipient.wakes-other-apps', // material
  'recipient.self-start', // material
  'recipient.cross-border-added', // material
  'recipient.company-changed', // material: another company receives the data
  'recipient.narrowed', // editorial
  // cookies
  'cookies.added', // material
  'cookies.widened', // material
  'cookies.narrowed', // editorial
  // minors
  'minors.threshold-lowered', // material
  'minors.threshold-raised', // editorial
  'minors.guardian-consent-removed', // material
  'minors.rules-removed', // material
  'minors.directed-at-children', // material
  'minors.removed', // material
  'minors.added', // editorial
  'minors.narrowed', // editorial
  // rights
  'right.removed', // material
  'right.added', // editorial
  'right.channel-removed', // material
  'right.channel-added', // editorial
  'right.response-slower', // material
  'right.response-faster', // editorial
  'right.response-time-removed', // material
  'right.response-time-added', // editorial
  'right.conditions-changed', // material: conditions added or reworded (cannot be judged narrower)
  'right.conditions-removed', // editorial
  'right.verification-added', // material
  'rights.dispute-route-removed', // material
  'rights.withdrawal-removed', // material
  'cancellation.harder', // material
  'cancellation.easier', // editorial
  // consent model
  'consent.weakened', // material
  'consent.strengthened', // editorial
  // storage and cross-border
  'storage.location-changed', // material
  'cross-border.added', // material
  'cross-border.widened', // material
  'cross-border.removed', // editorial (narrowing)
  // disclosure
  'disclosure.public-added', // material
  'disclosure.transfer-added', // material
  'disclosure.separate-consent-removed', // material
  'disclosure.narrowed', // editorial
  // the processor
  'controller.changed', // material: another legal entity processes the data
  // security, incidents, app, versions, datasets, changes, pia
  'security.measure-removed', // editorial (reported, not a re-consent matter)
  'security.measure-added', // editorial
  'version.added', // editorial
  'version.removed', // editorial
  'dataset.added', // editorial (technical configuration)
  'dataset.removed', // editorial
  'dataset.changed', // editorial
  // generic editorial
  'text.changed', // wording and labels
  'contact.changed', // contact details
  'url.changed',
  'date.changed',
  'field.changed', // any other field whose change does not widen processing
] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];

export type Lang = 'zh' | 'en';

export interface Bilingual {
  zh: string;
  en: string;
}

export interface DeclarationChange {
  kind: ChangeKind;
  /** JSON path in the new declaration (in the old one for removals): `$.purposes[2].categories`. */
  path: string;
  material: boolean;
  summary: Bilingual;
  /** For material changes: the purposes and recipients whose consent grants the change affects. */
  affects?: { purposes: string[]; recipients: string[] };
}

export interface DeclarationDiff {
  changes: DeclarationChange[];
  /** True when at least one change is material: consent must be asked again (or prominent notice given). */
  reconsent: boolean;
  /** Union of what the material changes affect: grants covering these need re-consent. */
  affected: { purposes: string[]; recipients: string[] };
}
