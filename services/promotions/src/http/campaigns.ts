import { principalOf, type HttpApi } from '@omnimall/service-kit';
import { campaignView, type CampaignService } from '../application/campaigns';
import { actorOf, refusals, type Guards } from './access';
import * as S from './usage-schemas';

/** Campaign budgets (admins). */
export function campaignRoutes(api: HttpApi, campaigns: CampaignService, g: Guards): void {
  api
    .route({
      method: 'post',
      path: '/campaigns',
      summary: 'Create a campaign: a budget (a count of uses or an amount of discount, in total and per customer)',
      tags: ['campaigns'],
      auth: true,
      before: g.admin,
      body: S.CampaignBody,
      responses: {
        201: { description: 'created', schema: S.Json, headers: { Location: { description: 'the campaign', schema: { type: 'string' } } } },
        200: { description: 'a retry: the campaign as created', schema: S.Json },
        ...refusals,
        400: { description: 'validation_failed, invalid_budget, invalid_campaign_id' },
        409: { description: 'campaign_exists: the id names another campaign' },
      },
      handler: async ({ body, res }) => {
        const { campaign, created } = await campaigns.create({ ...body, actor: actorOf(principalOf(res)) });
        return { status: created ? 201 : 200, headers: { location: `/campaigns/${campaign.id}` }, body: campaignView(campaign) };
      },
    })
    .route({
      method: 'get',
      path: '/campaigns/:id',
      summary: 'A campaign’s budget: used, held, remaining, exhausted',
      tags: ['campaigns'],
      auth: true,
      before: g.admin,
      params: S.IdParams,
      responses: { 200: { description: 'the campaign', schema: S.Json }, ...refusals, 404: { description: 'campaign_not_found' } },
      handler: async ({ params }) => ({ body: campaignView(await campaigns.get(params.id)) }),
    });
}
