import type { RequestHandler, Response } from 'express';
import { actsOnChannel, STAFF_ROLES } from '@omnimall/contracts';
import { principalOf, requireAuth, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import { ForbiddenError } from '@omnimall/service-kit/errors';
import type { Order } from '../domain/order';

/**
 * Who may call what. Customers check out their own cart on the channel of their login and read and
 * cancel their own orders (on every channel: the history is one); admins and compliance officers read
 * every order; channel managers read and act on their channels' orders (the owning channel); admins
 * and managers cancel and move fulfilment. The payment provider calls the webhook, proven by its
 * signature, never by a token.
 */
export interface Guards {
  customer: RequestHandler[];
  staff: RequestHandler[];
  /** Admins and channel managers (scope checked by inScope). */
  operator: RequestHandler[];
  anyone: RequestHandler[];
}

export function guards(verifier: TokenVerifier): Guards {
  return {
    customer: [requireAuth(verifier, { kind: 'customer' })],
    staff: [requireAuth(verifier, { kind: 'staff', roles: [...STAFF_ROLES] })],
    operator: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] })],
    anyone: [requireAuth(verifier)],
  };
}

/** Whether the caller may see the order: its customer, an admin or compliance officer, or a manager of its channel. */
export function maySee(p: Principal, o: Pick<Order, 'customerId' | 'channel'>): boolean {
  if (p.kind === 'customer') return p.sub === o.customerId;
  if (p.roles.includes('admin') || p.roles.includes('compliance_officer')) return true;
  return p.roles.includes('channel_manager') && actsOnChannel(p, o.channel);
}

/** Refuses staff who may never see (`see`: not admin, compliance or manager) or act on (`operate`: not admin or manager) an order, before any lookup. */
export function assertRole(p: Principal, act: 'see' | 'operate'): void {
  if (p.kind === 'customer') return;
  const roles = act === 'see' ? ['admin', 'compliance_officer', 'channel_manager'] : ['admin', 'channel_manager'];
  if (!roles.some((r) => p.roles.includes(r)))
    throw new ForbiddenError('forbidden', `orders are ${act === 'see' ? 'read' : 'acted on'} by ${roles.join(', ')}`, 'ask an admin');
}

/** The order, or 403 `not_order_owner` / `channel_out_of_scope` for a caller who may not act on it. */
export function assertMay(p: Principal, o: Pick<Order, 'customerId' | 'channel' | 'id'>, act: 'see' | 'operate'): void {
  const operates =
    p.kind === 'customer'
      ? p.sub === o.customerId
      : p.roles.includes('admin') || (p.roles.includes('channel_manager') && actsOnChannel(p, o.channel));
  if (act === 'see' ? maySee(p, o) : operates) return;
  if (p.kind === 'customer')
    throw new ForbiddenError('not_order_owner', `order ${o.id} is someone else’s`, 'customers see and act on their own orders');
  throw new ForbiddenError(
    'channel_out_of_scope',
    `order ${o.id} belongs to channel ${o.channel}`,
    'managers act on the orders of their channels',
    {
      channel: o.channel,
    },
  );
}

export const callerOf = (res: Response): Principal => principalOf(res);
export const actorOf = ({ kind, sub }: Pick<Principal, 'kind' | 'sub'>): string => `${kind}:${sub}`;
export const corr = (res: Response): string => String(res.locals.correlationId);

/** The refusals every authenticated route may answer. */
export const refusals = {
  401: { description: 'token_missing, token_invalid or token_revoked' },
  403: { description: 'forbidden (kind or role), not_order_owner, channel_out_of_scope' },
};
