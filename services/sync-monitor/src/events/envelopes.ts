import type { TopicName } from '@omnimall/contracts';
import type { EventHandler, HandlerMap } from '@omnimall/service-kit';
import type { ChannelStatus } from '../application/channel-status';
import type { Tracker } from '../application/tracker';

/**
 * One handler for the envelope of every tracked business topic (only the envelope matters), plus
 * the channel status projection for channels.channel-changed.
 */
export function envelopeHandlers(topics: readonly string[], tracker: Tracker, channels: ChannelStatus): HandlerMap {
  const handlers: HandlerMap = {};
  for (const topic of topics) {
    const handler: EventHandler<TopicName> = async (value, ctx) => {
      const tracked = tracker.onEnvelope(ctx.topic, value.envelope, ctx.record);
      if (topic === 'channels.channel-changed') await channels.apply(value as never);
      else if (!tracked) ctx.skip();
    };
    (handlers as Record<string, EventHandler<TopicName>>)[topic] = handler;
  }
  return handlers;
}
