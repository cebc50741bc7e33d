import type { EventHandler } from '@omnimall/service-kit';
import type { CartOrders } from '../../application/ordered';

/** orders.order-status: a confirmed order's lines leave the cart it was checked out from (once per order). */
export function orderStatusIn(orders: Pick<CartOrders, 'ordered'>): EventHandler<'orders.order-status'> {
  return async (e, ctx) => {
    if (e.orderState !== 'confirmed' || !e.cartId) return ctx.skip();
    ctx.channel = e.channel;
    const done = await orders.ordered(e.cartId, e.orderId, e.lines, { sourceChannel: e.channel, correlationId: e.envelope.correlationId });
    if (done === null) ctx.skip();
  };
}
