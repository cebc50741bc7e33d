import { referenceOf, type Order } from '../domain/order';

/** An order as callers see it: everything but the request fingerprint and the payment token. */
export function orderView(o: Order): Record<string, unknown> {
  const { requestHash: _h, methodToken: _t, payment, ...rest } = o;
  const { webhookEvents: _w, ...paid } = payment;
  return { ...rest, payment: paid, reference: referenceOf(o.id) };
}
