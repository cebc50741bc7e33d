/** The monitor's handlers of consumed topics: the ack handler, and the handler map of the envelope subscription. */
import type { TopicName } from '@omnimall/contracts';
import type { EventHandler, HandlerMap } from '@omnimall/service-kit';
import { channelChangedIn, type ChannelChangeSink } from './channels.channel-changed';
import { envelopeIn, type EnvelopeSink } from './envelope';
import { dataRequestIn, type ErasureSink } from './identity.data-request';
import { promotionLifecycleIn, type NotReadySink } from './promotions.promotion-lifecycle';

export { syncAppliedIn, type AckSink } from './sync.applied';
export { jobProgressIn, type JobProgressSink } from './platform.job-progress';
export type { ChannelChangeSink } from './channels.channel-changed';
export type { Delivery, EnvelopeOutcome, EnvelopeSink } from './envelope';
export type { ErasureSink } from './identity.data-request';
export type { NotReadySink } from './promotions.promotion-lifecycle';

/**
 * The handlers of the envelope subscription: one per tracked topic (a partner's own topic included);
 * channel changes also feed the channel status, data requests also erase, a promotion's start with
 * channels not ready for it escalates each.
 */
export function envelopeHandlers(
  topics: readonly string[],
  sink: EnvelopeSink,
  channels: ChannelChangeSink,
  erasure: ErasureSink,
  notReady: NotReadySink,
): HandlerMap {
  // HandlerMap pairs each topic with a handler of that topic's value type, which a map built over a
  // list of topics cannot show: the envelope handlers read only the envelope every value carries.
  const handlers: Record<string, EventHandler<TopicName>> = {};
  const tracked = envelopeIn(sink);
  const channelChanged = channelChangedIn(sink, channels) as EventHandler<TopicName>;
  const own: Record<string, EventHandler<TopicName>> = {
    'channels.channel-changed': channelChanged,
    'identity.data-request': dataRequestIn(sink, erasure) as EventHandler<TopicName>,
    'promotions.promotion-lifecycle': promotionLifecycleIn(sink, notReady) as EventHandler<TopicName>,
  };
  for (const topic of topics) handlers[topic] = own[topic] ?? tracked;
  return handlers as HandlerMap;
}
