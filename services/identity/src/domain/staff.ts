import { ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';

/**
 * A staff account: roles decide what it may do, `channels` scope a channel manager, `disabled`
 * refuses its logins and refreshes. `version` counts changes (the aggregateVersion of StaffChanged).
 */
export interface StaffAccount {
  _id: string;
  email: string;
  passwordHash: string;
  roles: string[];
  channels: string[];
  /** Absent on accounts created before staff could be disabled (= false). */
  disabled?: boolean;
  version?: number;
  createdBy: string;
  createdAt: Date;
  updatedAt?: Date;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** An admin's change of a staff account; what is absent stays. */
export interface StaffEdit {
  disabled?: boolean;
  roles?: string[];
  channels?: string[];
}

/** A channel manager acts through channels: it needs at least one. */
export function assertChannelScope(roles: readonly string[], channels: readonly string[]): void {
  if (roles.includes('channel_manager') && !channels.length)
    throw new ValidationError(
      'channel_scope_required',
      'a channel_manager needs at least one channel code in `channels`',
      'list the channels this manager may act on',
    );
}

/**
 * The account after an edit, and what changed (empty: nothing). An admin may not disable their
 * own account nor take their own admin role: the platform would be left without a way back in.
 */
export function editStaff(current: StaffAccount, edit: StaffEdit, by: string): { next: StaffAccount; changes: string[] } {
  const roles = edit.roles ? [...new Set(edit.roles)] : current.roles;
  const channels = edit.channels ? [...new Set(edit.channels)] : current.channels;
  const disabled = edit.disabled ?? current.disabled ?? false;
  if (current._id === by && (disabled || !roles.includes('admin')))
    throw new ForbiddenError(
      'own_admin_access',
      'you may not disable your own account or give up your own admin role',
      'ask another admin to make this change',
    );
  assertChannelScope(roles, channels);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  const changes: string[] = [];
  if (disabled !== (current.disabled ?? false)) changes.push(disabled ? 'disabled' : 'enabled');
  if (!same(roles, current.roles)) changes.push('roles_changed');
  if (!same(channels, current.channels)) changes.push('channels_changed');
  return { next: { ...current, roles, channels, disabled, version: (current.version ?? 1) + 1 }, changes };
}
