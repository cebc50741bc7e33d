/**
 * channels.channel-changed (our own topic) → notifications for maintenance, sunset and blocks, and
 * the change itself delivered to endpoints subscribed to channel.changed. Reacting to the committed
 * event rather than inside the HTTP request means a crash between the two loses nothing.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { NotificationService } from '../application/notification-service';
import type { WebhookDelivery } from '../delivery/webhook-delivery';

export function channelChangedHandler(notifications: NotificationService, delivery: WebhookDelivery) {
  return async (ev: TopicValues['channels.channel-changed'], ctx: EventContext): Promise<void> => {
    ctx.channel = ev.code;
    await notifications.onChannelChanged(ev);
    const { envelope, ...state } = ev;
    await delivery.enqueue({
      eventType: 'channel.changed',
      sourceEventId: envelope.eventId,
      occurredAt: envelope.occurredAt,
      channel: ev.code,
      data: { ...state, version: envelope.aggregateVersion },
    });
  };
}
