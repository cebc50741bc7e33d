import type { RequestHandler, Response } from 'express';
import { channelScopeRefusal, STAFF_ROLES, type StaffRole } from '@omnimall/contracts';
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
  const staffIn = (...roles: StaffRole[]): RequestHandler[] => [requireAuth(verifier, { kind: 'staff', roles })];
  return {
    admin: staffIn('admin'),
    manager: staffIn('admin', 'channel_manager'),
    evidence: staffIn('admin', 'channel_manager', 'compliance_officer'),
    staff: staffIn(...STAFF_ROLES),
    anyone: [requireAuth(verifier)],
  };
}

/** The staff caller, refused (403 channel_out_of_scope) unless an admin or a manager of channel `code`. */
export function scoped(res: Response, code: string): Principal {
  const caller = principalOf(res);
  const refusal = channelScopeRefusal(caller, code);
  if (refusal === undefined) return caller;
  throw new ForbiddenError(...refusal);
}

/** The correlation id the request's events carry. */
export const corr = (res: Response): string => String(res.locals.correlationId);

/** `staff:<id>` or `customer:<id>`, as evidence and ledgers name the actor. */
export const actorOf = ({ kind, sub }: Pick<Principal, 'kind' | 'sub'>): string => `${kind}:${sub}`;

/** The refusals every authenticated route may answer. */
export const refusals = {
  401: { description: 'token_missing, token_invalid or token_revoked' },
  403: { description: 'forbidden (role) or channel_out_of_scope (a channel manager outside their channels)' },
};
