import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import type { LocalItem } from '../../domain/records';
import { PRODUCER } from './common';

/**
 * catalog.local-item (key `<channel>:<sku>`, consumed by cart): the full state of a local item,
 * listed (with its primary-currency shelf price) or withdrawn.
 */
export function localItemEvent(item: LocalItem, correlationId?: string): OutgoingEvent {
  const price = item.primaryCurrency ? item.shown.price[item.primaryCurrency] : undefined;
  return newEvent(
    'catalog.local-item',
    {
      type: `catalog.local-item.${item.status}`,
      producer: PRODUCER,
      aggregateId: item._id,
      aggregateVersion: item.version,
      sourceChannel: item.channel,
      correlationId,
    },
    {
      channel: item.channel,
      sku: item.sku,
      productId: item.productId,
      status: item.status,
      title: item.shown.title,
      priceMinor: price?.amountMinor ?? null,
      currency: price ? item.primaryCurrency : null,
      taxInclusive: price?.taxInclusive ?? true,
      barredRegions: item.barredRegions,
      masterVersion: item.masterVersion,
      sellerId: item.sellerId,
    },
  );
}
