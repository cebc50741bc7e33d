import type { EventHandler } from '@omnimall/service-kit';
import { itemId, type StockView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets } from './ports';

/**
 * StockLevelChanged carries what a channel may sell of an SKU (full state): the stock the cart view
 * shows on that channel's lines. A level of one location (not the channel's total) is not the cart's:
 * skipped (acknowledged `skipped_duplicate`, as a replay would be: nothing is written for it).
 */
export function stockLevelIn(targets: ProjectionTargets<StockView>): EventHandler<'inventory.stock-level'> {
  return async (e, ctx) => {
    ctx.channel = e.channel;
    if (e.location !== null) return ctx.skip();
    await applyProjection(targets, ctx, itemId(e.channel, e.sku), { available: e.availableQuantity, state: e.status, rule: e.rule });
  };
}
