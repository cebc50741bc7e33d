/**
 * orders.order-status → an order's new status delivered to the order.status endpoints of the
 * channel the order was placed on (a channel without such endpoints gets nothing).
 */
import type { DeliveryQueue, Handler } from '../ports';

export function orderStatusHandler(delivery: Pick<DeliveryQueue, 'enqueue'>): Handler<'orders.order-status'> {
  return async (ev, ctx) => {
    ctx.channel = ev.channel;
    await delivery.enqueue({
      eventType: 'order.status',
      sourceEventId: ev.envelope.eventId,
      occurredAt: ev.envelope.occurredAt,
      channel: ev.channel,
      data: {
        orderId: ev.orderId,
        customerId: ev.customerId,
        status: ev.status,
        occurredAt: new Date(ev.occurredAt).toISOString(),
        version: ev.envelope.aggregateVersion,
      },
      subjects: [ev.customerId],
    });
  };
}
