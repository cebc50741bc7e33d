import type { HttpApi, z } from '@omnimall/service-kit';
import type { CartCommand } from '../domain/cart';
import type { CartService } from '../application/carts';
import { callerResponses, cartResponses, Headers } from './schemas';
import { channelOf, etag, ifMatchOf, ownerOf, type RequestHandler } from './request';

/**
 * A change route: its command comes from the validated body and path, on the channel the request's
 * credentials prove (required: 401 channel_credentials_missing without, 403 channel_mismatch when
 * x-channel-code names another), conditional on If-Match when sent. Who may call: the customer of a
 * bearer customer token, or the anonymous device of an x-device-token (request.ts).
 */
export type ChangeRoute = <B, P>(
  summary: string,
  method: 'post' | 'put' | 'delete',
  path: string,
  spec: { body?: z.ZodType<B>; params?: z.ZodType<P> },
  toCmd: (input: { body: B; params: P; channel: string; at: number }) => CartCommand,
) => void;

export function changeRoute(api: HttpApi, carts: CartService, caller: RequestHandler[]): ChangeRoute {
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
        ...callerResponses,
        412: { description: 'cart_version_mismatch: If-Match is not the current version' },
        422: { description: 'item_not_sold_on_channel, line_quantity_cap, cart_full, wishlist_full' },
        451: { description: 'item_barred_in_region' },
      },
      before: caller,
      handler: async ({ body, params, req, res }) => {
        const channel = channelOf(res, true);
        const view = await carts.change(ownerOf(res), channel, toCmd({ body, params, channel, at: Date.now() }), {
          ifMatch: ifMatchOf(req),
          correlationId: res.locals.correlationId as string,
        });
        return { headers: etag(view), body: view };
      },
    });
}
