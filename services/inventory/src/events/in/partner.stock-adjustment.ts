/**
 * partner.<code>.stock-adjustment (the per-partner family partner.stock-adjustment) → a drop-ship
 * partner's stock set or adjusted at a location it owns, or, when invalid, naming another partner
 * than its topic's or a location not the partner's, dead-lettered at once with the reason (see
 * application/partner-stock.ts).
 */
import type { EventHandler, HandlerMap } from '@omnimall/service-kit';
import type { PartnerStock } from '../../application/partner-stock';

/** The one handler, on each partner's topic (the manifest declares them through their family). */
export function partnerStockHandlers(topics: readonly string[], partners: Pick<PartnerStock, 'handle'>): HandlerMap {
  const handler: EventHandler<'partner.stock-adjustment'> = (rec, ctx) => partners.handle(rec, ctx);
  return Object.fromEntries(topics.map((t) => [t, handler])) as HandlerMap;
}
