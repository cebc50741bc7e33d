import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { skusOf, type Phase, type PromotionRecord } from '../../domain/promotions';
import type { EventOrigin } from './origin';

/** A phase of the promotion at its own instant; `channels` the targets, `notReady` at start. */
export function lifecycleEvent(
  r: PromotionRecord,
  phase: Phase,
  channels: readonly string[],
  notReady: readonly string[],
  origin: EventOrigin,
): OutgoingEvent<'promotions.promotion-lifecycle'> {
  return newEvent(
    'promotions.promotion-lifecycle',
    {
      type: `promotion.${phase}`,
      producer: 'promotions',
      aggregateId: r.id,
      aggregateVersion: r.version,
      correlationId: origin.correlationId,
    },
    {
      promotionId: r.id,
      name: r.definition.name,
      phase,
      channels: [...channels],
      startsAt: r.definition.startsAt,
      endsAt: r.definition.endsAt,
      version: r.version,
      notReady: phase === 'started' ? [...notReady] : [],
      skus: skusOf(r.definition.condition),
    },
  );
}
