import { ErrorBody, z, type HttpApi, type Principal } from '@omnimall/service-kit';
import type { CartService } from '../application/carts';
import { principalOfSession, type StreamTickets } from '../application/stream-tickets';
import type { SessionHub } from '../push/session-hub';
import { callerResponses, StreamHeaders, streamQuery, StreamTicketSchema } from './schemas';
import { channelOf, credentialExpiryOf, ownerOf, refuseTokenInQuery, sessionOf, type RequestHandler } from './request';

/**
 * The live stream of a cart (Server-Sent Events), held by this instance's session hub, and the
 * tickets that open it. Who: the customer of a bearer customer token or the device of an
 * x-device-token (request.ts), either on the stream request itself (clients that can send headers) or
 * on POST /cart/stream-tickets, whose single-use ticket then opens the stream (EventSource clients).
 * An access token in the query string is refused (400 token_in_query), and so is x-device-id. The
 * gates apply at open as for a read; the stream ends at the token's exp, when identity revokes the
 * token's login session, on a ban, suspension or erasure, or when a newer stream of the cart takes
 * its slot (push/session-hub.ts). A ticket remembers the session: redeemed after its revocation, 401.
 */
export function streamRoutes(api: HttpApi, carts: CartService, hub: SessionHub, tickets: StreamTickets, caller: RequestHandler[]): void {
  api.route({
    method: 'post',
    path: '/cart/stream-tickets',
    summary: 'A single-use ticket (valid 30 s, never past the token) that opens GET /cart/stream?ticket= for this cart and channel',
    tags: ['cart'],
    auth: true,
    headers: StreamHeaders,
    responses: {
      201: {
        description: 'The ticket; the stream it opens ends when this request’s token expires or its session is revoked',
        schema: StreamTicketSchema,
      },
      ...callerResponses,
      400: { ...callerResponses[400], description: `token_in_query, ${callerResponses[400].description}` },
    },
    before: [refuseTokenInQuery, ...caller],
    handler: async ({ req, res }) => {
      const issued = await tickets.issue(ownerOf(res), channelOf(res), sessionOf(res), credentialExpiryOf(req, res));
      return { status: 201, headers: { 'Cache-Control': 'no-store' }, body: issued };
    },
  });

  api.route({
    method: 'get',
    path: '/cart/stream',
    summary:
      'Server-Sent Events: `ready` once, then `cart-changed` (id = cart version) for every change made on any channel, whose `view` is the body GET /cart answers on this stream’s channel at that version (priced, `channel` set, `notice` while the channel is in maintenance), so no re-read is needed (`view` is absent only when it could not be rendered: then re-read GET /cart); a final event (token_expired, session_revoked, customer_banned, customer_suspended, customer_erased, too_many_streams) says why the server ended it. Opens while the channel is in maintenance, like GET /cart',
    tags: ['cart'],
    auth: true,
    headers: StreamHeaders,
    query: streamQuery,
    responses: {
      200: { description: 'An event stream', contentType: 'text/event-stream', schema: z.string() },
      ...callerResponses,
      400: { ...callerResponses[400], description: `token_in_query (use a ticket), malformed ticket, ${callerResponses[400].description}` },
      401: {
        ...callerResponses[401],
        description: `ticket_invalid (unknown, used or expired), token_revoked (also: the ticket's session was revoked), ${callerResponses[401].description}`,
      },
      503: {
        description: 'stream_capacity_reached: this instance holds its maximum of streams; header Retry-After (seconds)',
        schema: ErrorBody,
      },
    },
    before: [refuseTokenInQuery, ...caller],
    handler: async ({ req, res, query }) => {
      hub.assertCapacity(res);
      let stream: {
        cartId: string;
        customerId: string | null;
        channel: string | null;
        expiresAt: number | null;
        principal: Principal | null;
      };
      if (query.ticket) {
        const g = await tickets.redeem(query.ticket);
        const principal = g.session && principalOfSession(g.session);
        stream = { cartId: g.cartId, customerId: g.customerId, channel: g.channel, expiresAt: g.tokenExpiresAt, principal };
      } else {
        stream = { ...ownerOf(res), channel: channelOf(res), expiresAt: credentialExpiryOf(req, res), principal: sessionOf(res) };
      }
      const version = await carts.currentVersion(stream, stream.channel);
      hub.open({ ...stream, version }, res);
      return undefined;
    },
  });
}
