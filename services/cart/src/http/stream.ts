import { z, type HttpApi } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { SessionHub } from '../push/session-hub';
import { Headers, streamQuery } from './schemas';
import { channelOf, ownerOf, tokenFromQuery, type RequestHandler } from './request';

/**
 * The live stream of a cart (Server-Sent Events), held by this instance's session hub. The customer's
 * token (also as ?access_token=, for EventSource clients) or the device id; the gates apply as for a read.
 */
export function streamRoutes(api: HttpApi, carts: CartService, hub: SessionHub, auth: RequestHandler): void {
  api.route({
    method: 'get',
    path: '/cart/stream',
    summary: 'Server-Sent Events: `ready` once, then `cart-changed` (id = cart version) for every change made on any channel',
    tags: ['cart'],
    auth: true,
    headers: Headers,
    query: streamQuery,
    responses: { 200: { description: 'An event stream', contentType: 'text/event-stream', schema: z.string() } },
    before: [tokenFromQuery, auth],
    handler: async ({ req, res }) => {
      const owner = ownerOf(req, res);
      const channel = channelOf(req, false);
      const version = await carts.currentVersion(owner, channel);
      hub.open(owner.cartId, channel, version, res);
      return undefined;
    },
  });
}
