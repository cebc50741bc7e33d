import type { EventHandler } from '@omnimall/service-kit';
import { CUSTOMER_VIEW_FIELDS, viewOf, type CustomerView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets } from './ports';

/** CustomerStatusChanged carries the customer's full status: the customer gate's view of it, to the gate cache and/or the projection. */
export function customerStatusIn(targets: ProjectionTargets<CustomerView>): EventHandler<'identity.customer-status'> {
  return (e, ctx) => applyProjection(targets, ctx, e.customerId, viewOf<CustomerView>(e, CUSTOMER_VIEW_FIELDS));
}
