import { channelNotFoundResponse, principalOf, type HttpApi } from '@omnimall/service-kit';
import { ForbiddenError } from '@omnimall/service-kit/errors';
import type { DefinitionService } from '../application/definitions';
import type { OverrideService } from '../application/overrides';
import type { OverrideRequest } from '../domain/overrides';
import { actorOf, corr, refusals, scoped, type Guards } from './access';
import { promotionView } from './promotions';
import * as S from './schemas';

/** Every channel's decisions for admins and compliance officers; a channel manager's own channels' only. */
const seesEvery = (roles: readonly string[]): boolean => roles.includes('admin') || roles.includes('compliance_officer');

/**
 * Channel overrides (channel managers for their channels, admins for any) and the evidence of every
 * decision (managers: their channels; compliance officers and admins: all).
 */
export function overrideRoutes(api: HttpApi, overrides: OverrideService, definitions: DefinitionService, g: Guards): void {
  const actor = (res: Parameters<typeof principalOf>[0]) => {
    const p = principalOf(res);
    return { id: actorOf(p), roles: p.roles };
  };
  api
    .route({
      method: 'put',
      path: '/promotions/:id/channels/:code/override',
      summary:
        'Ask for a channel override (value, dates, exclusion); judged against the promotion’s overridable rules, evidenced either way',
      tags: ['overrides'],
      auth: true,
      before: g.manager,
      params: S.PromotionChannel,
      body: S.OverrideBody,
      responses: {
        200: { description: 'accepted: the promotion with its new version (republished when distributed)', schema: S.Json },
        ...refusals,
        400: { description: 'validation_failed, override_empty, until_in_past, rule_not_evaluable (the channel’s reward or dates)' },
        403: {
          description:
            'channel_out_of_scope; override_not_allowed (details.rule: e.g. `overridable.value not declared`, `overridable.dates.by=[admin]`; the refusal is evidenced)',
        },
        404: { description: 'promotion_not_found, channel_not_found (no such channel is known here)' },
        409: { description: 'promotion_closed, channel_not_targeted' },
      },
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        const r = await overrides.request(params.id, params.code, body as OverrideRequest, actor(res), { correlationId: corr(res) });
        return { body: promotionView(r) };
      },
    })
    .route({
      method: 'delete',
      path: '/promotions/:id/channels/:code/override',
      summary: 'Remove a channel’s override (the global definition applies there again); evidenced',
      tags: ['overrides'],
      auth: true,
      before: g.manager,
      params: S.PromotionChannel,
      headers: S.ReasonHeader,
      responses: {
        200: { description: 'the promotion with its new version', schema: S.Json },
        ...refusals,
        404: { description: 'promotion_not_found, override_not_found, channel_not_found' },
      },
      handler: async ({ params, req, res }) => {
        scoped(res, params.code);
        const reason = req.header('x-reason') ?? 'removed';
        return {
          body: promotionView(
            await overrides.remove(params.id, params.code, reason.slice(0, 500), actor(res), { correlationId: corr(res) }),
          ),
        };
      },
    })
    .route({
      method: 'get',
      path: '/promotions/:id/override-decisions',
      summary: 'The override decisions on a promotion, newest first (channel managers: their channels’)',
      tags: ['overrides'],
      auth: true,
      before: g.evidence,
      params: S.PromotionId,
      responses: { 200: { description: 'the decisions', schema: S.Json }, ...refusals, 404: { description: 'promotion_not_found' } },
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        await definitions.get(params.id);
        const all = await overrides.byPromotion(params.id);
        return { body: { decisions: seesEvery(p.roles) ? all : all.filter((d) => p.channels.includes(d.channel)) } };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/override-decisions',
      summary: 'The override decisions of a channel, newest first',
      tags: ['overrides'],
      auth: true,
      before: g.evidence,
      params: S.ChannelParams,
      responses: { 200: { description: 'the decisions', schema: S.Json }, ...refusals, ...channelNotFoundResponse },
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        if (!seesEvery(p.roles)) scoped(res, params.code);
        if (!seesEvery(p.roles) && !p.roles.includes('channel_manager'))
          throw new ForbiddenError(
            'forbidden',
            'the evidence is for compliance, admins and the channel’s managers',
            'ask a compliance officer',
          );
        return { body: { decisions: await overrides.byChannel(params.code) } };
      },
    });
}
