import type { EventHandler } from '@omnimall/service-kit';
import { CHANNEL_VIEW_FIELDS, viewOf, type ChannelView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets } from './ports';

/** ChannelChanged carries the channel's full state: the channel gate's and pricing's view of it, to the gate cache and/or the projection. */
export function channelChangedIn(targets: ProjectionTargets<ChannelView>): EventHandler<'channels.channel-changed'> {
  return (e, ctx) => {
    ctx.channel = e.code;
    return applyProjection(targets, ctx, e.code, viewOf<ChannelView>(e, CHANNEL_VIEW_FIELDS));
  };
}
