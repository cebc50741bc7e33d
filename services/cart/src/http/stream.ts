import { ErrorBody, z, type HttpApi } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import type { StreamTickets } from '../application/stream-tickets';
import type { SessionHub } from '../push/session-hub';
import { StreamHeaders, streamQuery, StreamTicketSchema } from './schemas';
import { channelOf, ownerOf, refuseTokenInQuery, tokenExpiryOf, type RequestHandler } from './request';

/**
 * The live stream of a cart (Server-Sent Events), held by this instance's session hub, and the
 * tickets that open it. Who: the customer's bearer token or the device id, either on the stream
 * request itself (clients that can send headers) or on POST /cart/stream-tickets, whose single-use
 * ticket then opens the stream (EventSource clients). An access token in the query string is refused
 * (400 token_in_query). The gates apply at open as for a read; the stream ends at the token's exp, on
 * a ban or suspension, or when a newer stream of the cart takes its slot (push/session-hub.ts).
 */
const refusal = (description: string) => ({ description, schema: ErrorBody });

export function streamRoutes(api: HttpApi, carts: CartService, hub: SessionHub, tickets: StreamTickets, auth: RequestHandler): void {
  api.route({
    method: 'post',
    path: '/cart/stream-tickets',
    summary: 'A single-use ticket (valid 30 s, never past the token) that opens GET /cart/stream?ticket= for this cart and channel',
    tags: ['cart'],
    auth: true,
    headers: StreamHeaders,
    responses: {
      201: { description: 'The ticket; the stream it opens ends when this request’s access token expires', schema: StreamTicketSchema },
      400: refusal('token_in_query, channel_code_invalid, device_id_invalid'),
      401: refusal('token_missing (no token and no device id), token_invalid'),
    },
    before: [refuseTokenInQuery, auth],
    handler: async ({ req, res }) => {
      const issued = await tickets.issue(ownerOf(req, res), channelOf(req, false), tokenExpiryOf(req, res));
      return { status: 201, headers: { 'Cache-Control': 'no-store' }, body: issued };
    },
  });

  api.route({
    method: 'get',
    path: '/cart/stream',
    summary:
      'Server-Sent Events: `ready` once, then `cart-changed` (id = cart version) for every change made on any channel; a final event (token_expired, customer_banned, customer_suspended, customer_erased, too_many_streams) says why the server ended it',
    tags: ['cart'],
    auth: true,
    headers: StreamHeaders,
    query: streamQuery,
    responses: {
      200: { description: 'An event stream', contentType: 'text/event-stream', schema: z.string() },
      400: refusal('token_in_query (use a ticket), validation_failed (malformed ticket), channel_code_invalid, device_id_invalid'),
      401: refusal('token_missing, token_invalid, ticket_invalid (unknown, used or expired)'),
      403: refusal('customer_banned, customer_suspended, customer_erased, data_region_not_allowed'),
      409: refusal('channel_unknown, channel_not_active, channel_blocked'),
      503: refusal('stream_capacity_reached: this instance holds its maximum of streams; header Retry-After (seconds)'),
    },
    before: [refuseTokenInQuery, auth],
    handler: async ({ req, res, query }) => {
      hub.assertCapacity(res);
      const { cartId, customerId, channel, tokenExpiresAt } = query.ticket
        ? await tickets.redeem(query.ticket)
        : { ...ownerOf(req, res), channel: channelOf(req, false), tokenExpiresAt: tokenExpiryOf(req, res) };
      const version = await carts.currentVersion({ cartId, customerId }, channel);
      hub.open({ cartId, channel, version, expiresAt: tokenExpiresAt }, res);
      return undefined;
    },
  });
}
