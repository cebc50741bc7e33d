import { channelNotFound, channelNotFoundResponse, principalOf, z } from '@omnimall/service-kit';
import { setConsents } from '../application/consents';
import { consentsView, getCustomer } from '../application/customers';
import { eraseCustomer, exportCustomer } from '../application/data-requests';
import { assertResidency, channelRule } from '../application/residency';
import { assertSelfOrStaff, channelOf, correlationOf, errors, standingReply, tags, type Routes } from './common';
import * as S from './schemas';

/** Consents, data-subject requests (export, erasure) and the residency rule of a channel. */
export function complianceRoutes({ api, ctx, authed }: Routes): void {
  api.route({
    method: 'put',
    path: '/customers/:id/consents/:channel',
    summary: 'Grant or withdraw consents on one channel (timestamped, with their source)',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.ConsentParams,
    body: S.ConsentBody,
    responses: {
      200: {
        description: 'consents on that channel',
        schema: z.record(z.string(), z.object({ granted: z.boolean(), at: z.string(), source: z.string() })),
      },
      ...errors([404, 422]),
    },
    handler: async ({ params, body, res }) => {
      assertSelfOrStaff(principalOf(res), params.id, []);
      const state = await setConsents(ctx, params.id, params.channel, body, { correlationId: correlationOf(res) });
      return { body: consentsView({ [params.channel]: state })[params.channel] };
    },
  });
  api.route({
    method: 'get',
    path: '/customers/:id/consents',
    summary: 'Consents per channel',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: { 200: { description: 'channel → purpose → consent', schema: S.ConsentsView }, ...errors([404]) },
    handler: async ({ params, res }) => {
      assertSelfOrStaff(principalOf(res), params.id, ['compliance_officer']);
      return { body: consentsView((await getCustomer(ctx, params.id)).consents) };
    },
  });
  api.route({
    method: 'get',
    path: '/customers/:id/export',
    summary: 'Export everything identity holds about a customer, as JSON',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    responses: { 200: { description: 'the export', schema: z.record(z.string(), z.unknown()) }, ...errors([403, 404]) },
    handler: async ({ params, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, ['compliance_officer']);
      const c = await getCustomer(ctx, params.id);
      await assertResidency(ctx, {
        channel: channelOf(req),
        customerId: c._id,
        dataRegion: c.dataRegion,
        action: 'GET /customers/:id/export',
        actor: p.sub,
        correlationId: correlationOf(res),
      });
      return {
        body: await exportCustomer(ctx, params.id, p.sub, { correlationId: correlationOf(res) }),
        headers: { 'content-disposition': `attachment; filename="customer-${params.id}.json"` },
      };
    },
  });
  api.route({
    method: 'post',
    path: '/customers/:id/erasure',
    summary: 'Erase a customer: personal fields pseudonymised, evidence kept, status `erased` emitted',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: { 200: { description: 'erased', schema: S.Standing.extend({ customerId: z.string() }) }, ...errors([404, 422]) },
    handler: async ({ params, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, ['compliance_officer']);
      return standingReply(await eraseCustomer(ctx, params.id, p.sub, { correlationId: correlationOf(res), channel: channelOf(req) }));
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/data-regions',
    summary: 'The data-residency rule identity applies to a channel, and where it came from',
    tags: tags.compliance,
    auth: true,
    before: authed({ kind: 'staff' }),
    params: z.object({ code: S.ChannelCode }),
    responses: {
      200: {
        description: 'rule',
        schema: z.object({
          channel: z.string(),
          allowedDataRegions: z.array(z.string()),
          source: z.enum(['channels', 'configuration']),
        }),
      },
      ...channelNotFoundResponse,
    },
    handler: async ({ params }) => {
      const r = await channelRule(ctx, params.code);
      // an unknown channel answers as in every service (404 channel_not_found), not an empty rule
      if (!r) throw channelNotFound(params.code, 'identity');
      return { body: { channel: params.code, allowedDataRegions: r.allowedDataRegions, source: r.source } };
    },
  });
}
