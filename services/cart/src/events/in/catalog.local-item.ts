import type { EventHandler } from '@omnimall/service-kit';
import { ITEM_VIEW_FIELDS, itemId, viewOf, type ItemView } from '../../domain/trading';
import { applyProjection, type ProjectionTargets } from './ports';

/** LocalItemChanged carries a channel's full listing of an SKU: the item gate's and pricing's view of it, to the gate cache and/or the projection. */
export function localItemIn(targets: ProjectionTargets<ItemView>): EventHandler<'catalog.local-item'> {
  return (e, ctx) => {
    ctx.channel = e.channel;
    return applyProjection(targets, ctx, itemId(e.channel, e.sku), viewOf<ItemView>(e, ITEM_VIEW_FIELDS));
  };
}
