import type { Request, Response } from 'express';
import { STAFF_ROLES, channelScopeRefusal } from '@omnimall/contracts';
import { ForbiddenError, ValidationError, principalOf, z, type Principal } from '@omnimall/service-kit';
import { profileView, resolveCustomer } from '../application/customers';
import { linkIdentity, resolveIdentity } from '../application/links';
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
 * a channel of their scope; the residency rule applies to the channel), standing, linked identities.
 */
export function customerRoutes({ api, ctx, authed }: Routes): void {
  /** A channel manager without a role that reaches every customer. */
  const managerOnly = (p: Principal): boolean =>
    p.kind === 'staff' && p.roles.includes('channel_manager') && !p.roles.includes('admin') && !p.roles.includes('compliance_officer');
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
    summary: "The caller's own profile (residency rules apply to x-channel-code)",
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'customer' }),
    headers: S.ChannelHeader,
    responses: { 200: { description: 'profile', schema: S.Profile }, ...errors([403]) },
    handler: async ({ req, res }) => ({ body: profileView(await profileOf(principalOf(res).sub, req, res, 'GET /me')) }),
  });
  api.route({
    method: 'get',
    path: '/customers/:id/profile',
    summary: 'A customer profile (personal data: refused with 403 data_residency_forbidden to channels not allowed to receive its region)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    responses: { 200: { description: 'profile', schema: S.Profile }, ...errors([403, 404]) },
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

  // ---- linked identities ------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/customers/:id/identities',
    summary:
      'Link a device, app installation, partner account or external login to a customer (409 with both profile ids when it belongs to another)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    body: S.LinkBody,
    responses: {
      201: { description: 'linked', schema: S.LinkView },
      200: { description: 'already linked to this customer', schema: S.LinkView },
      ...errors([409]),
    },
    handler: async ({ params, body, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, []);
      const channel = body.channel ?? channelOf(req);
      if (!channel)
        throw new ValidationError(
          'channel_required',
          'the channel the identifier came from is unknown',
          'send `channel` in the body or the x-channel-code header',
        );
      const link = { type: body.type, externalId: body.externalId, channel };
      const r = await linkIdentity(ctx, params.id, link, p.sub, { correlationId: correlationOf(res) });
      return { status: r.created ? 201 : 200, body: linkView(r.link) };
    },
  });
  api.route({
    method: 'get',
    path: '/identities/:type/:externalId',
    summary: 'Which customer an external identifier resolves to (staff)',
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'staff' }),
    params: S.ResolveParams,
    responses: { 200: { description: 'resolved', schema: S.LinkView.extend({ resolvedCustomerId: z.string() }) }, ...errors([404]) },
    handler: async ({ params }) => {
      const r = await resolveIdentity(ctx, params.type, params.externalId);
      return { body: { ...linkView(r.link), resolvedCustomerId: r.customerId } };
    },
  });
}
