import { channelOf, requireChannel, type HttpApi, type ServiceAuth } from '@omnimall/service-kit';
import { AppError, ConflictError, ValidationError } from '@omnimall/service-kit/errors';
import type { CheckoutService } from '../application/checkout';
import type { Order } from '../domain/order';
import { actorOf, callerOf, corr, refusals, type Guards } from './access';
import { orderView } from './views';
import * as S from './schemas';

/** The answer a checkout's order gives: 201 confirmed, 202 still deciding, or the failure's own status with its remediation. */
function outcome(o: Order, replay: boolean) {
  const f = o.saga.failure;
  if (f)
    throw new AppError(f.status, f.code, f.message, f.hint, {
      remediation: f.remediation,
      reference: f.reference,
      orderId: o.id,
      order: orderView(o),
    });
  const headers = { location: `/orders/${o.id}` };
  if (o.saga.state === 'running') {
    if (replay)
      throw new ConflictError(
        'checkout_in_progress',
        'this checkout is still running',
        'wait for it: GET /orders/{id}, or repeat the request later',
        {
          orderId: o.id,
          order: orderView(o),
        },
      );
    return { status: 202, body: orderView(o), headers };
  }
  return { status: replay ? 200 : 201, body: orderView(o), headers };
}

/** POST /checkouts: a customer orders their global cart on the channel of their login. */
export function checkoutRoutes(api: HttpApi, checkouts: CheckoutService, g: Guards, auth: Pick<ServiceAuth, 'verifier' | 'trust'>): void {
  const location = { Location: { description: 'the order', schema: { type: 'string' as const } } };
  api.route({
    method: 'post',
    path: '/checkouts',
    summary:
      'Check out the global cart on this channel: reserve stock, hold codes and points, authorise the payment, confirm (a saga; waits briefly for its outcome)',
    tags: ['checkouts'],
    auth: true,
    before: [...g.customer, requireChannel(auth)],
    headers: S.IdempotencyKey,
    body: S.CheckoutBody,
    responses: {
      200: { description: 'the same request again: the order it made', schema: S.Json, headers: location },
      201: { description: 'the order, confirmed', schema: S.Json, headers: location },
      202: { description: 'the order, its saga still running: follow Location', schema: S.Json, headers: location },
      400: { description: 'validation_failed, idempotency_key_required, channel_credentials_missing' },
      ...refusals,
      402: { description: 'payment_declined (remediation use_another_payment_method; nothing kept)' },
      404: { description: 'channel_not_found: the channel is not known to orders (details.channel; remediation retry)' },
      409: {
        description:
          'cart_changed, cart_already_ordered, checkout_in_progress, channel_in_maintenance (with the channel’s expected return), channel_not_active, channel_blocked, stock refusals (remediation pick_another_item), code or points refusals',
      },
      422: {
        description: 'cart_empty, item_not_sold_on_channel, item_restricted, mixed_currencies, shipping_unknown, idempotency_key_reused',
      },
      503: { description: 'payment_timed_out, checkout_timed_out (remediation retry; anything held is given back)' },
    },
    handler: async ({ body, req, res }) => {
      const p = callerOf(res);
      const key = req.header('idempotency-key');
      if (!key)
        throw new ValidationError(
          'idempotency_key_required',
          'a checkout needs an Idempotency-Key header',
          'send a unique key per checkout; repeat it to retry',
        );
      const { order, created } = await checkouts.checkout({
        customerId: p.sub,
        channel: channelOf(res)!,
        placedBy: actorOf(p),
        idempotencyKey: key,
        cartVersion: body.cartVersion,
        address: body.address,
        shipping: body.shipping,
        codes: body.codes,
        points: body.points,
        methodToken: body.paymentMethod.token,
        correlationId: corr(res),
      });
      if (!created) return outcome(order, true);
      return outcome((await checkouts.decided(order.id)) ?? order, false);
    },
  });
}
