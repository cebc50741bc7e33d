/**
 * What a staff access token means, agreed between identity (which grants roles and channel scopes
 * and signs them into tokens) and every service that honours them. The kit only verifies tokens and
 * checks that a principal holds one of the roles a route names; which roles exist, and what a
 * channel scope allows, are the platform's rules and live here, beside the other contracts.
 */
export const STAFF_ROLES = ['admin', 'channel_manager', 'seller', 'compliance_officer'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** The part of a principal the access rules read. */
export interface Grants {
  roles: readonly string[];
  /** Channel codes a channel_manager may act on. */
  channels: readonly string[];
}

/** Admins act on every channel; a channel manager only on the channels in their scope. */
export function actsOnChannel(p: Grants, channel: string): boolean {
  if (p.roles.includes('admin')) return true;
  return p.roles.includes('channel_manager') && p.channels.includes(channel);
}

/**
 * Why `p` may not act on `channel`, as the arguments of a 403 (code, message, hint, details), or
 * undefined when it may: `if (refusal) throw new ForbiddenError(...refusal)`.
 */
export function channelScopeRefusal(
  p: Grants,
  channel: string,
): [code: string, message: string, hint: string, details: Record<string, unknown>] | undefined {
  if (actsOnChannel(p, channel)) return undefined;
  return [
    'channel_out_of_scope',
    `you may not act on channel ${channel}`,
    'ask an admin to add this channel to your scope',
    { channel, scope: [...p.channels] },
  ];
}
