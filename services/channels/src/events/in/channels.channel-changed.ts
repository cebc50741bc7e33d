/**
 * channels.channel-changed (our own topic) → notifications for maintenance, sunset and blocks, and
 * the change itself delivered to endpoints subscribed to channel.changed. Reacting to the committed
 * event rather than inside the HTTP request means a crash between the two loses nothing.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { DeliveryQueue, Handler } from '../ports';

export interface ChannelChangeNotifier {
  onChannelChanged(ev: TopicValues['channels.channel-changed']): Promise<unknown>;
}

export function channelChangedHandler(notifications: ChannelChangeNotifier, delivery: DeliveryQueue): Handler<'channels.channel-changed'> {
  return async (ev, ctx) => {
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
