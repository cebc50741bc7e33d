import type { HttpApi } from '@omnimall/service-kit';
import { ForbiddenError } from '@omnimall/service-kit/errors';
import { actsOnChannel } from '@omnimall/contracts';
import type { OrderService } from '../application/orders';
import { actorOf, assertMay, assertRole, callerOf, refusals, type Guards } from './access';
import { orderView } from './views';
import * as S from './schemas';

/** Orders: the customer's history (the same on every channel), staff views per channel and globally, cancellation and fulfilment. */
export function orderRoutes(api: HttpApi, orders: OrderService, g: Guards): void {
  api.route({
    method: 'get',
    path: '/orders',
    summary: 'Orders, newest first: a customer’s own (every channel); staff by channel, state or customer (managers: their channels)',
    tags: ['orders'],
    auth: true,
    before: g.anyone,
    query: S.OrderQuery,
    responses: { 200: { description: 'the orders', schema: S.JsonList }, ...refusals },
    handler: async ({ query, res }) => {
      const p = callerOf(res);
      const q = { ...query };
      if (p.kind === 'customer') q.customerId = p.sub;
      else if (!p.roles.includes('admin') && !p.roles.includes('compliance_officer')) {
        if (!p.roles.includes('channel_manager'))
          throw new ForbiddenError('forbidden', 'orders are read by admins, compliance officers and channel managers', 'ask an admin');
        if (!q.channel || !actsOnChannel(p, q.channel))
          throw new ForbiddenError(
            'channel_out_of_scope',
            'a channel manager reads the orders of one of their channels',
            'send ?channel=<one of your channels>',
          );
      }
      const found = await orders.list(q, query.limit);
      return { body: found.map(orderView) };
    },
  });
  api.route({
    method: 'get',
    path: '/orders/:id',
    summary: 'One order: its lines, price snapshot, the three states, its saga log and history, owning channel and steward',
    tags: ['orders'],
    auth: true,
    before: g.anyone,
    params: S.OrderParams,
    responses: { 200: { description: 'the order', schema: S.Json }, ...refusals, 404: { description: 'order_not_found' } },
    handler: async ({ params, res }) => {
      assertRole(callerOf(res), 'see');
      const o = await orders.get(params.id);
      assertMay(callerOf(res), o, 'see');
      return { body: orderView(o) };
    },
  });
  api.route({
    method: 'post',
    path: '/orders/:id/cancel',
    summary: 'Cancel an order: its stock goes back, its payment is voided or refunded, promotions gives its usage and points back',
    tags: ['orders'],
    auth: true,
    before: g.anyone,
    params: S.OrderParams,
    body: S.CancelBody,
    responses: {
      200: { description: 'the order, cancelled', schema: S.Json },
      ...refusals,
      404: { description: 'order_not_found' },
      409: { description: 'transition_refused (with the allowed moves)' },
    },
    handler: async ({ params, body, res }) => {
      const p = callerOf(res);
      assertRole(p, 'operate');
      assertMay(p, await orders.get(params.id), 'operate');
      return { body: orderView(await orders.cancel(params.id, actorOf(p), body.reason)) };
    },
  });
  api.route({
    method: 'post',
    path: '/orders/:id/fulfilment',
    summary: 'Move an order’s fulfilment (partially, fulfilled: the order completes; returned: stock and payment go back)',
    tags: ['orders'],
    auth: true,
    before: g.operator,
    params: S.OrderParams,
    body: S.FulfilmentBody,
    responses: {
      200: { description: 'the order', schema: S.Json },
      ...refusals,
      404: { description: 'order_not_found' },
      409: { description: 'transition_refused (with the allowed moves)' },
    },
    handler: async ({ params, body, res }) => {
      const p = callerOf(res);
      assertMay(p, await orders.get(params.id), 'operate');
      return { body: orderView(await orders.fulfil(params.id, body.state, actorOf(p))) };
    },
  });
}
