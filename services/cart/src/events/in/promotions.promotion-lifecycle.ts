import type { EventHandler } from '@omnimall/service-kit';
import type { PromotionStart } from '../../application/promotion-notices';
import type { EventOrigin } from '../out/cart.cart-changed';

/** Records a promotion start's notice, and its cart.promotion-notice records, once per version (application/promotion-notices.ts). */
export interface StartNotifier {
  started(s: PromotionStart, origin: EventOrigin): Promise<unknown>;
}

/** `started`: the customers whose carts it affects are noticed once per version; other phases need nothing of cart. */
export function promotionLifecycleIn(notices: StartNotifier): EventHandler<'promotions.promotion-lifecycle'> {
  return async (e, ctx) => {
    if (e.phase !== 'started') return ctx.skip();
    if (!(await notices.started(e, { correlationId: ctx.envelope.correlationId }))) ctx.skip();
  };
}
