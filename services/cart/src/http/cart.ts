import type { HttpApi } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { ChangeRoute } from './change';
import { callerResponses, cartResponses, Headers } from './schemas';
import { channelOf, etag, ownerOf, type RequestHandler } from './request';

/**
 * The cart as a whole: read it priced for the channel the credentials prove (unpriced when they prove
 * none and no x-channel-code is sent), or empty it. Who: the customer of a bearer customer token, or
 * the device of an x-device-token; staff, channel apps without a customer or device token, and
 * anonymous callers are refused (request.ts).
 */
export function cartRoutes(api: HttpApi, carts: CartService, caller: RequestHandler[], change: ChangeRoute): void {
  api.route({
    method: 'get',
    path: '/cart',
    summary: 'The cart and wishlist, each line priced and checked for the channel of the request’s credentials',
    tags: ['cart'],
    auth: true,
    headers: Headers,
    responses: { ...cartResponses, ...callerResponses },
    before: caller,
    handler: async ({ res }) => {
      const view = await carts.view(ownerOf(res), channelOf(res));
      return { headers: etag(view), body: view };
    },
  });
  change('Empty the cart and the wishlist', 'delete', '/cart', {}, () => ({ kind: 'clear' }));
}
