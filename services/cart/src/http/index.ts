import { HttpApi, requireAuth, type TokenVerifier } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { StreamTickets } from '../application/stream-tickets';
import type { SessionHub } from '../push/session-hub';
import { cartRoutes } from './cart';
import { changeRoute } from './change';
import { lineRoutes } from './lines';
import { streamRoutes } from './stream';
import { wishlistRoutes } from './wishlist';

/** The cart's HTTP API (validation and /openapi.json from the zod schemas in schemas.ts). */
export function cartApi(carts: CartService, hub: SessionHub, tickets: StreamTickets, verifier: TokenVerifier): HttpApi {
  const auth = requireAuth(verifier, { kind: 'customer', optional: true });
  const api = new HttpApi({
    title: 'omnimall cart',
    version: '1.0.0',
    description:
      'One global cart and wishlist per customer (bearer token) or per anonymous device (x-device-id). Changes are made on a channel (x-channel-code) and versioned (ETag / If-Match); GET /cart/stream pushes every change to every open session (EventSource clients open it with a single-use ticket from POST /cart/stream-tickets).',
  });
  const change = changeRoute(api, carts, auth);
  cartRoutes(api, carts, auth, change);
  streamRoutes(api, carts, hub, tickets, auth);
  lineRoutes(change);
  wishlistRoutes(change);
  return api;
}
