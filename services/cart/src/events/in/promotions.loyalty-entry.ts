import type { EventHandler } from '@omnimall/service-kit';
import { LOYALTY_VIEW_FIELDS, viewOf, type LoyaltyView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets } from './ports';

/** LoyaltyEntry carries the balance, held points and tier after the entry: the customer's loyalty projection, latest version kept. */
export function loyaltyEntryIn(targets: ProjectionTargets<LoyaltyView>): EventHandler<'promotions.loyalty-entry'> {
  return (e, ctx) => applyProjection(targets, ctx, e.customerId, viewOf<LoyaltyView>(e, LOYALTY_VIEW_FIELDS));
}
