/**
 * Which response time applies to a request, and when its reminder falls.
 *
 * The response time comes from the declaration: the right's own `responseTime`, else the rights
 * section's default. A declaration that says nothing does not leave the person without a deadline:
 * the law's applies (GB/T 35273-2020 8.7: within 30 days; account cancellation: within 15 working days,
 * MIIT 《App违法违规收集使用个人信息行为认定方法》). Turning the response time into an instant, and
 * choosing when staff are reminded, is the calendar's job (rights/calendar.ts: days, working days with
 * the Chinese public holidays, hours; half-way and the morning of the last working day).
 */
import type { Declaration } from '@pipa/policy';
import type { HolidayCalendar, ReminderSpec } from './calendar.js';
import { type Deadline, type RequestType, RIGHT_OF_TYPE } from './types.js';

export const LAW_DEADLINE: Readonly<Record<'default' | 'account_cancellation', Omit<Deadline, 'source'>>> = {
  default: { value: 30, unit: 'days' },
  account_cancellation: { value: 15, unit: 'working-days' },
};

export function deadlineOf(declaration: Declaration, type: RequestType): Deadline {
  const right = RIGHT_OF_TYPE[type];
  const own = declaration.rights?.list.find((r) => r.right === right)?.responseTime;
  if (own !== undefined) return { value: own.value, unit: own.unit, source: 'right' };
  const general = declaration.rights?.responseTime;
  if (general !== undefined) return { value: general.value, unit: general.unit, source: 'rights' };
  const law = type === 'account_cancellation' ? LAW_DEADLINE.account_cancellation : LAW_DEADLINE.default;
  return { ...law, source: 'law' };
}

/** The part of rights/calendar.ts (`HolidayCalendar`) the service uses. */
export type DeadlineCalendar = Pick<HolidayCalendar, 'deadline' | 'reminders'>;

/** The deadline of a request received at `receivedAt`, and the first reminder after `now`. */
export function scheduleOf(
  calendar: DeadlineCalendar,
  receivedAt: number,
  deadline: Deadline,
  now: number,
  reminders?: readonly ReminderSpec[],
): { dueAt: number; lastDay: string; warnings: string[]; nextReminder: number | null } {
  const computed = calendar.deadline(receivedAt, { value: deadline.value, unit: deadline.unit });
  const next = calendar.reminders(computed, reminders).find((r) => r.at > now);
  return { dueAt: computed.dueAt, lastDay: computed.lastDay, warnings: computed.warnings, nextReminder: next?.at ?? null };
}
