/** identity.customer-status → an erased customer is forgotten from the channel activity projection. */
import type { RecentActivity } from '../../domain/activity';
import type { ChannelCustomerRepository } from '../../store';
import type { Handler } from '../ports';

export function customerStatusHandler(customers: ChannelCustomerRepository, recent: RecentActivity): Handler<'identity.customer-status'> {
  return async (ev, ctx) => {
    if (ev.status !== 'erased') return ctx.skip();
    await customers.forgetCustomer(ev.customerId);
    recent.forgetCustomer(ev.customerId);
  };
}
