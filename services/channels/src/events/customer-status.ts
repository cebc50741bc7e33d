/** identity.customer-status → an erased customer is forgotten from the channel activity projection. */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { RecentActivity } from '../domain/activity';
import type { Store } from '../store/models';

export function customerStatusHandler(store: Store, recent: RecentActivity) {
  return async (ev: TopicValues['identity.customer-status'], ctx: EventContext): Promise<void> => {
    if (ev.status !== 'erased') return ctx.skip();
    await store.channelCustomers.deleteMany({ customerId: ev.customerId });
    recent.forgetCustomer(ev.customerId);
  };
}
