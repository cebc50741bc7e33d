import type { Collection, Model } from 'mongoose';
import type { StreamTicketDoc } from './schemas';

/**
 * Stream tickets in the cart database, so any instance can redeem a ticket another issued. Only the
 * ticket's SHA-256 is stored (a database reader cannot open streams with what it reads). Redeeming is
 * one findOneAndDelete matching an unexpired ticket: of two concurrent redeemers one gets it, and a
 * used or expired ticket is never served again. FerretDB 1.24 refuses TTL indexes
 * (`expireAfterSeconds` is "not implemented"), so expired tickets nobody used are removed by a
 * pruning pass (application/stream-tickets.ts runs it as a worker).
 */

/** The login session of the customer token a ticket was issued to (so a revocation refuses the ticket). */
export interface TicketSession {
  /** The token's subject (customer id). */
  sub: string;
  /** The token's session (`sid`), if it names one. */
  sid: string | null;
  /** The token's iat (epoch millis): a revocation of every session up to an instant covers it or not. */
  issuedAt: number;
  /** The channel the token is bound to. */
  channel: string | null;
}

/** What a ticket stands for: whose cart, on which channel, in which session, until when the token behind it is valid. */
export interface TicketGrant {
  cartId: string;
  customerId: string | null;
  channel: string | null;
  /** The exp of the token behind it (epoch millis): the customer's access token or the device token; null if none. */
  tokenExpiresAt: number | null;
  /** The customer token's session; null for an anonymous device cart. */
  session: TicketSession | null;
}

export interface StoredTicket extends TicketGrant {
  /** SHA-256 of the ticket, hex. */
  hash: string;
  /** Epoch millis after which the ticket is refused. */
  expiresAt: number;
}

export interface StreamTicketRepository {
  save(ticket: StoredTicket): Promise<void>;
  /** The grant of an unexpired ticket, removed in the same step (single use); null when unknown, used or expired. */
  take(hash: string, now: number): Promise<TicketGrant | null>;
  /** Removes the tickets expired before `now`; returns how many. */
  prune(now: number): Promise<number>;
  /** Removes every ticket of these carts (an erasure); returns how many. */
  forgetCarts(cartIds: readonly string[]): Promise<number>;
}

export class MongoStreamTickets implements StreamTicketRepository {
  /** The driver's collection under the model, typed (no mongoose documents for these short-lived records). */
  private readonly collection: Collection<StreamTicketDoc>;

  constructor(model: Model<StreamTicketDoc>) {
    this.collection = model.db.collection<StreamTicketDoc>(model.collection.collectionName);
  }

  async save(t: StoredTicket): Promise<void> {
    const { hash, ...rest } = t;
    await this.collection.insertOne({ _id: hash, ...rest });
  }

  async take(hash: string, now: number): Promise<TicketGrant | null> {
    const doc = await this.collection.findOneAndDelete({ _id: hash, expiresAt: { $gt: now } });
    if (!doc) return null;
    return {
      cartId: doc.cartId,
      customerId: doc.customerId ?? null,
      channel: doc.channel ?? null,
      tokenExpiresAt: doc.tokenExpiresAt ?? null,
      session: doc.session ?? null,
    };
  }

  async prune(now: number): Promise<number> {
    const r = await this.collection.deleteMany({ expiresAt: { $lte: now } });
    return r.deletedCount;
  }

  async forgetCarts(cartIds: readonly string[]): Promise<number> {
    if (!cartIds.length) return 0;
    const r = await this.collection.deleteMany({ cartId: { $in: [...cartIds] } });
    return r.deletedCount;
  }
}
