import type { HttpApi, z } from '@omnimall/service-kit';
import type { CartCommand } from '../domain/cart';
import type { CartService } from '../application/carts';
import { cartResponses, Headers } from './schemas';
import { channelOf, etag, ifMatchOf, ownerOf, type RequestHandler } from './request';

/**
 * A change route: its command comes from the validated body and path, on the request's channel
 * (x-channel-code, required), conditional on If-Match when sent. Who may call: the customer of the
 * bearer token, or the anonymous device of x-device-id.
 */
export type ChangeRoute = <B, P>(
  summary: string,
  method: 'post' | 'put' | 'delete',
  path: string,
  spec: { body?: z.ZodType<B>; params?: z.ZodType<P> },
  toCmd: (input: { body: B; params: P; channel: string; at: number }) => CartCommand,
) => void;

export function changeRoute(api: HttpApi, carts: CartService, auth: RequestHandler): ChangeRoute {
  return (summary, method, path, spec, toCmd) =>
    api.route({
      method,
      path,
      summary,
      tags: ['cart'],
      auth: true,
      headers: Headers,
      body: spec.body,
      params: spec.params,
      responses: {
        ...cartResponses,
        401: { description: 'No token and no device id' },
        403: { description: 'customer_banned, customer_suspended, customer_erased, data_region_not_allowed' },
        409: { description: 'channel_unknown, channel_not_active (state, expectedBackAt), channel_blocked (blockReasons)' },
        412: { description: 'cart_version_mismatch: If-Match is not the current version' },
        422: { description: 'item_not_sold_on_channel, line_quantity_cap, cart_full, wishlist_full' },
        451: { description: 'item_barred_in_region' },
      },
      before: [auth],
      handler: async ({ body, params, req, res }) => {
        const channel = channelOf(req, true);
        const view = await carts.change(ownerOf(req, res), channel, toCmd({ body, params, channel, at: Date.now() }), {
          ifMatch: ifMatchOf(req),
          correlationId: res.locals.correlationId as string,
        });
        return { headers: etag(view), body: view };
      },
    });
}
