import type { ChannelChanged } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import { CLOSED_STATES } from '../../domain/catalog';
import type { KnownChannel } from '../../domain/records';
import type { ChannelRepository } from '../../store';

/**
 * channels.channel-changed → the `channels` projection (code, state, market, currencies, languages,
 * master channel), kept at the latest aggregateVersion (effect-once: the projection write carries
 * the event's mark). A change that alters what local items look like (currencies, market, languages,
 * master channel, an open/closed state) re-propagates the products assigned to the channel or to
 * its master channel.
 */
export interface ChannelChangedDeps {
  channels: Pick<ChannelRepository, 'byId' | 'applyChange'>;
  /** Re-propagates every product assigned to the channel or to its master channel. */
  repropagate(code: string): Promise<unknown>;
}

export function channelChangedIn({ channels, repropagate }: ChannelChangedDeps) {
  return async (e: ChannelChanged, ev: EventContext): Promise<void> => {
    ev.channel = e.code;
    const before = await channels.byId(e.code);
    if (before && before.version >= e.envelope.aggregateVersion) {
      ev.skip();
      return;
    }
    const next: KnownChannel = {
      _id: e.code,
      version: e.envelope.aggregateVersion,
      name: e.name,
      state: e.state,
      region: e.region,
      country: e.country,
      currencies: e.currencies,
      languages: e.languages,
      masterChannel: e.masterChannel,
    };
    if (!(await channels.applyChange(ev, next))) return;
    // A new channel has no assignments of its own yet; as a dependent it inherits its master's.
    const relevant = !before
      ? e.masterChannel !== null
      : before.region !== e.region ||
        before.country !== e.country ||
        before.masterChannel !== e.masterChannel ||
        before.currencies.join() !== e.currencies.join() ||
        before.languages.join() !== e.languages.join() ||
        CLOSED_STATES.has(before.state) !== CLOSED_STATES.has(e.state);
    if (relevant) await repropagate(e.code);
  };
}
