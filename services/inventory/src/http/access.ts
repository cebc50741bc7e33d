import type { RequestHandler, Response } from 'express';
import { channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, principalOf, requireAuth, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import type { ConfigRepository } from '../store';

/**
 * Who may call what. Admins do everything. Sellers change and read the stock of their own SKUs (a
 * SKU the catalogue has not told the inventory about yet is anyone's to stock first); channel
 * managers set the policies, links and exceptions of their channels and read availability;
 * compliance officers read. Channel apps (a customer token, a device token or a channel key) read
 * their channel's availability and reserve for their customers' carts.
 */
export interface Guards {
  admin: RequestHandler[];
  /** Admins and sellers: stock writes (ownership checked by mayWriteSku). */
  stockWriter: RequestHandler[];
  /** Admins and channel managers: a channel's configuration (scope checked by scoped). */
  manager: RequestHandler[];
  /** Any staff role: reads (sellers see only their SKUs). */
  staff: RequestHandler[];
  /** Any signed-in caller (staff or customer): reservations. */
  anyone: RequestHandler[];
  mayWriteSku(p: Pick<Principal, 'sub' | 'roles'>, sku: string): Promise<void>;
  mayReadSku(p: Pick<Principal, 'sub' | 'roles'>, sku: string): Promise<void>;
}

export function guards(verifier: TokenVerifier, config: Pick<ConfigRepository, 'sellerOf'>): Guards {
  const ownSku = async (p: Pick<Principal, 'sub' | 'roles'>, sku: string): Promise<void> => {
    const seller = await config.sellerOf(sku);
    if (seller !== null && seller !== p.sub)
      throw new ForbiddenError('not_sku_owner', `SKU ${sku} belongs to another seller`, 'sellers change and read only their own SKUs');
  };
  return {
    admin: [requireAuth(verifier, { kind: 'staff', roles: ['admin'] })],
    stockWriter: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'seller'] })],
    manager: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] })],
    staff: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'seller', 'channel_manager', 'compliance_officer'] })],
    anyone: [requireAuth(verifier)],
    async mayWriteSku(p, sku) {
      if (p.roles.includes('admin')) return;
      await ownSku(p, sku);
    },
    async mayReadSku(p, sku) {
      if (p.roles.some((r) => r === 'admin' || r === 'compliance_officer' || r === 'channel_manager')) return;
      await ownSku(p, sku);
    },
  };
}

/** The caller, once it is known to manage channel `code` (channel managers only their channels; admins all). */
export function scoped(res: Response, code: string): Principal {
  const p = principalOf(res);
  const refusal = channelScopeRefusal(p, code);
  if (refusal) throw new ForbiddenError(...refusal);
  return p;
}

/** The request's correlation id (carried by the events the change causes). */
export const corr = (res: Response): string => String(res.locals.correlationId);

/** The actor of a change as the history records it. */
export const actorOf = (p: Principal): string => `${p.kind}:${p.sub}`;

export const refusals = {
  401: { description: 'no valid token (token_missing, token_invalid, token_revoked)' },
  403: { description: 'the caller’s role or scope does not allow it (forbidden, not_sku_owner, channel_out_of_scope)' },
};
