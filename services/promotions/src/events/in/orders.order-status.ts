import type { EventHandler } from '@omnimall/service-kit';
import type { LoyaltyService } from '../../application/loyalty';

/**
 * orders.order-status → loyalty: `paid` earns on the order's total (once per order: the ledger keeps
 * the order id), `cancelled` and `returned` take the earn back and give the order's usage hold back.
 * Effect-once by the group's inbox and by the ledger's own marks (a replay earns nothing more).
 */
export function orderStatusIn(loyalty: LoyaltyService): EventHandler<'orders.order-status'> {
  return async (o, ctx) => {
    ctx.channel = o.channel;
    await loyalty.orderStatus(
      {
        orderId: o.orderId,
        customerId: o.customerId,
        channel: o.channel,
        status: o.status,
        occurredAt: o.occurredAt,
        totalMinor: o.totalMinor,
        promotionIds: o.promotionIds,
        usageHoldId: o.usageHoldId,
      },
      { correlationId: o.envelope.correlationId, sourceChannel: o.channel },
    );
  };
}
