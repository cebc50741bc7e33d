/**
 * partner.order-status → a partner system's record validated and mapped to global ids
 * (channels.partner-order-status), or, when invalid, dead-lettered at once with the reasons (see
 * application/partner-ingestion.ts).
 */
import type { TopicValues } from '@omnimall/contracts';
import type { EventContext } from '@omnimall/service-kit';
import type { Handler } from '../ports';

export interface PartnerRecordIngestion {
  handle(rec: TopicValues['partner.order-status'], ctx: EventContext): Promise<void>;
}

export function partnerOrderStatusHandler(ingestion: PartnerRecordIngestion): Handler<'partner.order-status'> {
  return (rec, ctx) => ingestion.handle(rec, ctx);
}
