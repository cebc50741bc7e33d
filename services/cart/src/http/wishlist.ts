import type { ChangeRoute } from './change';
import { skuParams } from './schemas';

/** The wishlist: add or remove an item. The customer token or the device token (request.ts). */
export function wishlistRoutes(change: ChangeRoute): void {
  change('Add an item to the wishlist', 'put', '/cart/wishlist/:sku', { params: skuParams }, ({ params }) => ({
    kind: 'wish',
    sku: params.sku,
  }));
  change('Remove an item from the wishlist', 'delete', '/cart/wishlist/:sku', { params: skuParams }, ({ params }) => ({
    kind: 'unwish',
    sku: params.sku,
  }));
}
