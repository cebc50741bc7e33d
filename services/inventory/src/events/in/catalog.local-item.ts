import type { EventHandler } from '@omnimall/service-kit';
import type { ConfigRepository } from '../../store';

/** catalog.local-item → who sells a SKU (sellers change only their own SKUs' stock) and where it is listed. */
export function localItemIn(config: Pick<ConfigRepository, 'projectSku'>): EventHandler<'catalog.local-item'> {
  return async (e, ctx) => {
    ctx.channel = e.channel;
    await config.projectSku(ctx, e.sku, e.sellerId ?? null, e.channel);
  };
}
