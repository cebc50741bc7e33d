/**
 * orders.order-status → an order's new status delivered to the order.status endpoints of the
 * channel the order was placed on (a channel without such endpoints gets nothing).
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { WebhookDelivery } from '../delivery/webhook-delivery';

export function orderStatusHandler(delivery: WebhookDelivery) {
  return async (ev: TopicValues['orders.order-status'], ctx: EventContext): Promise<void> => {
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
    });
  };
}
