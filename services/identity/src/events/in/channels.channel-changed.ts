import type { EventHandler } from '@omnimall/service-kit';
import type { ChannelRuleRepository } from '../../store/channel-rules';

/**
 * channels.channel-changed → the channel's data-residency rule. The event carries the channel's full
 * state, so the projection keeps only the newest: an event older than the stored version, or one
 * already applied, changes nothing (effect-once, newest `aggregateVersion` wins).
 */
export function channelChangedIn(rules: Pick<ChannelRuleRepository, 'applyChannelChange'>): EventHandler<'channels.channel-changed'> {
  return async (value, ctx) => {
    ctx.channel = value.code;
    await rules.applyChannelChange(ctx, {
      _id: value.code,
      allowedDataRegions: value.allowedDataRegions,
      state: value.state,
      version: value.envelope.aggregateVersion,
    });
  };
}
