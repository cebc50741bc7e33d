import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Ledger, LedgerEntry } from '../../domain/loyalty';
import type { EventOrigin } from './origin';

/** One ledger entry with the balance (points owned, held ones included) and held points after it, and the tier. */
export function loyaltyEntry(l: Ledger, e: LedgerEntry, origin: EventOrigin): OutgoingEvent<'promotions.loyalty-entry'> {
  return newEvent(
    'promotions.loyalty-entry',
    {
      type: `loyalty.${e.kind}`,
      producer: 'promotions',
      aggregateId: l.customerId,
      aggregateVersion: l.version,
      sourceChannel: origin.sourceChannel ?? e.channel,
      correlationId: origin.correlationId,
    },
    {
      customerId: l.customerId,
      entryId: e.id,
      kind: e.kind,
      points: e.points,
      balance: e.balance,
      held: e.held,
      tier: l.tier,
      source: e.source,
      channel: e.channel,
    },
  );
}
