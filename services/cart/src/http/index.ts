import { HttpApi } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { StreamTickets } from '../application/stream-tickets';
import type { SessionHub } from '../push/session-hub';
import { cartRoutes } from './cart';
import { changeRoute } from './change';
import { lineRoutes } from './lines';
import { cartCaller, type CartAuth } from './request';
import { streamRoutes } from './stream';
import { wishlistRoutes } from './wishlist';

/** The cart's HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function cartApi(carts: CartService, hub: SessionHub, tickets: StreamTickets, auth: CartAuth): HttpApi {
  const api = new HttpApi({
    title: 'omnimall cart',
    version: '1.0.0',
    description:
      'One global cart and wishlist per customer (bearer customer token) or per anonymous device (x-device-token from identity). The channel is the one the credentials prove (the token’s channel claim, the device token’s channel); x-channel-code may only confirm it. Changes are versioned (ETag / If-Match); GET /cart/stream pushes every change to every open session (EventSource clients open it with a single-use ticket from POST /cart/stream-tickets).',
  });
  const reader = cartCaller(auth, 'when-named');
  const change = changeRoute(api, carts, cartCaller(auth, 'required'));
  cartRoutes(api, carts, reader, change);
  streamRoutes(api, carts, hub, tickets, reader);
  lineRoutes(change);
  wishlistRoutes(change);
  return api;
}
