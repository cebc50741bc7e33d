import type { StockLevelChanged } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import { itemIdOf } from '../../domain/catalog';
import type { StockRepository } from '../../store';

/**
 * inventory.stock-level → the `stocklevels` projection beside the local items (`<channel>:<sku>`),
 * kept at the latest aggregateVersion (effect-once: the write carries the event's mark). The items'
 * views show it; the listing itself (status, prices) does not depend on stock. A level of one
 * location (not the channel's total) is not the catalogue's: skipped (acknowledged
 * `skipped_duplicate`, as a replay would be: nothing is written for it).
 */
export function stockLevelIn(stock: Pick<StockRepository, 'applyChange'>) {
  return async (e: StockLevelChanged, ev: EventContext): Promise<void> => {
    ev.channel = e.channel;
    if (e.location !== null) return ev.skip();
    await stock.applyChange(ev, {
      _id: itemIdOf(e.channel, e.sku),
      channel: e.channel,
      sku: e.sku,
      version: e.envelope.aggregateVersion,
      available: e.availableQuantity,
      state: e.status,
      rule: e.rule,
    });
  };
}
