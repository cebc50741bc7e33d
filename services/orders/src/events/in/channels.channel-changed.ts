import type { EventHandler, ProjectionRepository } from '@omnimall/service-kit';
import type { ChannelView } from '../../domain/checkout';

/** The channel's state (full state): whether it takes orders, its region, currencies and allowed data regions. */
export function channelChangedIn(channels: ProjectionRepository<ChannelView>): EventHandler<'channels.channel-changed'> {
  return (e, ctx) =>
    channels.project(
      ctx,
      e.code,
      {
        code: e.code,
        kind: e.kind,
        state: e.state,
        blockReasons: e.blockReasons,
        region: e.region,
        currencies: e.currencies,
        allowedDataRegions: e.allowedDataRegions,
        expectedBackAt: e.expectedBackAt,
      },
      ctx.envelope.aggregateVersion,
    );
}
