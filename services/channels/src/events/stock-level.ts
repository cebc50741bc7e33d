/**
 * inventory.stock-level → the SKU's stock level on a channel delivered to that channel's endpoints
 * subscribed to stock.level. The deliveries' ids derive from the event id, so a replay queues
 * nothing twice.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { WebhookDelivery } from '../delivery/webhook-delivery';

export function stockLevelHandler(delivery: WebhookDelivery) {
  return async (ev: TopicValues['inventory.stock-level'], ctx: EventContext): Promise<void> => {
    ctx.channel = ev.channel;
    await delivery.enqueue({
      eventType: 'stock.level',
      sourceEventId: ev.envelope.eventId,
      occurredAt: ev.envelope.occurredAt,
      channel: ev.channel,
      data: {
        sku: ev.sku,
        availableQuantity: ev.availableQuantity,
        status: ev.status,
        location: ev.location,
        version: ev.envelope.aggregateVersion,
      },
    });
  };
}
