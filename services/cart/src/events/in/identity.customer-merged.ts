import type { EventHandler } from '@omnimall/service-kit';
import { mergeOrigin, type CartMerger } from './ports';

/** One customer folded into another (by an admin): the source customer's cart is merged into the target's. */
export function customerMergedIn(merger: CartMerger): EventHandler<'identity.customer-merged'> {
  return async (e, ctx) => {
    await merger.merge(e.sourceCustomerId, e.targetCustomerId, mergeOrigin(ctx));
  };
}
