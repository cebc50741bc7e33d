import { z, type HttpApi } from '@omnimall/service-kit';
import type { Catalog } from '../application/catalog';
import { decideDiff } from '../application/curation';
import { channelDiffs } from '../application/queries';
import { putRule } from '../application/rules';
import { Code, ok, scoped, type Guards } from './access';
import * as S from './schemas';

/** The routes of rules: a channel's mapping and sync rules, and the diffs its manual rules staged (channel managers). */
export function registerRuleRoutes(api: HttpApi, c: Catalog, g: Guards): void {
  api
    .route({
      method: 'get',
      path: '/channels/:code/staged-diffs',
      summary: "A channel's staged diffs (manual rules)",
      tags: ['rules'],
      auth: true,
      before: g.manager,
      params: Code,
      query: z.object({ status: z.enum(['pending', 'approved', 'rejected']).default('pending') }),
      responses: ok('diffs'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { diffs: await channelDiffs(c, params.code, query.status) } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/staged-diffs/:diffId/:decision',
      summary: 'Approve or reject a staged diff',
      tags: ['rules'],
      auth: true,
      before: g.manager,
      params: z.object({ code: S.ChannelCode, diffId: z.string().min(3).max(300), decision: z.enum(['approve', 'reject']) }),
      responses: ok('diff and item'),
      handler: async ({ params, res }) => ({
        body: await decideDiff(c, scoped(res, params.code), params.code, params.diffId, params.decision === 'approve'),
      }),
    })
    .route({
      method: 'get',
      path: '/channels/:code/rules',
      summary: "A channel's mapping and sync rules, with every past version",
      tags: ['rules'],
      auth: true,
      before: g.manager,
      params: Code,
      responses: ok('rules'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        const set = await c.rules.setOf(params.code);
        return { body: { rules: set?.rules ?? [], history: set?.history ?? [] } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/rules',
      summary: 'Create a mapping and sync rule (re-propagates the channel)',
      tags: ['rules'],
      auth: true,
      before: g.manager,
      params: Code,
      body: S.RuleBody,
      responses: { 201: { description: 'created', schema: S.Json }, 409: { description: 'fields already governed by another rule' } },
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { status: 201, body: await putRule(c, params.code, null, body) };
      },
    })
    .route({
      method: 'put',
      path: '/channels/:code/rules/:ruleId',
      summary: 'Change a rule: a new version (re-propagates the channel)',
      tags: ['rules'],
      auth: true,
      before: g.manager,
      params: z.object({ code: S.ChannelCode, ruleId: z.string().min(1).max(64) }),
      body: S.RuleBody,
      responses: ok('the new version'),
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { body: await putRule(c, params.code, params.ruleId, body) };
      },
    });
}
