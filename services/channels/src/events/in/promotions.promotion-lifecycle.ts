/**
 * promotions.promotion-lifecycle → a promotion's start or end delivered to the promotion.lifecycle
 * endpoints of each channel it applies to. Each channel's delivery names that channel only, like
 * a cart change shows a partner only its own lines.
 */
import type { DeliveryQueue, Handler } from '../ports';

export function promotionLifecycleHandler(delivery: Pick<DeliveryQueue, 'enqueue'>): Handler<'promotions.promotion-lifecycle'> {
  return async (ev, ctx) => {
    const channels = [...new Set(ev.channels)];
    if (channels.length === 1) ctx.channel = channels[0];
    for (const channel of channels) {
      await delivery.enqueue({
        eventType: 'promotion.lifecycle',
        sourceEventId: ev.envelope.eventId,
        occurredAt: ev.envelope.occurredAt,
        channel,
        data: {
          promotionId: ev.promotionId,
          name: ev.name,
          phase: ev.phase,
          startsAt: new Date(ev.startsAt).toISOString(),
          endsAt: ev.endsAt === null ? null : new Date(ev.endsAt).toISOString(),
          version: ev.envelope.aggregateVersion,
        },
      });
    }
  };
}
