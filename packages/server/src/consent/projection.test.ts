import { describe, expect, it } from 'vitest';
import { isPipaError } from '../errors.js';
import { createConsentProjection } from './projection.js';
import { APP, DAY, ev, NOW } from './test-fixtures.js';
import type { ConsentEvent } from './types.js';

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isPipaError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('consent projection', () => {
  it('keeps the latest state per (subject, purpose, recipient)', () => {
    const p = createConsentProjection();
    p.apply(ev('s', 'marketing', { at: NOW - 3 * DAY }));
    p.apply(ev('s', 'marketing', { recipient: 'push-sdk', separate: true, at: NOW - 2 * DAY }));
    p.apply(ev('s', 'marketing', { action: 'withdraw', at: NOW - DAY, policyVersion: '2' }));
    expect(p.state(APP, 's', 'marketing')).toEqual({
      action: 'withdraw',
      separate: false,
      method: 'user',
      policyVersion: '2',
      at: NOW - DAY,
    });
    expect(p.state(APP, 's', 'marketing', 'push-sdk')).toMatchObject({ action: 'grant', separate: true });
    expect(p.state(APP, 's', 'survey')).toBeUndefined();
    expect(p.state('other-app', 's', 'marketing')).toBeUndefined();
    expect(p.consents(APP, 's')).toEqual([
      { purpose: 'marketing', action: 'withdraw', separate: false, method: 'user', policyVersion: '2', at: NOW - DAY },
      {
        purpose: 'marketing',
        recipient: 'push-sdk',
        action: 'grant',
        separate: true,
        method: 'user',
        policyVersion: '1',
        at: NOW - 2 * DAY,
      },
    ]);
    expect(p.stats()).toEqual({ apps: 1, subjects: 1, records: 2 });
  });

  it('ignores an event older than the state it would replace; on equal times the later applied wins', () => {
    const p = createConsentProjection();
    p.apply(ev('s', 'marketing', { action: 'withdraw', at: NOW }));
    p.apply(ev('s', 'marketing', { action: 'grant', at: NOW - DAY }));
    expect(p.state(APP, 's', 'marketing')?.action).toBe('withdraw');
    p.apply(ev('s', 'marketing', { action: 'grant', at: NOW }));
    expect(p.state(APP, 's', 'marketing')?.action).toBe('grant');
  });

  it('keeps exact millisecond times (stored split in two small integers)', () => {
    const p = createConsentProjection();
    const at = 2 ** 45 + 123_457;
    p.apply(ev('s', 'marketing', { at }));
    expect(p.state(APP, 's', 'marketing')?.at).toBe(at);
    expect(errorOf(() => p.apply(ev('s', 'marketing', { at: 1.5 }))).message).toBe('event.at: must be a time in ms since the epoch');
    expect(errorOf(() => p.apply(ev('s', 'marketing', { at: -1 }))).code).toBe('validation_failed');
  });

  it('returns copies, not its records', () => {
    const p = createConsentProjection();
    p.apply(ev('s', 'marketing'));
    const st = p.state(APP, 's', 'marketing');
    if (st) st.action = 'deny';
    expect(p.state(APP, 's', 'marketing')?.action).toBe('grant');
  });

  it('refuses malformed events with the field named', () => {
    const p = createConsentProjection();
    const bad = (extra: Partial<Record<keyof ConsentEvent, unknown>>) =>
      errorOf(() => p.apply({ ...ev('s', 'marketing'), ...extra } as ConsentEvent));
    expect(bad({ id: 'evt_1' })).toEqual({ code: 'validation_failed', message: 'event.id: must start with "cev_"' });
    expect(bad({ action: 'revoke' }).message).toBe('event.action: must be one of grant, withdraw, deny');
    expect(bad({ method: 'sms' }).message).toBe('event.method: must be one of user, guardian, api');
    expect(bad({ subjectId: '' }).message).toBe('event.subjectId: must be a non-empty string');
    expect(bad({ at: Number.NaN }).message).toBe('event.at: must be a time in ms since the epoch');
    expect(bad({ separate: 'yes' }).message).toBe('event.separate: must be a boolean');
    expect(p.stats().records).toBe(0);
  });

  it('sets status and date of birth; erasure drops the records and ignores later events', () => {
    const p = createConsentProjection();
    p.apply(ev('s', 'marketing'));
    p.setSubject(APP, 's', { status: 'active', birthDate: '2012-02-29' });
    expect(p.subject(APP, 's')).toEqual({ id: 's', status: 'active', birthDate: '2012-02-29', devices: [] });
    p.setSubject(APP, 's', { status: 'frozen' });
    expect(p.subject(APP, 's')).toMatchObject({ status: 'frozen', birthDate: '2012-02-29' });
    p.setSubject(APP, 's', { status: 'frozen', birthDate: null });
    expect(p.subject(APP, 's')?.birthDate).toBeUndefined();
    expect(p.stats().records).toBe(1);
    p.setSubject(APP, 's', { status: 'erased' });
    expect(p.stats().records).toBe(0);
    p.apply(ev('s', 'marketing', { at: NOW }));
    expect(p.consents(APP, 's')).toEqual([]);
    expect(errorOf(() => p.setSubject(APP, 's', { status: 'active' })).code).toBe('conflict');
  });

  it('applyAll (a rebuild) gives the state of applying the events one by one, in the same layout', () => {
    const events: ConsentEvent[] = [];
    const purposes = ['marketing', 'push', 'survey', 'analytics'];
    for (let k = 0; k < 200; k++) {
      const purpose = purposes[k % 4] as string;
      events.push(
        ev(`s${k % 7}`, purpose, {
          at: NOW - (k % 13) * DAY,
          action: k % 5 === 0 ? 'withdraw' : 'grant',
          ...(k % 3 === 0 ? { recipient: `sdk-${k % 2}` } : {}),
          policyVersion: String(1 + (k % 2)),
        }),
      );
    }
    const one = createConsentProjection();
    for (const e of events) one.apply(e);
    const all = createConsentProjection();
    all.applyAll(events);
    for (let s = 0; s < 7; s++) expect(all.consents(APP, `s${s}`)).toEqual(one.consents(APP, `s${s}`));
    expect(all.stats()).toEqual(one.stats());
    for (const entry of all.appState(APP)?.subjects.values() ?? []) expect(entry.data.length).toBe(entry.n * 6);
    // After the bulk load, single events append as before.
    all.apply(ev('s0', 'new-purpose', { at: NOW }));
    expect(all.state(APP, 's0', 'new-purpose')?.action).toBe('grant');
  });

  it('applyAll stopped by an invalid event keeps what came before it and names the field', () => {
    const p = createConsentProjection();
    const events = [
      ev('s', 'marketing'),
      ev('s', 'push'),
      { ...ev('s', 'survey'), method: 'sms' } as unknown as ConsentEvent,
      ev('s', 'late'),
    ];
    expect(errorOf(() => p.applyAll(events)).message).toBe('event.method: must be one of user, guardian, api');
    expect(p.consents(APP, 's').map((c) => c.purpose)).toEqual(['marketing', 'push']);
    const entry = p.appState(APP)?.subjects.get('s');
    expect(entry?.data.length).toBe(2 * 6);
    p.apply(ev('s', 'late'));
    expect(p.consents(APP, 's').map((c) => c.purpose)).toEqual(['marketing', 'push', 'late']);
  });

  it('refuses a date of birth that is not a real date', () => {
    const p = createConsentProjection();
    expect(errorOf(() => p.setSubject(APP, 's', { status: 'active', birthDate: '2013-02-29' }))).toMatchObject({
      code: 'validation_failed',
    });
    expect(errorOf(() => p.setSubject(APP, 's', { status: 'active', birthDate: '20130101' })).message).toMatch(/^birthDate: /);
    expect(errorOf(() => p.setSubject(APP, 's', { status: 'gone' as 'active' })).message).toBe(
      'status: must be one of active, frozen, erased',
    );
  });
});

describe('linking devices to accounts', () => {
  it('moves the history, resolves the device id to the account and counts the subject once', () => {
    const p = createConsentProjection();
    p.apply(ev('dev_1', 'marketing', { at: NOW - 3 * DAY }));
    p.apply(ev('dev_1', 'survey', { separate: true, at: NOW - 3 * DAY }));
    p.apply(ev('acc', 'marketing', { action: 'withdraw', at: NOW - 2 * DAY }));
    p.setSubject(APP, 'dev_1', { status: 'active', birthDate: '2001-01-01' });
    p.link(APP, 'dev_1', 'acc');
    expect(p.state(APP, 'acc', 'marketing')?.action).toBe('withdraw');
    expect(p.state(APP, 'acc', 'survey')).toMatchObject({ action: 'grant', separate: true });
    expect(p.subject(APP, 'acc')).toEqual({ id: 'acc', status: 'active', birthDate: '2001-01-01', devices: ['dev_1'] });
    expect(p.subject(APP, 'dev_1')?.id).toBe('acc');
    expect(p.stats()).toEqual({ apps: 1, subjects: 1, records: 2 });
    // Linking again is a no-op.
    p.link(APP, 'dev_1', 'acc');
    expect(p.subject(APP, 'acc')?.devices).toEqual(['dev_1']);
  });

  it('on equal times a withdrawal from the device beats a grant on the account', () => {
    const p = createConsentProjection();
    p.apply(ev('acc', 'marketing', { at: NOW }));
    p.apply(ev('dev', 'marketing', { action: 'withdraw', at: NOW }));
    p.apply(ev('acc', 'survey', { action: 'deny', at: NOW }));
    p.apply(ev('dev', 'survey', { at: NOW }));
    p.link(APP, 'dev', 'acc');
    expect(p.state(APP, 'acc', 'marketing')?.action).toBe('withdraw');
    expect(p.state(APP, 'acc', 'survey')?.action).toBe('deny');
  });

  it('a device linked before it consented sends its events to the account', () => {
    const p = createConsentProjection();
    p.link(APP, 'dev_2', 'acc');
    p.apply(ev('dev_2', 'marketing'));
    expect(p.state(APP, 'acc', 'marketing')?.action).toBe('grant');
  });

  it('re-linking a device to another account moves the alias, not the history it brought', () => {
    const p = createConsentProjection();
    p.apply(ev('dev', 'marketing'));
    p.link(APP, 'dev', 'acc_a');
    p.link(APP, 'dev', 'acc_b');
    expect(p.state(APP, 'acc_a', 'marketing')?.action).toBe('grant');
    expect(p.state(APP, 'acc_b', 'marketing')).toBeUndefined();
    expect(p.subject(APP, 'acc_a')?.devices).toEqual([]);
    expect(p.subject(APP, 'dev')?.id).toBe('acc_b');
  });

  it('a device that other devices were linked to brings them along', () => {
    const p = createConsentProjection();
    p.apply(ev('dev_old', 'marketing'));
    p.link(APP, 'dev_old', 'dev_new');
    p.link(APP, 'dev_new', 'acc');
    expect(p.subject(APP, 'dev_old')?.id).toBe('acc');
    expect(p.state(APP, 'acc', 'marketing')?.action).toBe('grant');
    expect(p.subject(APP, 'acc')?.devices.sort()).toEqual(['dev_new', 'dev_old']);
  });

  it('refuses to link a subject to itself', () => {
    const p = createConsentProjection();
    expect(errorOf(() => p.link(APP, 'x', 'x')).message).toBe('accountId: a subject cannot be linked to itself');
  });
});

describe('re-consent marks', () => {
  it('default to everything recorded so far, and a later mark replaces an earlier one', () => {
    const p = createConsentProjection();
    p.apply(ev('s', 'marketing', { at: NOW - 2 * DAY }));
    p.apply(ev('t', 'survey', { at: NOW - DAY }));
    p.markReconsent(APP, ['marketing'], ['push-sdk'], '2');
    const a = p.appState(APP);
    expect(a?.purposeMarks.get('marketing')).toEqual({ sinceVersion: '2', at: NOW - DAY });
    expect(a?.recipientMarks.get('push-sdk')).toEqual({ sinceVersion: '2', at: NOW - DAY });
    p.markReconsent(APP, ['marketing'], [], '3', NOW);
    expect(a?.purposeMarks.get('marketing')).toEqual({ sinceVersion: '3', at: NOW });
    // An older mark arriving late does not replace a newer one.
    p.markReconsent(APP, ['marketing'], [], '2', NOW - 5 * DAY);
    expect(a?.purposeMarks.get('marketing')?.sinceVersion).toBe('3');
    expect(errorOf(() => p.markReconsent(APP, [''], [], '4')).message).toBe('purposes[0]: must be a non-empty string');
  });
});
