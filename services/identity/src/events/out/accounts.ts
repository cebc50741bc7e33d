import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { PasswordReset } from '../../domain/password-reset';
import type { StaffAccount } from '../../domain/staff';
import { PRODUCER, type Meta } from './customer';

/**
 * Account events: a password-reset request → identity.password-reset (keyed by the customer, for
 * the requesting channel to deliver; it carries the token, so nothing may log it), and a staff
 * account's change → identity.staff-changed (full state, keyed by the staff id, compacted).
 */
export function passwordResetRequested(
  reset: PasswordReset,
  email: string,
  token: string,
  meta: Meta = {},
): OutgoingEvent<'identity.password-reset'> {
  return newEvent(
    'identity.password-reset',
    { type: 'customer.password_reset_requested', producer: PRODUCER, aggregateId: reset.subject, aggregateVersion: 1, ...meta },
    {
      requestId: reset.requestId,
      customerId: reset.subject,
      email,
      channel: reset.channel,
      token,
      expiresAt: reset.expiresAt.getTime(),
    },
  );
}

export function staffChanged(
  staff: StaffAccount,
  changes: string[],
  changedBy: string,
  at: Date,
  meta: Meta = {},
): OutgoingEvent<'identity.staff-changed'> {
  return newEvent(
    'identity.staff-changed',
    { type: 'staff.changed', producer: PRODUCER, aggregateId: staff._id, aggregateVersion: staff.version ?? 1, ...meta },
    {
      staffId: staff._id,
      disabled: staff.disabled ?? false,
      roles: staff.roles,
      channels: staff.channels,
      change: changes.join(','),
      changedBy,
      changedAt: at.getTime(),
    },
  );
}
