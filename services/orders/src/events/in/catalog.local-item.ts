import type { EventHandler, ProjectionRepository } from '@omnimall/service-kit';
import type { ItemView } from '../../domain/checkout';

/** A channel's listing of an SKU (full state, keyed `<channel>:<sku>`): the price and tax the order charges there. */
export function localItemIn(items: ProjectionRepository<ItemView>): EventHandler<'catalog.local-item'> {
  return (e, ctx) =>
    items.project(
      ctx,
      `${e.channel}:${e.sku}`,
      {
        status: e.status,
        title: e.title,
        priceMinor: e.priceMinor,
        currency: e.currency,
        taxInclusive: e.taxInclusive,
        barredRegions: e.barredRegions,
      },
      ctx.envelope.aggregateVersion,
    );
}
