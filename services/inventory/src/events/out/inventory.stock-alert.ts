import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Availability } from '../../domain/types';
import type { EventOrigin } from './origin';

export type AlertLevel = 'low_stock' | 'out_of_stock' | 'recovered';

/** A low-stock or out-of-stock alert (or its recovery) for the seller and the channel's managers. */
export function stockAlert(
  a: Availability,
  level: AlertLevel,
  sellerId: string | null,
  version: number,
  origin: EventOrigin,
): OutgoingEvent<'inventory.stock-alert'> {
  return newEvent(
    'inventory.stock-alert',
    {
      type: `stock.alert_${level}`,
      producer: 'inventory',
      aggregateId: `${a.channel}:${a.sku}`,
      aggregateVersion: version,
      sourceChannel: origin.sourceChannel ?? null,
      correlationId: origin.correlationId,
    },
    { channel: a.channel, sku: a.sku, sellerId, level, available: a.available, threshold: a.explanation.thresholds.lowStock },
  );
}
