import type { EventHandler, ProjectionRepository } from '@omnimall/service-kit';
import type { CustomerView } from '../../domain/checkout';

/** The customer's standing, tier and data region (full state): the checkout's customer check and pricing. */
export function customerStatusIn(customers: ProjectionRepository<CustomerView>): EventHandler<'identity.customer-status'> {
  return (e, ctx) =>
    customers.project(
      ctx,
      e.customerId,
      { status: e.status, until: e.until, loyaltyTier: e.loyaltyTier, dataRegion: e.dataRegion },
      ctx.envelope.aggregateVersion,
    );
}
