import { principalOf, type HttpApi } from '@omnimall/service-kit';
import { ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';
import type { LoyaltyService } from '../application/loyalty';
import { actorOf, corr, refusals, type Guards } from './access';
import * as S from './usage-schemas';

/** The loyalty ledger (a customer reads their own, staff anyone's; admins adjust) and its rules (admins set, staff read). */
export function loyaltyRoutes(api: HttpApi, loyalty: LoyaltyService, g: Guards): void {
  const ok = (description: string) => ({ 200: { description, schema: S.Json }, ...refusals });
  api
    .route({
      method: 'put',
      path: '/loyalty/earn-rules',
      summary: 'Set the earn rules: points per currency unit of a paid order, a multiplier per channel, a bonus per promotion',
      tags: ['loyalty'],
      auth: true,
      before: g.admin,
      body: S.EarnRulesBody,
      responses: { ...ok('the rules in force'), 400: { description: 'validation_failed' } },
      handler: async ({ body, res }) => {
        await loyalty.putEarnRules(body, actorOf(principalOf(res)));
        return { body };
      },
    })
    .route({
      method: 'get',
      path: '/loyalty/earn-rules',
      summary: 'The earn rules in force (null: none, orders earn nothing)',
      tags: ['loyalty'],
      auth: true,
      before: g.staff,
      responses: ok('the rules'),
      handler: async () => ({ body: { rules: await loyalty.earnRules() } }),
    })
    .route({
      method: 'put',
      path: '/loyalty/tiers',
      summary: 'Set the tiers (rising thresholds of points earned in the rolling period, the first at 0) and the downgrade policy',
      tags: ['loyalty'],
      auth: true,
      before: g.admin,
      body: S.TiersBody,
      responses: { ...ok('the policy in force'), 400: { description: 'validation_failed, invalid_tiers' } },
      handler: async ({ body, res }) => {
        await loyalty.putTierPolicy(body, actorOf(principalOf(res)));
        return { body };
      },
    })
    .route({
      method: 'get',
      path: '/loyalty/tiers',
      summary: 'The tier policy in force (null: none, every customer is standard)',
      tags: ['loyalty'],
      auth: true,
      before: g.staff,
      responses: ok('the policy'),
      handler: async () => ({ body: { policy: await loyalty.tierPolicy() } }),
    })
    .route({
      method: 'get',
      path: '/customers/:id/loyalty',
      summary: 'A customer’s ledger: balance, held, available, tier, qualifying points, lots and entries',
      tags: ['loyalty'],
      auth: true,
      before: g.anyone,
      params: S.IdParams,
      responses: ok('the ledger (empty for a customer who never earned)'),
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        if (p.kind === 'customer' ? p.sub !== params.id : p.kind !== 'staff')
          throw new ForbiddenError('not_own_ledger', 'a customer reads only their own ledger', `read /customers/${p.sub}/loyalty`);
        return { body: await loyalty.ledger(params.id) };
      },
    })
    .route({
      method: 'post',
      path: '/customers/:id/loyalty/adjustments',
      summary: 'Add or take points by hand (admins), once per Idempotency-Key',
      tags: ['loyalty'],
      auth: true,
      before: g.admin,
      params: S.IdParams,
      headers: S.IdempotencyKey,
      body: S.AdjustmentBody,
      responses: {
        201: { description: 'the entry and the ledger after it', schema: S.Json },
        ...refusals,
        400: { description: 'validation_failed, idempotency_key_required' },
        409: { description: 'insufficient_points: more taken than is available' },
        422: { description: 'idempotency_key_reused' },
      },
      handler: async ({ params, body, req, res }) => {
        const key = req.header('idempotency-key');
        if (!key)
          throw new ValidationError(
            'idempotency_key_required',
            'adjustments need an Idempotency-Key header',
            'send a unique key per adjustment',
          );
        const out = await loyalty.adjust(
          params.id,
          { key, points: body.points, reason: body.reason, actor: actorOf(principalOf(res)) },
          { correlationId: corr(res) },
        );
        return { status: 201, body: out };
      },
    });
}
