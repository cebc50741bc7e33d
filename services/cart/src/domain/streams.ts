import { AppError, UnauthorizedError, ValidationError } from '@omnimall/service-kit/errors';
import { cartErased } from './privacy';
import { assertCustomerMayTrade, type CustomerView } from './trading';

/**
 * The rules of live cart streams (SSE), pure: how long a stream ticket lives, when a stream must end
 * and the final event that says why. A stream never outlives what allowed it to open: the access
 * token's `exp`, the customer's standing, a session slot. Nothing here holds a connection or a timer
 * (push/session-hub.ts does); the refusals are AppErrors with a code and a hint.
 */

/** Default lifetime of a stream ticket: long enough to open the stream right after asking for it. */
export const DEFAULT_TICKET_TTL_MS = 30_000;
/** Default number of live streams of one cart (customer or device) on one instance. */
export const DEFAULT_MAX_STREAMS_PER_CART = 5;
/** Default number of live streams one instance holds. */
export const DEFAULT_MAX_STREAMS = 10_000;
/** Seconds a client is told to wait (Retry-After) when an instance holds all the streams it may. */
export const CAPACITY_RETRY_AFTER_S = 5;

/** Why a stream ended: sent as its final event (event name = code) before the server closes it. */
export interface StreamClosure {
  code: 'token_expired' | 'session_revoked' | 'customer_banned' | 'customer_suspended' | 'customer_erased' | 'too_many_streams';
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

/** A ticket is valid for `ttlMs`, and never past the access token it was issued for. */
export function ticketExpiresAt(now: number, tokenExpiresAt: number | null, ttlMs: number): number {
  return tokenExpiresAt === null ? now + ttlMs : Math.min(now + ttlMs, tokenExpiresAt);
}

export const tokenExpired = (expiredAt: number): StreamClosure => ({
  code: 'token_expired',
  message: 'the access token this stream was opened with has expired',
  hint: 'refresh the access token, ask for a new ticket (POST /cart/stream-tickets) and open the stream again',
  details: { expiredAt: new Date(expiredAt).toISOString() },
});

/** Identity revoked the login session the stream was opened in (logout, logout everywhere, password change or reset). */
export const sessionRevoked = (cause: string): StreamClosure => ({
  code: 'session_revoked',
  message: 'the login session this stream was opened in has ended',
  hint: 'log in again, then open a new stream',
  details: { cause },
});

/** A ticket redeemed after the session it was issued in was revoked: the kit's refusal of such a token. */
export const sessionEnded = (reason: string): UnauthorizedError =>
  new UnauthorizedError('token_revoked', `the session this ticket was issued in was revoked (${reason})`, 'log in again', { reason });

export const tooManyStreams = (max: number): StreamClosure => ({
  code: 'too_many_streams',
  message: `a newer stream of this cart took this one's place (at most ${max} per cart)`,
  hint: 'close streams you no longer read; do not reopen this one automatically, or it will close the newest in turn',
  details: { maxPerCart: max },
});

/**
 * The closure a customer's standing calls for (banned, suspended, erased), or null while they may
 * trade: the same rule as the cart's customer gate (assertCustomerMayTrade), so a stream ends exactly
 * when reopening it would be refused.
 */
export function standingClosure(customer: CustomerView, now = Date.now()): StreamClosure | null {
  try {
    assertCustomerMayTrade(customer, now);
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return closureOf(err);
  }
}

/** The closure of a customer's streams on their erasure (identity.data-request): the write's refusal, customer_erased. */
export const erasureClosure = (): StreamClosure => closureOf(cartErased());

function closureOf(err: AppError): StreamClosure {
  return { code: err.code as StreamClosure['code'], message: err.message, hint: err.hint, details: err.details };
}

/** Access tokens do not belong in URLs (logs, proxies, browser history keep them). */
export const tokenInQuery = (): ValidationError =>
  new ValidationError(
    'token_in_query',
    'access tokens are not accepted in the query string',
    'POST /cart/stream-tickets with Authorization: Bearer <accessToken> (and x-channel-code), then open GET /cart/stream?ticket=<ticket>; clients that can send headers may open the stream with the Authorization header instead',
  );

export const ticketInvalid = (): UnauthorizedError =>
  new UnauthorizedError(
    'ticket_invalid',
    'the stream ticket is unknown, already used or expired',
    'tickets are single-use and short-lived: ask for a new one (POST /cart/stream-tickets) right before opening the stream',
  );

/** The instance holds all the streams it may; another instance (or this one shortly) can take it. */
export const streamCapacityReached = (max: number): AppError =>
  new AppError(
    503,
    'stream_capacity_reached',
    `this instance holds its maximum of ${max} live streams`,
    `retry after ${CAPACITY_RETRY_AFTER_S} s (Retry-After); the load balancer may route the retry to another instance`,
    { maxStreams: max },
  );
