/**
 * catalog.local-item → which sellers have a listed item on which channel (for maintenance and sunset
 * notices). One document per item (`<channel>:<sku>`, the event's aggregate id) holding its latest
 * state: the write applies only over an older aggregateVersion (or none), so a replayed or late
 * older event changes nothing and is acknowledged as a duplicate. A withdrawn item keeps its
 * document (status `withdrawn`) for the same reason: deleting it would let a late `listed` event back in.
 */
import type { SellerListingRepository } from '../../store';
import type { Handler } from '../ports';

export function localItemHandler(listings: SellerListingRepository): Handler<'catalog.local-item'> {
  return async (ev, ctx) => {
    ctx.channel = ev.channel;
    await listings.apply(ctx, {
      _id: `${ev.channel}:${ev.sku}`,
      channel: ev.channel,
      sku: ev.sku,
      sellerId: ev.sellerId,
      status: ev.status,
      aggregateVersion: ctx.envelope.aggregateVersion,
      updatedAt: new Date(ctx.envelope.occurredAt),
    });
  };
}
