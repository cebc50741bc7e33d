import type { Response } from 'express';
import {
  channelOf,
  idempotentId,
  principalOf,
  requireChannel,
  type HttpApi,
  type Principal,
  type ServiceAuth,
} from '@omnimall/service-kit';
import { ForbiddenError, ValidationError } from '@omnimall/service-kit/errors';
import type { HoldOutcome, HoldService, UsageMeta } from '../application/usage';
import type { HoldRecord } from '../store/holds';
import { actorOf, corr, refusals, type Guards } from './access';
import * as S from './usage-schemas';

export interface HoldLimits {
  defaultHoldSeconds: number;
  maxHoldSeconds: number;
}

/** A hold's id: derived from the caller and their Idempotency-Key, so a retry finds the same hold. */
export const holdIdOf = (caller: string, key: string): string => idempotentId('h-', caller, key);

const view = ({ caller: _c, requestHash: _h, ...h }: HoldRecord) => h;

const reply = (out: HoldOutcome) => {
  if (out.refusal) throw out.refusal;
  return { body: view(out.hold) };
};

/**
 * Usage holds over HTTP: a customer holds codes, campaign budget and their own points on the channel of
 * their token, and reads, commits or releases their own holds; admins hold for anyone and revert
 * committed usage (orders do all of it over Kafka, promotions.usage-command).
 */
export function holdRoutes(
  api: HttpApi,
  holds: HoldService,
  g: Guards,
  auth: Pick<ServiceAuth, 'verifier' | 'trust'>,
  limits: HoldLimits,
): void {
  const meta = (p: Principal, res: Response): UsageMeta => ({ caller: actorOf(p), commandId: null, origin: { correlationId: corr(res) } });
  const own = async (id: string, p: Principal, res: Response): Promise<HoldRecord> => {
    const h = await holds.get(id);
    if (p.roles.includes('admin')) return h;
    if (p.kind !== 'customer' || h.customerId !== p.sub || h.channel !== channelOf(res))
      throw new ForbiddenError(
        'not_hold_owner',
        `hold ${id} is someone else’s`,
        'customers act on their own holds on their channel; admins on any',
      );
    return h;
  };
  const responses = (what: string) => ({
    200: { description: what, schema: S.Json },
    ...refusals,
    404: { description: 'hold_not_found' },
    409: { description: 'hold_not_active (its state does not allow it), hold_expired' },
  });
  api.route({
    method: 'post',
    path: '/holds',
    summary: 'Hold codes, campaign budget and loyalty points for an order until expiresAt: every item or none',
    tags: ['holds'],
    auth: true,
    before: [...g.anyone, requireChannel(auth, { optional: true })],
    headers: S.IdempotencyKey,
    body: S.HoldBody,
    responses: {
      201: { description: 'held', schema: S.Json, headers: { Location: { description: 'the hold', schema: { type: 'string' } } } },
      ...refusals,
      400: { description: 'validation_failed, idempotency_key_required, channel_required, ttl_too_long, invalid_code, nothing_to_hold' },
      409: {
        description:
          'refused, nothing held: code_unknown, code_inactive, code_exhausted, code_used_by_customer, campaign_unknown, budget_exhausted, insufficient_points',
      },
      422: { description: 'idempotency_key_reused: the key was used for another hold' },
    },
    handler: async ({ body, req, res }) => {
      const p = principalOf(res);
      let who: { customerId: string; channel: string; reference: string };
      if (p.kind === 'customer') {
        const channel = channelOf(res);
        if (!channel)
          throw new ValidationError('channel_required', 'a customer holds on the channel of their login', 'log in on a channel');
        if (body.customerId && body.customerId !== p.sub)
          throw new ForbiddenError('not_own_usage', 'a customer holds only their own usage', 'send no customerId');
        who = { customerId: p.sub, channel, reference: body.reference ?? `cart:${p.sub}` };
      } else {
        if (!p.roles.includes('admin'))
          throw new ForbiddenError('forbidden', 'staff holds are an admin’s', 'hold through the orders service');
        if (!body.customerId || !body.channel || !body.reference)
          throw new ValidationError(
            'channel_required',
            'staff name the customer, the channel and the reference',
            'send customerId, channel and reference',
          );
        who = { customerId: body.customerId, channel: body.channel, reference: body.reference };
      }
      const key = req.header('idempotency-key');
      if (!key)
        throw new ValidationError(
          'idempotency_key_required',
          'holds need an Idempotency-Key header',
          'send a unique key per hold; repeat it to retry',
        );
      const ttl = body.ttlSeconds ?? limits.defaultHoldSeconds;
      if (ttl > limits.maxHoldSeconds)
        throw new ValidationError(
          'ttl_too_long',
          `a hold lasts at most ${limits.maxHoldSeconds} s`,
          `ask for ttlSeconds ≤ ${limits.maxHoldSeconds}`,
        );
      const out = await holds.hold(
        {
          ...who,
          holdId: holdIdOf(actorOf(p), key),
          codes: body.codes,
          campaigns: body.campaigns,
          points: body.points,
          expiresAt: Date.now() + ttl * 1000,
        },
        meta(p, res),
      );
      return { ...reply(out), status: 201, headers: { location: `/holds/${out.hold.id}` } };
    },
  });
  api.route({
    method: 'get',
    path: '/holds/:id',
    summary: 'A usage hold and its state (held, refused, released, committed, reverted, expired)',
    tags: ['holds'],
    auth: true,
    before: [...g.anyone, requireChannel(auth, { optional: true })],
    params: S.HoldParams,
    responses: { 200: { description: 'the hold', schema: S.Json }, ...refusals, 404: { description: 'hold_not_found' } },
    handler: async ({ params, res }) => ({ body: view(await own(params.id, principalOf(res), res)) }),
  });
  for (const [action, summary, who] of [
    ['commit', 'Make a hold’s usage final (codes used, budget spent, points burnt)', 'owner'],
    ['release', 'Give a hold back (idempotent)', 'owner'],
    ['revert', 'Give committed usage back (admins; a cancelled or returned order does it on its own)', 'admin'],
  ] as const)
    api.route({
      method: 'post',
      path: `/holds/:id/${action}`,
      summary,
      tags: ['holds'],
      auth: true,
      before: who === 'admin' ? g.admin : [...g.anyone, requireChannel(auth, { optional: true })],
      params: S.HoldParams,
      responses: responses(`the hold, ${action === 'commit' ? 'committed' : action === 'release' ? 'released' : 'reverted'}`),
      handler: async ({ params, res }) => {
        const p = principalOf(res);
        await own(params.id, p, res);
        return reply(await holds[action](params.id, meta(p, res)));
      },
    });
}
