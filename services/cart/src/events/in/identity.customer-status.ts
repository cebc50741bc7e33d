import type { EventHandler } from '@omnimall/service-kit';
import { standingClosure } from '../../domain/streams';
import { CUSTOMER_VIEW_FIELDS, viewOf, type CustomerView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets, type SessionCloser } from './ports';

/** CustomerStatusChanged carries the customer's full status: the customer gate's view of it, to the gate cache and/or the projection. */
export function customerStatusIn(targets: ProjectionTargets<CustomerView>): EventHandler<'identity.customer-status'> {
  return (e, ctx) => applyProjection(targets, ctx, e.customerId, viewOf<CustomerView>(e, CUSTOMER_VIEW_FIELDS));
}

/**
 * This instance's live streams of a customer end when the customer may no longer trade (banned,
 * suspended, erased), with the gate's code as the final event; consumed by every instance (the push
 * group), since each holds its own streams.
 */
export function customerStandingToStreamsIn(sessions: SessionCloser): EventHandler<'identity.customer-status'> {
  return async (e) => {
    const closure = standingClosure(viewOf<CustomerView>(e, CUSTOMER_VIEW_FIELDS));
    if (closure) sessions.closeCustomer(e.customerId, closure);
  };
}
