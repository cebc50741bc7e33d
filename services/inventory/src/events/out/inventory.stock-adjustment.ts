import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { Delta } from '../../domain/types';
import type { EventOrigin } from './origin';

/** Who made a change and why: the adjustment's provenance. */
export interface Provenance {
  operation: string;
  reason: string;
  actor: string;
  actorKind: 'staff' | 'customer' | 'partner' | 'system' | 'service';
  reference: string | null;
  channel: string | null;
}

/** One stock change as an append-only adjustment: its deltas per location and bucket, keyed by SKU. */
export function stockAdjusted(
  sku: string,
  sellerId: string | null,
  version: number,
  deltas: readonly Delta[],
  p: Provenance,
  origin: EventOrigin,
): OutgoingEvent<'inventory.stock-adjustment'> {
  return newEvent(
    'inventory.stock-adjustment',
    {
      type: `stock.${p.operation}`,
      producer: 'inventory',
      aggregateId: sku,
      aggregateVersion: version,
      sourceChannel: origin.sourceChannel ?? p.channel,
      correlationId: origin.correlationId,
    },
    {
      sku,
      sellerId,
      operation: p.operation,
      deltas: deltas.map((d) => ({ location: d.location, bucket: d.bucket, delta: d.delta, after: d.after })),
      reason: p.reason,
      actor: p.actor,
      actorKind: p.actorKind,
      reference: p.reference,
      channel: p.channel,
    },
  );
}
