import { consentId } from '../domain/consents';
import { audienceOf, candidatesOf, noticeId } from '../domain/notices';
import type { EventOrigin } from '../events/out/cart.cart-changed';
import { promotionNotices, type NoticedPromotion } from '../events/out/cart.promotion-notice';
import type { CartRepository, ConsentRepository, PromotionNoticeDoc, PromotionRepository } from '../store';

export interface NoticeLimits {
  /** With no SKUs named: the carts changed within this many days (CART_PROMOTION_NOTICE_DAYS). */
  touchedWithinDays: number;
  /** Carts one notice reaches at most (CART_PROMOTION_NOTICE_MAX). */
  maxCarts: number;
}

/** What a promotion start tells cart (promotions.promotion-lifecycle, phase started). */
export type PromotionStart = NoticedPromotion;

/**
 * A promotion's start told to the customers whose carts or wishlists it affects: the recipients
 * found in cart's own data (promotions never reads it), only those with marketing consent on the
 * channel they are told on (domain/notices.ts, audienceOf), recorded once per promotion version in
 * `promotion_notices` together with the cart.promotion-notice records that ask channels to tell
 * them (one outbox write; a replay finds the notice and does nothing).
 */
export class PromotionNotices {
  constructor(
    private readonly carts: Pick<CartRepository, 'customerCartsFor'>,
    private readonly promotions: Pick<PromotionRepository, 'noticeOnce'>,
    private readonly consents: Pick<ConsentRepository, 'marketingGiven'>,
    private readonly limits: NoticeLimits,
  ) {}

  /** The notice written now, or null when this version was noticed before. */
  async started(s: PromotionStart, origin: EventOrigin = {}, now = Date.now()): Promise<PromotionNoticeDoc | null> {
    const touchedSince = now - this.limits.touchedWithinDays * 86_400_000;
    const carts = await this.carts.customerCartsFor({ skus: s.skus, touchedSince }, this.limits.maxCarts);
    const candidates = candidatesOf(carts, s.skus, s.channels);
    const given = await this.consents.marketingGiven(
      candidates.flatMap((c) => c.channels.map((channel) => ({ customerId: c.customerId, channel }))),
    );
    const { recipients, withoutConsent } = audienceOf(candidates, (customerId, channel) => given.has(consentId(customerId, channel)));
    const notice: PromotionNoticeDoc = {
      _id: noticeId(s.promotionId, s.version),
      promotionId: s.promotionId,
      version: s.version,
      recipients,
      withoutConsent,
      createdAt: now,
    };
    const events = promotionNotices(s, notice.recipients, origin);
    return (await this.promotions.noticeOnce(notice, events)) ? notice : null;
  }
}
