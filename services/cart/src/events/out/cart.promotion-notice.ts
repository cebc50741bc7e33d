import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { batchesOf, type NoticeRecipient } from '../../domain/notices';
import type { EventOrigin } from './cart.cart-changed';

/** What the notice records say of the promotion that started. */
export interface NoticedPromotion {
  promotionId: string;
  version: number;
  name: string;
  startsAt: number;
  endsAt: number | null;
  channels: readonly string[];
  skus: readonly string[];
}

/**
 * PromotionNotice records of one promotion version's start: its recipients in batches of at most
 * NOTICE_BATCH, one record each, keyed `<promotionId>:<version>:<batch>` (none when nobody is told).
 */
export function promotionNotices(
  p: NoticedPromotion,
  recipients: readonly NoticeRecipient[],
  origin: EventOrigin,
): OutgoingEvent<'cart.promotion-notice'>[] {
  const batches = batchesOf(recipients);
  return batches.map((batch, i) =>
    newEvent(
      'cart.promotion-notice',
      {
        type: 'promotion.notice',
        producer: 'cart',
        aggregateId: `${p.promotionId}:${p.version}:${i}`,
        aggregateVersion: p.version,
        correlationId: origin.correlationId,
      },
      {
        promotionId: p.promotionId,
        version: p.version,
        name: p.name,
        startsAt: p.startsAt,
        endsAt: p.endsAt,
        channels: [...p.channels],
        skus: [...p.skus],
        batch: i,
        batches: batches.length,
        customers: batch.map((r) => ({ customerId: r.customerId, channel: r.channel })),
      },
    ),
  );
}
