import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CartChanged } from '@omnimall/contracts';
import type { Logger, Principal, Validated } from '@omnimall/service-kit';
import type { CartState } from '../domain/cart';
import {
  CAPACITY_RETRY_AFTER_S,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_STREAMS_PER_CART,
  streamCapacityReached,
  tokenExpired,
  tooManyStreams,
  type StreamClosure,
} from '../domain/streams';

type Response = Validated<unknown, unknown, unknown>['res'];

/**
 * The Server-Sent Events sessions this instance holds, by cart id.
 *
 * A change is pushed from Kafka, never from the request that made it: every instance consumes
 * cart.cart-changed with a consumer group of its own, so whichever instance handled the write, every
 * instance sees the event and writes it to the sessions it holds. Delivery is at least once; a cart's
 * versions only grow, so an event at or below the last version pushed for that cart is dropped. The
 * last versions are kept for the VERSIONS_KEPT most recently changed carts.
 *
 * Bounded, and never longer-lived than what let it open: at most `maxPerCart` sessions per cart (a
 * further one closes the oldest: its holder most likely left it behind), at most `maxTotal` on the
 * instance (a further open is refused with 503 and Retry-After before anything is written); a session
 * ends at the `exp` of the token it was opened with (the customer's access token, or the device
 * token), when its customer is banned, suspended or erased (closeCustomer, from
 * identity.customer-status and identity.data-request), and when identity revokes the login session
 * of its token (closeRevoked, from the trust state's 'revoked'). Each end is a final event named by
 * its code, with a message and a hint, then the response ends.
 */
interface Session {
  id: string;
  cartId: string;
  channel: string | null;
  /** The customer token's principal the stream was opened with (its session); null for a device. */
  principal: Principal | null;
  res: Response;
  /** Timer ending the session at its token's exp. */
  expiry?: NodeJS.Timeout;
  ended: boolean;
}

export interface HubLimits {
  /** Sessions per cart on this instance (CART_MAX_STREAMS_PER_CUSTOMER). */
  maxPerCart: number;
  /** Sessions on this instance (CART_MAX_STREAMS). */
  maxTotal: number;
}

export interface OpenStream {
  cartId: string;
  channel: string | null;
  /** The cart's current version, sent in `ready`. */
  version: number;
  /** When the token behind the stream expires (epoch millis; access or device token); null when it has no exp. */
  expiresAt: number | null;
  /** The customer token's principal (its session), so a revocation of that session ends the stream; null for a device. */
  principal: Principal | null;
}

/**
 * The view of a pushed cart state for one session's channel (application/carts.ts `pushedView`): the
 * body GET /cart answers on that channel at that version, priced with its offers for now (a session
 * with no channel gets the unpriced view, as GET /cart without a channel does).
 */
export type PushPricer = (cartId: string, channel: string | null, state: CartState) => Promise<object>;

const HEARTBEAT_MS = 15000;
const VERSIONS_KEPT = 10000;
/** setTimeout's largest delay; a token valid for longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SessionHub {
  private readonly byCart = new Map<string, Set<Session>>();
  /** Last version pushed per cart, least recently changed out first (reading it does not count). */
  private readonly lastVersion = new LRUCache<string, number>({ max: VERSIONS_KEPT });
  private readonly heartbeat: NodeJS.Timeout;
  private total = 0;
  /** Per cart, the frames still being priced (each cart's frames are written in version order). */
  private readonly pushing = new Map<string, Promise<void>>();
  readonly limits: HubLimits;

  constructor(
    private readonly logger: Logger,
    limits: Partial<HubLimits> = {},
    /** Prices each pushed state for a session's channel (`view` in the frame); without it frames carry the lines only. */
    private readonly pricer?: PushPricer,
  ) {
    this.limits = { maxPerCart: limits.maxPerCart ?? DEFAULT_MAX_STREAMS_PER_CART, maxTotal: limits.maxTotal ?? DEFAULT_MAX_STREAMS };
    this.heartbeat = setInterval(() => this.each((s) => s.res.write(': keep-alive\n\n')), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Live sessions on this instance. */
  get size(): number {
    return this.total;
  }

  /** Live sessions of one cart on this instance. */
  sessionsOf(cartId: string): number {
    return this.byCart.get(cartId)?.size ?? 0;
  }

  /** Throws 503 stream_capacity_reached (with Retry-After on `res`) when this instance holds all the sessions it may. */
  assertCapacity(res: Response): void {
    if (this.total < this.limits.maxTotal) return;
    res.setHeader('Retry-After', String(CAPACITY_RETRY_AFTER_S));
    throw streamCapacityReached(this.limits.maxTotal);
  }

  /**
   * Opens an event stream on the response; the first event (`ready`) carries the session id and the
   * cart's current version. Refused (nothing written) when the instance is full; closes the cart's
   * oldest session when the cart already has its maximum.
   */
  open(o: OpenStream, res: Response): string {
    this.assertCapacity(res);
    const session: Session = { id: randomUUID(), cartId: o.cartId, channel: o.channel, principal: o.principal, res, ended: false };
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const ready = { sessionId: session.id, cartId: o.cartId, channel: o.channel, version: o.version, expiresAt: o.expiresAt };
    res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify(ready)}\n\n`);

    // A Set iterates in insertion order: the first is the oldest.
    const held = [...(this.byCart.get(o.cartId) ?? [])];
    for (const oldest of held.slice(0, Math.max(0, held.length - this.limits.maxPerCart + 1))) {
      this.end(oldest, tooManyStreams(this.limits.maxPerCart));
    }
    const set = this.byCart.get(o.cartId) ?? new Set<Session>();
    this.byCart.set(o.cartId, set);
    set.add(session);
    this.total++;
    if (o.expiresAt !== null) this.expireAt(session, o.expiresAt);
    res.on('close', () => this.forget(session));
    // A client gone while the gates were read never emits 'close' again: do not count it.
    if (res.destroyed || !res.socket || res.socket.destroyed) this.forget(session);
    return session.id;
  }

  /** Ends every session of a customer's cart on this instance with `closure` as its final event; returns how many. */
  closeCustomer(customerId: string, closure: StreamClosure): number {
    const sessions = [...(this.byCart.get(customerId) ?? [])];
    for (const s of sessions) this.end(s, closure);
    if (sessions.length) this.logger.info('cart streams closed', { customerId, reason: closure.code, sessions: sessions.length });
    return sessions.length;
  }

  /**
   * Ends this instance's sessions opened with a token of customer `subject` that `isRevoked` says is
   * revoked now (one session, or every session up to an instant: the trust state decides per token);
   * returns how many.
   */
  closeRevoked(subject: string, isRevoked: (p: Principal) => boolean, closure: StreamClosure): number {
    const sessions = [...(this.byCart.get(subject) ?? [])].filter((s) => s.principal?.sub === subject && isRevoked(s.principal));
    for (const s of sessions) this.end(s, closure);
    if (sessions.length) this.logger.info('cart streams closed', { customerId: subject, reason: closure.code, sessions: sessions.length });
    return sessions.length;
  }

  /** Pushes one CartChanged to every session of its cart on this instance; returns how many got it. */
  deliver(e: CartChanged): number {
    const last = this.lastVersion.peek(e.cartId) ?? 0;
    if (e.version <= last) return 0;
    this.lastVersion.set(e.cartId, e.version);
    const sessions = this.byCart.get(e.cartId);
    if (!sessions?.size) return 0;
    const lines = e.lines.map((l) => ({ ...l, addedAt: new Date(l.addedAt).toISOString() }));
    const base = {
      eventId: e.envelope.eventId,
      cartId: e.cartId,
      version: e.version,
      change: e.change,
      sourceChannel: e.envelope.sourceChannel,
      occurredAt: e.envelope.occurredAt,
      lines,
      wishlist: e.wishlist,
    };
    const byChannel = new Map<string | null, Session[]>();
    for (const s of sessions) byChannel.set(s.channel, [...(byChannel.get(s.channel) ?? []), s]);
    const state: CartState = { lines: e.lines.map((l) => ({ ...l })), wishlist: [...e.wishlist], version: e.version };
    const write = async (): Promise<void> => {
      for (const [channel, list] of byChannel) {
        const view = this.pricer ? await this.priced(e.cartId, channel, state) : null;
        const frame = `id: ${e.version}\nevent: cart-changed\ndata: ${JSON.stringify(view ? { ...base, view } : base)}\n\n`;
        for (const s of list) if (!s.ended) s.res.write(frame);
      }
      this.logger.debug('cart change pushed', { cartId: e.cartId, version: e.version, sessions: sessions.size });
    };
    // Pricing is asynchronous: a cart's frames are chained so they leave in version order.
    const next = (this.pushing.get(e.cartId) ?? Promise.resolve())
      .then(write)
      .catch((err: unknown) => void this.logger.warn('cart change not pushed', { cartId: e.cartId, version: e.version, err: String(err) }));
    this.pushing.set(e.cartId, next);
    void next.finally(() => this.pushing.get(e.cartId) === next && this.pushing.delete(e.cartId));
    return sessions.size;
  }

  /** The view for a session's channel; null (the frame carries the lines only) when it cannot be rendered now. */
  private async priced(cartId: string, channel: string | null, state: CartState): Promise<object | null> {
    try {
      return await this.pricer!(cartId, channel, state);
    } catch (err) {
      this.logger.warn('pushed cart not priced', { cartId, channel, err: String(err) });
      return null;
    }
  }

  closeAll(): void {
    clearInterval(this.heartbeat);
    this.each((s) => {
      this.forget(s);
      s.res.end();
    });
    this.byCart.clear();
  }

  /** Ends the session at `expiresAt`, in steps no longer than setTimeout allows. */
  private expireAt(session: Session, expiresAt: number): void {
    const wait = expiresAt - Date.now();
    if (wait <= 0) return this.end(session, tokenExpired(expiresAt));
    session.expiry = setTimeout(() => this.expireAt(session, expiresAt), Math.min(wait, MAX_TIMER_MS));
    session.expiry.unref();
  }

  /** Writes the final event (named by its code) and ends the response. */
  private end(session: Session, closure: StreamClosure): void {
    if (session.ended) return;
    this.forget(session);
    const { code, message, hint, details } = closure;
    session.res.write(`event: ${code}\ndata: ${JSON.stringify({ code, message, hint, ...(details ? { details } : {}) })}\n\n`);
    session.res.end();
  }

  /** Drops a session from the hub once (on its end, or when the client goes away). */
  private forget(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.expiry);
    this.total--;
    const set = this.byCart.get(session.cartId);
    set?.delete(session);
    if (set && !set.size) this.byCart.delete(session.cartId);
  }

  private each(fn: (s: Session) => void): void {
    for (const set of [...this.byCart.values()]) for (const s of [...set]) fn(s);
  }
}
