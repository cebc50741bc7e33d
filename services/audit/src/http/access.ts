import type { RequestHandler, Response } from 'express';
import { actsOnChannel } from '@omnimall/contracts';
import { principalOf, requireAuth, type Principal, type TokenVerifier } from '@omnimall/service-kit';
import { ForbiddenError } from '@omnimall/service-kit/errors';

/**
 * Who may call what. Auditors — admins and compliance officers — read every trail, record, proof,
 * checkpoint and report, run verifications and place or release legal holds. Channel managers read
 * the trails of the channels in their scope (a query naming one of them). Customers and partners read
 * nothing here. The public keys are public: an outside auditor checks signatures with them.
 */
export interface Guards {
  auditor: RequestHandler[];
  /** Auditors and channel managers (scope checked by assertTrailScope). */
  staff: RequestHandler[];
  admin: RequestHandler[];
}

export const AUDITOR_ROLES = ['admin', 'compliance_officer'];

export function guards(verifier: TokenVerifier): Guards {
  return {
    auditor: [requireAuth(verifier, { kind: 'staff', roles: AUDITOR_ROLES })],
    staff: [requireAuth(verifier, { kind: 'staff', roles: [...AUDITOR_ROLES, 'channel_manager'] })],
    admin: [requireAuth(verifier, { kind: 'staff', roles: ['admin'] })],
  };
}

export const callerOf = (res: Response): Principal => principalOf(res);

export const isAuditor = (p: Principal): boolean => AUDITOR_ROLES.some((r) => p.roles.includes(r));

/** A channel manager's trail query must name one of their channels. */
export function assertTrailScope(p: Principal, channel: string | undefined): void {
  if (isAuditor(p)) return;
  if (!channel || !actsOnChannel(p, channel))
    throw new ForbiddenError(
      'channel_out_of_scope',
      'a channel manager reads the trails of one of their channels',
      'send ?channel=<one of your channels>',
      {
        scope: [...p.channels],
      },
    );
}

/** Who reads a channel's incident feed: auditors any channel; channel managers and sellers the channels in their scope. */
export function mayReadFeed(p: Principal, channel: string): boolean {
  if (isAuditor(p)) return true;
  if (channel === '*') return false;
  if (actsOnChannel(p, channel)) return true;
  return p.roles.includes('seller') && p.channels.includes(channel);
}

/** Who writes a channel's known limitations (and removes any of its webhooks): admins; channel managers their channels ('*': admins only). */
export function mayWriteFeed(p: Principal, channel: string): boolean {
  if (channel === '*') return p.roles.includes('admin');
  return actsOnChannel(p, channel);
}

/** The incident feed's guards: the caller's kind and role, then the `:channel` of the path against their scope. */
export interface FeedGuards {
  read: RequestHandler[];
  write: RequestHandler[];
}

export function feedGuards(verifier: TokenVerifier): FeedGuards {
  const inScope =
    (may: (p: Principal, channel: string) => boolean): RequestHandler =>
    (req, res, next) => {
      const channel = String(req.params.channel ?? '');
      const p = principalOf(res);
      if (may(p, channel)) return next();
      next(
        new ForbiddenError(
          'channel_out_of_scope',
          `you may not ${may === mayWriteFeed ? 'write to' : 'read'} the feed of ${channel}`,
          'use one of the channels in your scope',
          {
            channel,
            scope: [...p.channels],
          },
        ),
      );
    };
  return {
    read: [requireAuth(verifier, { kind: 'staff', roles: [...AUDITOR_ROLES, 'channel_manager', 'seller'] }), inScope(mayReadFeed)],
    write: [requireAuth(verifier, { kind: 'staff', roles: ['admin', 'channel_manager'] }), inScope(mayWriteFeed)],
  };
}

/** The refusals every authenticated route may answer. */
export const refusals = {
  401: { description: 'token_missing, token_invalid or token_revoked' },
  403: { description: 'forbidden (kind or role), channel_out_of_scope' },
};
