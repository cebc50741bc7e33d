import type { EventHandler } from '@omnimall/service-kit';
import type { ChannelRepository } from '../../store';

/** channels.channel-changed → the channels projection (code, kind, state): the targets of promotions for every channel. */
export function channelChangedIn(channels: Pick<ChannelRepository, 'project'>): EventHandler<'channels.channel-changed'> {
  return async (e, ctx) => {
    ctx.channel = e.code;
    await channels.project(ctx, { code: e.code, kind: e.kind, state: e.state }, e.envelope.aggregateVersion);
  };
}
