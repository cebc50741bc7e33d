import { channelNotFoundResponse, ForbiddenError, principalOf, z, type HttpApi } from '@omnimall/service-kit';
import type { Configuration } from '../application/configuration';
import { actorOf, refusals, scoped, type Guards } from './access';
import * as S from './schemas';

const Code = z.object({ code: S.ChannelCode });

/**
 * A channel's stock policy (allocation, thresholds, backorder, max per order) and the business
 * exceptions to it. Channel managers act on their channels; an exception for every channel (a
 * flagship SKU kept for the master channel, an embargo everywhere) is an admin's or, for their own
 * SKU, its seller's. Every exception has an owner, a reason and an expiry.
 */
export function policyRoutes(api: HttpApi, c: Configuration, g: Guards): void {
  api
    .route({
      method: 'get',
      path: '/channels/:code/policy',
      summary: "A channel's stock policy (the default when none was set)",
      tags: ['policies'],
      auth: true,
      before: g.manager,
      params: Code,
      responses: { 200: { description: 'the policy', schema: S.Json }, ...refusals, ...channelNotFoundResponse },
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        await c.knownChannel(params.code);
        return { body: await c.policy(params.code) };
      },
    })
    .route({
      method: 'put',
      path: '/channels/:code/policy',
      summary: "Set a channel's stock policy; every SKU's availability on it is recomputed and what changed is published",
      tags: ['policies'],
      auth: true,
      before: g.manager,
      params: Code,
      body: S.PolicyBody,
      responses: { 200: { description: 'the policy as saved', schema: S.Json }, ...refusals, ...channelNotFoundResponse },
      handler: async ({ params, body, res }) => {
        const p = scoped(res, params.code);
        await c.knownChannel(params.code);
        return { body: await c.setPolicy(params.code, body, actorOf(p)) };
      },
    })
    .route({
      method: 'get',
      path: '/exceptions',
      summary: 'Every business exception, with its owner, reason and expiry (expired ones flagged)',
      tags: ['policies'],
      auth: true,
      before: g.staff,
      responses: { 200: { description: 'the exceptions', schema: z.array(S.Json) }, ...refusals },
      handler: async () => {
        const now = Date.now();
        return { body: (await c.exceptions()).map((e) => ({ ...e, expired: e.expiresAt <= now })) };
      },
    })
    .route({
      method: 'post',
      path: '/exceptions',
      summary: 'Add a business exception (master_only, threshold_exempt, embargo) with a reason and an expiry',
      tags: ['policies'],
      auth: true,
      before: g.staff,
      body: S.ExceptionBody,
      responses: {
        201: { description: 'the exception', schema: S.Json },
        ...refusals,
        400: { description: 'validation_failed, expiry_in_past, embargo_until_required, channel_required' },
      },
      handler: async ({ body, res }) => {
        const p = principalOf(res);
        if (body.channel) scoped(res, body.channel);
        else if (!p.roles.includes('admin')) {
          if (!(p.roles.includes('seller') && body.sku))
            throw new ForbiddenError(
              'exception_out_of_scope',
              'an exception for every channel is an admin’s, or a seller’s for their own SKU',
              'name a channel you manage, or a SKU you sell',
            );
          await g.mayWriteSku(p, body.sku);
        }
        return { status: 201, body: await c.addException(body, actorOf(p)) };
      },
    })
    .route({
      method: 'delete',
      path: '/exceptions/:id',
      summary: 'Remove an exception (its owner, a manager of its channel, or an admin)',
      tags: ['policies'],
      auth: true,
      before: g.staff,
      params: z.object({ id: z.string().uuid() }),
      responses: { 204: { description: 'removed' }, ...refusals, 404: { description: 'exception_not_found' } },
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        const e = await c.exception(params.id);
        if (e.owner !== actorOf(p) && !p.roles.includes('admin')) {
          if (!e.channel)
            throw new ForbiddenError('not_exception_owner', 'only its owner or an admin removes this exception', 'ask its owner');
          scoped(res, e.channel);
        }
        await c.removeException(params.id);
        return { status: 204 };
      },
    });
}
