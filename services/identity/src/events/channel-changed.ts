import type { EventHandler } from '@omnimall/service-kit';
import type { ChannelRuleDoc } from '../store/models';
import type { Model } from 'mongoose';

/**
 * channels.channel-changed → the channel's data-residency rule. The event carries the channel's full
 * state, so the projection keeps only the newest: the filter matches a stored version older than the
 * event's (or no document); an older or replayed event matches nothing and is skipped.
 */
export function onChannelChanged(ChannelRule: Model<ChannelRuleDoc>): EventHandler<'channels.channel-changed'> {
  return async (value, ctx) => {
    const version = value.envelope.aggregateVersion;
    ctx.channel = value.code;
    await ctx.applyOnce(
      ChannelRule,
      { _id: value.code, version: { $lt: version } },
      { $set: { allowedDataRegions: value.allowedDataRegions, state: value.state, version } },
      { upsert: true },
    );
  };
}
