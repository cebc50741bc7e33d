/**
 * cart.promotion-notice (from cart) → a promotion's start as stored notifications for the customers
 * whose carts or wishlists it affects, each on the channel cart names, published on
 * channels.notification and delivered to the channel's endpoints. Customers this service cannot
 * tell (no channel, a channel unknown or not active) are logged and left: retrying would not change
 * the channel.
 */
import type { TopicValues } from '@omnimall/contracts';
import type { Handler } from '../ports';

export interface PromotionNoticeNotifier {
  /** `created`: the notifications stored now (empty when an earlier delivery stored them); `skipped`: why some customers get none. */
  onPromotionNotice(ev: TopicValues['cart.promotion-notice']): Promise<{ created: readonly unknown[]; skipped: readonly string[] }>;
}

export function promotionNoticeHandler(notifications: PromotionNoticeNotifier): Handler<'cart.promotion-notice'> {
  return async (ev, ctx) => {
    const channels = [...new Set(ev.customers.flatMap((c) => (c.channel === null ? [] : [c.channel])))];
    if (channels.length === 1) ctx.channel = channels[0];
    const { created, skipped } = await notifications.onPromotionNotice(ev);
    const about = { promotionId: ev.promotionId, version: ev.version, batch: ev.batch };
    if (skipped.length) ctx.logger.warn('promotion notice partly skipped', { ...about, reasons: skipped });
    if (!created.length) return ctx.skip(); // nobody to tell, or stored by an earlier delivery of this notice
    ctx.logger.info('promotion notice stored', { ...about, notifications: created.length });
  };
}
