import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Ledger, TierChange } from '../../domain/loyalty';
import type { EventOrigin } from './origin';

/** A customer's tier changed (an upgrade on earning, a downgrade at a period's end); identity applies it. */
export function tierChanged(l: Ledger, c: TierChange, origin: EventOrigin): OutgoingEvent<'promotions.tier-changed'> {
  return newEvent(
    'promotions.tier-changed',
    {
      type: `tier.${c.reason}`,
      producer: 'promotions',
      aggregateId: c.customerId,
      aggregateVersion: l.version,
      sourceChannel: origin.sourceChannel ?? null,
      correlationId: origin.correlationId,
    },
    { customerId: c.customerId, tier: c.tier, previousTier: c.previousTier, reason: c.reason, qualifyingPoints: c.qualifyingPoints },
  );
}
