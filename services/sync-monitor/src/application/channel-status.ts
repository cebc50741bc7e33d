/** The latest state of every channel (by aggregateVersion), and the feed entries its changes cause. */
import type { ChannelChanged } from '@omnimall/contracts';
import { channelStatusOf, feedEntryForChannelChange } from '../domain/status-feed';
import type { ChannelChangeSink } from '../events/in';
import type { Store } from '../store';

export class ChannelStatusProjection implements ChannelChangeSink {
  constructor(private readonly store: Pick<Store, 'channels' | 'feed'>) {}

  async apply(v: ChannelChanged): Promise<boolean> {
    const { written, before } = await this.store.channels.replaceIfNewer(channelStatusOf(v));
    if (!written) return false;
    const entry = feedEntryForChannelChange(before, v);
    if (entry) await this.store.feed.addOnce([entry]);
    return true;
  }
}
