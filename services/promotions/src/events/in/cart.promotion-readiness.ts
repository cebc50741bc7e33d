import type { EventHandler } from '@omnimall/service-kit';
import type { DefinitionService } from '../../application/definitions';

/** cart.promotion-readiness → per-channel readiness of the promotion's current version (older versions ignored). */
export function readinessIn(definitions: Pick<DefinitionService, 'readiness'>): EventHandler<'cart.promotion-readiness'> {
  return async (e) => {
    await definitions.readiness(
      e.promotionId,
      e.version,
      e.channels.map((c) => ({ channel: c.channel, state: c.state, reason: c.reason ?? null })),
    );
  };
}
