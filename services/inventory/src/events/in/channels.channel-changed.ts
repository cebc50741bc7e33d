import type { EventHandler } from '@omnimall/service-kit';
import type { Configuration } from '../../application/configuration';
import type { ConfigRepository } from '../../store';

/**
 * channels.channel-changed → the channel's state and master channel (its stock source when it has no
 * locations of its own); a change of either is re-applied to every SKU's availability.
 */
export function channelChangedIn(
  config: Pick<ConfigRepository, 'channel' | 'projectChannel'>,
  configuration: Pick<Configuration, 'changed'>,
): EventHandler<'channels.channel-changed'> {
  return async (e, ctx) => {
    ctx.channel = e.code;
    const before = await config.channel(e.code);
    await config.projectChannel(ctx, { code: e.code, state: e.state, masterChannel: e.masterChannel ?? null }, e.envelope.aggregateVersion);
    if (!before || before.state !== e.state || before.masterChannel !== (e.masterChannel ?? null))
      configuration.changed({ correlationId: e.envelope.correlationId });
  };
}
