import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Availability } from '../../domain/types';
import type { EventOrigin } from './origin';

/** A channel's new availability of one SKU, keyed `<channel>:<sku>`; the version is the stock's after the change. */
export function stockLevelChanged(
  a: Availability,
  sellerId: string | null,
  version: number,
  origin: EventOrigin,
): OutgoingEvent<'inventory.stock-level'> {
  return newEvent(
    'inventory.stock-level',
    {
      type: `stock.${a.state}`,
      producer: 'inventory',
      aggregateId: `${a.channel}:${a.sku}`,
      aggregateVersion: version,
      sourceChannel: origin.sourceChannel ?? null,
      correlationId: origin.correlationId,
    },
    { channel: a.channel, sku: a.sku, availableQuantity: a.available, status: a.state, location: null, rule: a.rule, sellerId },
  );
}
