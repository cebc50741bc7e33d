import type { Request, Response } from 'express';
import { STAFF_ROLES, actsOnChannel, channelScopeRefusal } from '@omnimall/contracts';
import {
  ForbiddenError,
  UnauthorizedError,
  channelHeaders,
  channelOf as provenChannel,
  channelResponses,
  principalOf,
  z,
  type Principal,
  type ResolvedChannel,
} from '@omnimall/service-kit';
import { profileView, resolveCustomer } from '../application/customers';
import { provenDevice } from '../application/devices';
import { linkDecision, linkIdentity, resolveIdentity, type LinkCaller } from '../application/links';
import { assertResidency } from '../application/residency';
import { activeOn, type Customer, type LinkedIdentity } from '../domain/customer';
import { assertSelfOrStaff, channelOf, correlationOf, errors, standingReply, tags, type Routes } from './common';
import * as S from './schemas';

const linkView = (l: LinkedIdentity) => ({
  type: l.type,
  externalId: l.externalId,
  customerId: l.customerId,
  channel: l.channel,
  linkedAt: new Date(l.linkedAt).toISOString(),
});

/**
 * Profiles (personal data: the caller themself, admins, compliance officers, channel managers through
 * a channel of their scope; the residency rule applies to the request's channel: a customer's is the
 * channel its token is bound to, so omitting x-channel-code cannot skip the rule, and a header naming
 * another channel is 403 channel_mismatch), standing.
 */
/** A channel manager without a role that reaches every customer. */
const managerOnly = (p: Principal): boolean =>
  p.kind === 'staff' && p.roles.includes('channel_manager') && !p.roles.includes('admin') && !p.roles.includes('compliance_officer');

export function customerRoutes({ api, ctx, authed }: Routes): void {
  const profileOf = async (id: string, req: Request, res: Response, action: string): Promise<Customer> => {
    const p = principalOf(res);
    const channel = channelOf(req);
    if (managerOnly(p)) {
      if (!channel)
        throw new ForbiddenError(
          'channel_required',
          'a channel manager reads profiles through a channel',
          'send x-channel-code of a channel in your scope',
        );
      const refusal = channelScopeRefusal(p, channel);
      if (refusal) throw new ForbiddenError(...refusal);
    } else {
      assertSelfOrStaff(p, id, ['compliance_officer']);
    }
    const c = await resolveCustomer(ctx, id);
    // A manager's channel must be one the customer was active on, not just one in the manager's scope.
    if (managerOnly(p) && !activeOn(c, channel!))
      throw new ForbiddenError(
        'customer_not_on_channel',
        `this customer was never active on channel ${channel}`,
        'channel managers read the profiles of customers who registered or logged in on their channels',
      );
    await assertResidency(ctx, {
      channel,
      customerId: c._id,
      dataRegion: c.dataRegion,
      action,
      actor: p.sub,
      correlationId: correlationOf(res),
    });
    return c;
  };
  api.route({
    method: 'get',
    path: '/me',
    summary: "The caller's own profile (residency rules apply to the channel the token is bound to)",
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'customer' }),
    headers: S.ChannelHeader,
    responses: {
      200: { description: 'profile', schema: S.Profile },
      ...errors(
        [401, 403],
        'no valid token, residency refusal, or x-channel-code naming another channel than the token (channel_mismatch)',
      ),
    },
    handler: async ({ req, res }) => ({ body: profileView(await profileOf(principalOf(res).sub, req, res, 'GET /me')) }),
  });
  api.route({
    method: 'get',
    path: '/customers/:id/profile',
    summary:
      "A customer profile (personal data: refused with 403 data_residency_forbidden to channels not allowed to receive its region; a customer's channel is its token's, staff name it in x-channel-code)",
    tags: tags.customers,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    responses: {
      200: { description: 'profile', schema: S.Profile },
      ...errors([401, 403, 404], 'no valid token, not allowed, residency refusal, channel_mismatch, or no such customer'),
    },
    handler: async ({ params, req, res }) => ({
      body: profileView(await profileOf(params.id, req, res, 'GET /customers/:id/profile')),
    }),
  });
  api.route({
    method: 'get',
    path: '/customers/:id/status',
    summary: 'Standing and entitlements, with the reason of a ban or suspension (the customer themself and staff)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: {
      200: { description: 'standing', schema: S.Standing.extend({ customerId: z.string() }) },
      ...errors([401, 403, 404]),
    },
    handler: async ({ params, res }) => {
      assertSelfOrStaff(principalOf(res), params.id, [...STAFF_ROLES]);
      return standingReply(await resolveCustomer(ctx, params.id));
    },
  });
}

/**
 * Linked identities: who may link what is `linkDecision`'s rule (application/links.ts); a conflict
 * names the profile holding the identifier to staff only.
 */
export function linkRoutes({ api, ctx, auth, authed }: Routes): void {
  /** Who is linking: the token's principal, else the channel app whose key the request carries. */
  const linkCaller = async (res: Response, deviceToken: string | undefined): Promise<LinkCaller> => {
    const p = res.locals.principal as Principal | undefined;
    if (p?.kind === 'staff') return { kind: 'staff', staffId: p.sub, grants: p };
    if (p?.kind === 'customer') {
      const channel = provenChannel(res)!; // authed: a customer token always names its channel
      const device = deviceToken ? await provenDevice(auth.verifier, deviceToken, channel) : null;
      return { kind: 'customer', customerId: p.sub, channel, device };
    }
    const via = (res.locals.channel as ResolvedChannel | undefined)?.via;
    if (via === 'channel_key') return { kind: 'channel', channel: provenChannel(res)! };
    throw new UnauthorizedError(
      'token_missing',
      'linking needs a bearer token or the channel app credential',
      'send Authorization: Bearer <accessToken>, or x-channel-code + x-channel-key',
    );
  };
  api.route({
    method: 'post',
    path: '/customers/:id/identities',
    summary:
      "Link an identifier to a customer: a device or app installation by the customer themself with its device token, any by staff of the identifier's channel (admin, its channel manager) or by the channel app (x-channel-code + x-channel-key); partner accounts and external logins never by the customer",
    tags: tags.customers,
    auth: true,
    before: authed({ optional: true }),
    headers: channelHeaders,
    params: S.IdParams,
    body: S.LinkBody,
    responses: {
      201: { description: 'linked', schema: S.LinkView },
      200: { description: 'already linked to this customer', schema: S.LinkView },
      ...channelResponses,
      ...errors(
        [400, 401, 403, 409],
        'device token missing (device_token_required) or refused, not allowed (link_requires_channel, device_token_mismatch, channel_mismatch, channel_out_of_scope), or linked to another customer (identity_already_linked: the holder named to staff only)',
      ),
    },
    handler: async ({ params, body, req, res }) => {
      const caller = await linkCaller(res, body.deviceToken);
      const link = { type: body.type, externalId: body.externalId };
      const named = body.channel ?? (caller.kind === 'staff' ? channelOf(req) : null);
      const { channel, linkedBy } = linkDecision(caller, params.id, { ...link, channel: named });
      const r = await linkIdentity(ctx, params.id, { ...link, channel }, linkedBy, {
        correlationId: correlationOf(res),
        revealOwner: caller.kind === 'staff',
      });
      return { status: r.created ? 201 : 200, body: linkView(r.link) };
    },
  });
  api.route({
    method: 'get',
    path: '/identities/:type/:externalId',
    summary:
      'Which customer an external identifier resolves to (admins and compliance officers; a channel manager for identifiers linked on a channel of their scope)',
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'staff', roles: ['admin', 'compliance_officer', 'channel_manager'] }),
    params: S.ResolveParams,
    responses: { 200: { description: 'resolved', schema: S.LinkView.extend({ resolvedCustomerId: z.string() }) }, ...errors([404]) },
    handler: async ({ params, res }) => {
      const p = principalOf(res);
      const r = await resolveIdentity(ctx, params.type, params.externalId);
      // Who an identifier belongs to is personal data: a manager learns it only for links made on their channels.
      if (managerOnly(p) && !(r.link.channel && actsOnChannel(p, r.link.channel)))
        throw new ForbiddenError(
          'channel_out_of_scope',
          'this identifier was not linked on a channel of your scope',
          'ask an admin or a compliance officer to resolve it',
          { channel: r.link.channel, scope: [...p.channels] },
        );
      return { body: { ...linkView(r.link), resolvedCustomerId: r.customerId } };
    },
  });
}
