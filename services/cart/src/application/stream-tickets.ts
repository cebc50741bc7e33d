import { createHash, randomBytes } from 'node:crypto';
import { periodicWorker, type Logger, type Principal, type Worker } from '@omnimall/service-kit';
import { sessionEnded, ticketExpiresAt, ticketInvalid } from '../domain/streams';
import type { StreamTicketRepository, TicketGrant, TicketSession } from '../store';
import type { CartOwner } from './carts';

/**
 * Stream tickets: how a client that cannot send headers (a browser's EventSource) opens a cart stream
 * without putting its access token in a URL. The client asks with its bearer token (or device token)
 * and gets an opaque ticket of 256 random bits, valid for a short time (never past the token's exp)
 * and once; GET /cart/stream?ticket= then opens the stream of the cart, on the channel, the ticket
 * was issued for, and the stream ends at the token's exp as if the token had opened it.
 *
 * A ticket remembers the login session of the customer token it was issued to (subject, `sid`,
 * issue time): redeemed after identity revoked that session (logout, password change...), it is
 * refused with 401 token_revoked, and the stream it opens ends when the session is revoked later.
 *
 * Tickets live in the cart database (hashed), so a ticket issued by one instance is redeemed by any.
 */
export interface IssuedTicket {
  ticket: string;
  /** ISO time after which the ticket is refused. */
  expiresAt: string;
  cartId: string;
  channel: string | null;
}

/** How often the pruning pass removes expired tickets nobody used. */
const PRUNE_EVERY_MS = 60_000;

const hashOf = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

/** The principal a ticket's session stands for (what the trust state's revocation check reads). */
export function principalOfSession(s: TicketSession): Principal {
  return { sub: s.sub, kind: 'customer', roles: [], channels: [], channel: s.channel, sid: s.sid ?? undefined, issuedAt: s.issuedAt };
}

export class StreamTickets {
  constructor(
    private readonly repo: StreamTicketRepository,
    private readonly ttlMs: number,
    /** Why a customer token's session is no longer valid (the trust state's revocationOf), or null. */
    private readonly revocationOf: (p: Principal) => string | null,
  ) {}

  /** A ticket for the cart of `owner` on `channel`, in the session of the customer token `session` (null: a device). */
  async issue(
    owner: CartOwner,
    channel: string | null,
    session: Principal | null,
    tokenExpiresAt: number | null,
    now = Date.now(),
  ): Promise<IssuedTicket> {
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = ticketExpiresAt(now, tokenExpiresAt, this.ttlMs);
    await this.repo.save({
      hash: hashOf(ticket),
      cartId: owner.cartId,
      customerId: owner.customerId,
      channel,
      tokenExpiresAt,
      expiresAt,
      session: session && { sub: session.sub, sid: session.sid ?? null, issuedAt: session.issuedAt, channel: session.channel },
    });
    return { ticket, expiresAt: new Date(expiresAt).toISOString(), cartId: owner.cartId, channel };
  }

  /**
   * The grant of a ticket, which is used up by this call; 401 ticket_invalid when unknown, used or
   * expired, 401 token_revoked when the session it was issued in has been revoked since.
   */
  async redeem(ticket: string, now = Date.now()): Promise<TicketGrant> {
    const grant = await this.repo.take(hashOf(ticket), now);
    if (!grant) throw ticketInvalid();
    const reason = grant.session && this.revocationOf(principalOfSession(grant.session));
    if (reason) throw sessionEnded(reason);
    return grant;
  }

  /** The pruning pass as a worker of the service (every minute; a failed pass is logged and tried again). */
  pruner(logger: Logger): Worker {
    return periodicWorker(
      'stream-ticket-pruning',
      PRUNE_EVERY_MS,
      () => this.repo.prune(Date.now()),
      logger,
      'stream ticket pruning failed',
    );
  }
}
