/**
 * A customer's erasure (identity.data-request, kind erasure) in channels' copies:
 *
 * 1. every partner channel that mapped one of its ids to the customer gets, per partner customer
 *    id, a `customer.erased` delivery on the partner delivery path (to every active endpoint of the
 *    channel, subscribed or not), naming the partner's own id, so the partner erases too; the id
 *    travels in the delivery's sealed part only (encrypted at rest, dropped when the delivery ends);
 * 2. pending deliveries whose secret part names the customer (a password reset) end as failed
 *    (`customer_erased`): an erased account gets no reset token;
 * 3. every stored delivery body naming the customer has its id replaced by the pseudonym, and its
 *    sealed part dropped; notifications have the customer replaced among their recipients;
 * 4. the partner id mappings of the customer and its channel activity are removed.
 *
 * Guarantees: the notices are queued before the mappings they come from are removed, so a pass
 * interrupted anywhere and run again (the consumer retries; ids and pseudonyms derive from the
 * request) sends every notice once and finishes the rest. A delivery body is rewritten under the
 * delivery's lock, so it never races the worker posting it.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { DocumentLocks } from '@omnimall/service-kit';
import type { RecentActivity } from '../domain/activity';
import type { DeliverableEvent } from '../domain/delivery';
import { CUSTOMER_ERASED, CUSTOMER_ERASED_ERROR, erasureNoticeId, pseudonymFor, pseudonymiseBody } from '../domain/erasure';
import type { ChannelCustomerRepository, DeliveryRepository, NotificationRepository, PartnerIdRepository } from '../store';

export interface ErasureStores {
  partnerIds: PartnerIdRepository;
  deliveries: DeliveryRepository;
  notifications: NotificationRepository;
  channelCustomers: ChannelCustomerRepository;
}

/** What an erasure did (for the log and tests). */
export interface ErasureOutcome {
  /** Erasure notices queued (one per partner customer id and active endpoint). */
  notices: number;
  /** Partner customer ids whose channel had no active endpoint to notify. */
  unnotified: Array<{ channel: string }>;
  deliveries: number;
  notifications: number;
  mappings: number;
}

export class CustomerErasure {
  constructor(
    private readonly store: ErasureStores,
    private readonly delivery: { enqueue(ev: DeliverableEvent): Promise<number>; end(id: string, error: string): Promise<void> },
    private readonly locks: Pick<DocumentLocks, 'run'>,
    private readonly recent: Pick<RecentActivity, 'forgetCustomer'>,
    private readonly deliveryKey: Buffer,
  ) {}

  async erase(ev: TopicValues['identity.data-request']): Promise<ErasureOutcome> {
    const { customerId, requestId } = ev;
    const pseudonym = pseudonymFor(requestId);
    const outcome: ErasureOutcome = { notices: 0, unnotified: [], deliveries: 0, notifications: 0, mappings: 0 };

    for (const { channel, partnerCustomerId } of await this.store.partnerIds.customerMappingsOf(customerId)) {
      const queued = await this.delivery.enqueue({
        eventType: CUSTOMER_ERASED,
        sourceEventId: erasureNoticeId(this.deliveryKey, requestId, channel, partnerCustomerId),
        occurredAt: ev.completedAt,
        channel,
        data: { requestId, erasedAt: new Date(ev.completedAt).toISOString() },
        sealedData: { partnerCustomerId },
      });
      outcome.notices += queued;
      if (!queued) outcome.unnotified.push({ channel });
    }

    for (const d of await this.store.deliveries.namingSubject(customerId)) {
      if (d.status === 'pending' && d.sealed) await this.delivery.end(d._id, CUSTOMER_ERASED_ERROR);
      await this.locks.run(this.store.deliveries.lockKey(d._id), async () => {
        const cur = await this.store.deliveries.get(d._id);
        if (!cur) return; // pruned meanwhile
        await this.store.deliveries.pseudonymise(d._id, {
          body: pseudonymiseBody(cur.body, customerId, pseudonym),
          subjects: (cur.subjects ?? []).map((s) => (s === customerId ? pseudonym : s)),
        });
      });
      outcome.deliveries++;
    }

    for (const id of await this.store.notifications.namingRecipient(customerId)) {
      await this.store.notifications.replaceRecipient(id, customerId, pseudonym);
      outcome.notifications++;
    }

    outcome.mappings = await this.store.partnerIds.forgetCustomer(customerId);
    await this.store.channelCustomers.forgetCustomer(customerId);
    this.recent.forgetCustomer(customerId);
    return outcome;
  }
}
