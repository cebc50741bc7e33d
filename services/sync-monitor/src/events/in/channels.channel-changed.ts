/**
 * channels.channel-changed: tracked like every business topic, and projected into the channel's
 * status (and its feed) whether or not this instance tracks the event itself.
 */
import type { ChannelChanged } from '@omnimall/contracts';
import type { EventHandler } from '@omnimall/service-kit';
import { trackEnvelope, type EnvelopeSink } from './envelope';

export interface ChannelChangeSink {
  /** Applies the change if it is newer than the stored status. */
  apply(v: ChannelChanged): Promise<boolean>;
}

export function channelChangedIn(sink: EnvelopeSink, channels: ChannelChangeSink): EventHandler<'channels.channel-changed'> {
  return async (v, ctx) => {
    await trackEnvelope(sink, v, ctx);
    await channels.apply(v); // newer versions only: a copy changes nothing
  };
}
