import type { EventHandler } from '@omnimall/service-kit';
import type { OrderService } from '../../application/orders';

/**
 * channels.partner-order-status: a partner's report on an order, validated and mapped by channels (the
 * partner is the topic it wrote to, never a field of its record): fulfilment moves, the partner's id kept.
 */
export function partnerOrderStatusIn(orders: Pick<OrderService, 'partnerStatus'>): EventHandler<'channels.partner-order-status'> {
  return async (e, ctx) => {
    ctx.channel = e.channel;
    await orders.partnerStatus(e.orderId, e.partnerOrderId, e.status, e.channel);
  };
}
