import type { RequestHandler, Response } from 'express';
import { channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, principalOf, requireAuth, type Principal, type TokenVerifier } from '@omnimall/service-kit';

/**
 * Who may call what. Admins define promotions, campaigns, codes, earn rules and tiers; channel managers
 * request overrides for their channels and read their channels' decisions; compliance officers read
 * evidence; customers read their own ledger and quote for themselves; channel apps quote.
 */
export interface Guards {
  admin: RequestHandler[];
  /** Admins and channel managers (scope checked by scoped). */
  manager: RequestHandler[];
  /** Admins, channel managers (their channels) and compliance officers: override evidence. */
  evidence: RequestHandler[];
  /** Any staff role: reads. */
  staff: RequestHandler[];
  /** Any signed-in caller (staff or customer). */
  anyone: RequestHandler[];
}

export function guards(verifier: TokenVerifier): Guards {
  return {
    admin: [requireAuth(verifier, { kind: 'staff', roles: ['admin'] })],
    manager: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] })],
    evidence: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager', 'compliance_officer'] })],
    staff: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'seller', 'channel_manager', 'compliance_officer'] })],
    anyone: [requireAuth(verifier)],
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

/** The actor of a change as the evidence records it. */
export const actorOf = (p: Principal): string => `${p.kind}:${p.sub}`;

export const refusals = {
  401: { description: 'no valid token (token_missing, token_invalid, token_revoked)' },
  403: { description: 'the caller’s role or scope does not allow it (forbidden, channel_out_of_scope)' },
};
