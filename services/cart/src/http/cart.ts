import type { HttpApi } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { ChangeRoute } from './change';
import { cartResponses, Headers } from './schemas';
import { channelOf, etag, ownerOf, type RequestHandler } from './request';

/** The cart as a whole: read it priced for a channel, or empty it. The customer's token or the device id. */
export function cartRoutes(api: HttpApi, carts: CartService, auth: RequestHandler, change: ChangeRoute): void {
  api.route({
    method: 'get',
    path: '/cart',
    summary: 'The cart and wishlist, each line priced and checked for the channel named in x-channel-code',
    tags: ['cart'],
    auth: true,
    headers: Headers,
    responses: cartResponses,
    before: [auth],
    handler: async ({ req, res }) => {
      const view = await carts.view(ownerOf(req, res), channelOf(req, false));
      return { headers: etag(view), body: view };
    },
  });
  change('Empty the cart and the wishlist', 'delete', '/cart', {}, () => ({ kind: 'clear' }));
}
