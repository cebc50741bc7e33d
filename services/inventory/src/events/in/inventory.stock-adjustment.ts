import type { EventHandler } from '@omnimall/service-kit';
import type { AdjustmentRepository } from '../../store';

/** inventory.stock-adjustment → the append-only history (keyed by event id: a replay appends nothing). */
export function adjustmentIn(adjustments: Pick<AdjustmentRepository, 'append'>): EventHandler<'inventory.stock-adjustment'> {
  return async (e, ctx) => {
    const added = await adjustments.append({
      id: e.envelope.eventId,
      sku: e.sku,
      sellerId: e.sellerId ?? null,
      operation: e.operation,
      deltas: e.deltas.map((d) => ({ location: d.location, bucket: d.bucket, delta: d.delta, after: d.after })),
      reason: e.reason,
      actor: e.actor,
      actorKind: e.actorKind,
      reference: e.reference ?? null,
      channel: e.channel ?? null,
      version: e.envelope.aggregateVersion,
      at: e.envelope.occurredAt,
    });
    if (!added) ctx.skip();
  };
}
