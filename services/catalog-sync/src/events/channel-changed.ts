import type { ChannelChanged } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import { repropagateChannel } from '../application/commands';
import type { CatalogContext } from '../application/context';

/**
 * channels.channel-changed → the `channels` projection (code, state, market, currencies, languages,
 * master channel), kept at the latest aggregateVersion. A change that alters what local items look
 * like (currencies, market, languages, master channel, an open/closed state) re-propagates the
 * products assigned to the channel or to its master channel.
 */
const CLOSED = new Set(['offboarding', 'retired']);

export function channelChangedHandler(ctx: CatalogContext) {
  return async (e: ChannelChanged, ev: EventContext): Promise<void> => {
    ev.channel = e.code;
    const before = await ctx.m.Channel.findById(e.code).lean();
    if (before && before.version >= e.envelope.aggregateVersion) {
      ev.skip();
      return;
    }
    const applied = await ev.applyOnce(
      ctx.m.Channel,
      { _id: e.code, version: { $lt: e.envelope.aggregateVersion } },
      {
        $set: {
          version: e.envelope.aggregateVersion,
          name: e.name,
          state: e.state,
          region: e.region,
          country: e.country,
          currencies: e.currencies,
          languages: e.languages,
          masterChannel: e.masterChannel,
        },
      },
      { upsert: true },
    );
    if (!applied) return;
    ctx.invalidateChannels();
    // A new channel has no assignments of its own yet; as a dependent it inherits its master's.
    const relevant = !before
      ? e.masterChannel !== null
      : before.region !== e.region ||
        before.country !== e.country ||
        before.masterChannel !== e.masterChannel ||
        before.currencies.join() !== e.currencies.join() ||
        before.languages.join() !== e.languages.join() ||
        CLOSED.has(before.state) !== CLOSED.has(e.state);
    if (relevant) await repropagateChannel(ctx, e.code);
  };
}
