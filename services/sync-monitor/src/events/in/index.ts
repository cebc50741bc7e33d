/** The monitor's handlers of consumed topics: the ack handler, and the handler map of the envelope subscription. */
import type { TopicName } from '@omnimall/contracts';
import type { EventHandler, HandlerMap } from '@omnimall/service-kit';
import { channelChangedIn, type ChannelChangeSink } from './channels.channel-changed';
import { envelopeIn, type EnvelopeSink } from './envelope';

export { syncAppliedIn, type AckSink } from './sync.applied';
export type { ChannelChangeSink } from './channels.channel-changed';
export type { EnvelopeSink } from './envelope';

/** The handlers of the envelope subscription: one per tracked topic (a partner's own topic included). */
export function envelopeHandlers(topics: readonly string[], sink: EnvelopeSink, channels: ChannelChangeSink): HandlerMap {
  // HandlerMap pairs each topic with a handler of that topic's value type, which a map built over a
  // list of topics cannot show: the envelope handlers read only the envelope every value carries.
  const handlers: Record<string, EventHandler<TopicName>> = {};
  const tracked = envelopeIn(sink);
  const channelChanged = channelChangedIn(sink, channels) as EventHandler<TopicName>;
  for (const topic of topics) handlers[topic] = topic === 'channels.channel-changed' ? channelChanged : tracked;
  return handlers as HandlerMap;
}
