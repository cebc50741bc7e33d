import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Order } from '../../domain/order';
import { reportedStatus } from '../../domain/states';

/** The order's state on every channel (full state: the three states, lines, totals, the cart it emptied, its partner id and steward). */
export function orderStatusChanged(o: Order, now: number): OutgoingEvent<'orders.order-status'> {
  const status = reportedStatus(o.state, o.payment.state, o.fulfilment.state);
  return newEvent(
    'orders.order-status',
    {
      type: `order.${status}`,
      producer: 'orders',
      aggregateId: o.id,
      aggregateVersion: o.version,
      sourceChannel: o.channel,
      correlationId: o.correlationId,
    },
    {
      orderId: o.id,
      customerId: o.customerId,
      channel: o.channel,
      status,
      occurredAt: now,
      totalMinor: o.price.totalMinor,
      currency: o.price.currency,
      promotionIds: o.price.promotionIds,
      usageHoldId: o.saga.steps.some((s) => s.name === 'hold_usage' && s.state === 'done') ? o.id : null,
      orderState: o.state,
      paymentState: o.payment.state,
      fulfilmentState: o.fulfilment.state,
      cartId: o.cartId,
      cartVersion: o.cartVersion,
      lines: o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceMinor: l.unitPriceMinor, totalMinor: l.totalMinor })),
      partnerOrderId: o.fulfilment.partnerOrderId,
      steward: o.steward,
      reason: o.saga.failure?.code ?? null,
      version: o.version,
    },
  );
}
