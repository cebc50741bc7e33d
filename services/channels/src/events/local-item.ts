/**
 * catalog.local-item → which sellers have a listed item on which channel (for maintenance and sunset
 * notices). One document per item (`<channel>:<sku>`, the event's aggregate id) holding its latest
 * state: the update matches only a document at an older aggregateVersion (or none), so a replayed or
 * late older event changes nothing and is acknowledged as a duplicate. A withdrawn item keeps its
 * document (status `withdrawn`) for the same reason: deleting it would let a late `listed` event back in.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { SellerListingDoc, Store } from '../store/models';

export function localItemHandler(store: Store) {
  return async (ev: TopicValues['catalog.local-item'], ctx: EventContext): Promise<void> => {
    ctx.channel = ev.channel;
    const version = ctx.envelope.aggregateVersion;
    const listing: Omit<SellerListingDoc, '_id' | 'appliedEvents'> = {
      channel: ev.channel,
      sku: ev.sku,
      sellerId: ev.sellerId,
      status: ev.status,
      aggregateVersion: version,
      updatedAt: new Date(ctx.envelope.occurredAt),
    };
    await ctx.applyOnce(
      store.sellerListings,
      { _id: `${ev.channel}:${ev.sku}`, aggregateVersion: { $lt: version } },
      { $set: listing },
      { upsert: true },
    );
  };
}
