import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { PromotionRecord } from '../../domain/promotions';
import type { EventOrigin } from './origin';

/** The full state a channel prices the promotion with (compacted by promotion id). */
export function definitionEvent(r: PromotionRecord, origin: EventOrigin): OutgoingEvent<'promotions.definition'> {
  const d = r.definition;
  return newEvent(
    'promotions.definition',
    {
      type: 'promotion.definition',
      producer: 'promotions',
      aggregateId: r.id,
      aggregateVersion: r.version,
      correlationId: origin.correlationId,
    },
    {
      promotionId: r.id,
      version: r.version,
      name: d.name,
      rule: JSON.stringify(d),
      startsAt: d.startsAt,
      endsAt: d.endsAt,
      channels: d.channels,
      overrides: r.overrides.map((o) => ({
        channel: o.channel,
        excluded: o.excluded,
        reward: o.reward === null ? null : JSON.stringify(o.reward),
        startsAt: o.startsAt,
        endsAt: o.endsAt,
        until: o.until,
      })),
      exhausted: r.exhausted,
      withdrawn: r.status === 'withdrawn',
    },
  );
}
