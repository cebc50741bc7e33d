/**
 * partner.<code>.order-status (the per-partner family partner.order-status) → a partner system's record
 * validated and mapped to global ids (channels.partner-order-status), or, when invalid or naming
 * another partner than its topic's, dead-lettered at once with the reason (see
 * application/partner-ingestion.ts).
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext, HandlerMap } from '@omnimall/service-kit';
import type { Handler } from '../ports';

export interface PartnerRecordIngestion {
  handle(rec: TopicValues['partner.order-status'], ctx: EventContext): Promise<void>;
}

export function partnerOrderStatusHandler(ingestion: PartnerRecordIngestion): Handler<'partner.order-status'> {
  return (rec, ctx) => ingestion.handle(rec, ctx);
}

/** One handler per partner topic (the manifest declares them through their family, partner.order-status). */
export function partnerOrderStatusHandlers(topics: readonly string[], ingestion: PartnerRecordIngestion): HandlerMap {
  const handler = partnerOrderStatusHandler(ingestion);
  return Object.fromEntries(topics.map((t) => [t, handler])) as HandlerMap;
}
