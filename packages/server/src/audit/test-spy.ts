/**
 * Tests: watch the audit appends of a service (how many events each `appendMany` carried), and
 * optionally refuse some, while they still reach the real audit log.
 */
import { vi } from 'vitest';
import type { AuditLog } from './audit-log.js';
import type { AuditEventInput } from './types.js';

export interface AuditAppendSpy {
  /** Events per `appendMany` call, in call order (refused calls included). */
  readonly sizes: number[];
  restore(): void;
}

/** `refuse(events, call)` (call counts from 1) returning true makes that append throw, as a refusing audit store would. */
export function spyAuditAppends(
  audit: AuditLog,
  refuse: (events: readonly AuditEventInput[], call: number) => boolean = () => false,
): AuditAppendSpy {
  const sizes: number[] = [];
  const original = audit.appendMany.bind(audit);
  const spy = vi.spyOn(audit, 'appendMany').mockImplementation(async (trx, events) => {
    sizes.push(events.length);
    if (refuse(events, sizes.length)) throw new Error('audit store refused');
    return original(trx, events);
  });
  return { sizes, restore: () => spy.mockRestore() };
}
