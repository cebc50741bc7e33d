import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { ChannelReadinessView } from '../../domain/promotions';
import type { EventOrigin } from './cart.cart-changed';

/** PromotionReadiness: whether each channel a promotion version targets can price it (key = promotion id). */
export function promotionReadiness(
  promotionId: string,
  version: number,
  channels: ChannelReadinessView[],
  origin: EventOrigin,
): OutgoingEvent<'cart.promotion-readiness'> {
  return newEvent(
    'cart.promotion-readiness',
    {
      type: 'promotion.readiness',
      producer: 'cart',
      aggregateId: promotionId,
      aggregateVersion: version,
      correlationId: origin.correlationId,
    },
    { promotionId, version, channels: channels.map((c) => ({ channel: c.channel, state: c.state, reason: c.reason })) },
  );
}
