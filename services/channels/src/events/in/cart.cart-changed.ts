/**
 * cart.cart-changed → which customers have activity on which channel (for maintenance and sunset
 * notices), and the cart change delivered to the webhook endpoints of the channels the customer
 * is active on (a partner channel sees only the lines on its own channel). Activity is written at
 * most once a minute per channel and customer (see domain/activity.ts).
 */
import { RecentActivity } from '../../domain/activity';
import type { ChannelCustomerRepository } from '../../store';
import type { DeliveryQueue, Handler } from '../ports';

export function cartChangedHandler(
  customers: ChannelCustomerRepository,
  delivery: DeliveryQueue,
  recent: RecentActivity,
): Handler<'cart.cart-changed'> {
  return async (ev, ctx) => {
    if (!ev.customerId) return; // anonymous device carts are nobody's activity yet
    const customerId = ev.customerId;
    const touched = new Set(ev.lines.map((l) => l.channel));
    if (ev.envelope.sourceChannel) touched.add(ev.envelope.sourceChannel);
    const at = ev.envelope.occurredAt;
    for (const channel of touched) {
      const key = RecentActivity.key(channel, customerId);
      if (!recent.due(key, at)) continue;
      await customers.recordActivity(ctx, channel, customerId, new Date(at));
      recent.record(key, at);
    }
    // Delivered to the channels with endpoints where the customer is active.
    for (const channel of (await delivery.activeEndpoints()).keys()) {
      if (!touched.has(channel) && !(await customers.isActive(channel, customerId))) continue;
      await delivery.enqueue({
        eventType: 'cart.changed',
        sourceEventId: ev.envelope.eventId,
        occurredAt: ev.envelope.occurredAt,
        channel,
        data: {
          cartId: ev.cartId,
          customerId,
          version: ev.version,
          change: ev.change,
          lines: ev.lines
            .filter((l) => l.channel === channel)
            .map((l) => ({ sku: l.sku, quantity: l.quantity, addedAt: new Date(l.addedAt).toISOString() })),
        },
        subjects: [customerId],
      });
    }
  };
}
