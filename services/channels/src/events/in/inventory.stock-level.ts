/**
 * inventory.stock-level → the SKU's stock level on a channel delivered to that channel's endpoints
 * subscribed to stock.level. The deliveries' ids derive from the event id, so a replay queues
 * nothing twice.
 */
import type { DeliveryQueue, Handler } from '../ports';

export function stockLevelHandler(delivery: Pick<DeliveryQueue, 'enqueue'>): Handler<'inventory.stock-level'> {
  return async (ev, ctx) => {
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
