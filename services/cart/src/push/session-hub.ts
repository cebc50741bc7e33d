import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CartChanged } from '@omnimall/contracts';
import type { Logger, Validated } from '@omnimall/service-kit';

type Response = Validated<unknown, unknown, unknown>['res'];

/**
 * The Server-Sent Events sessions this instance holds, by cart id.
 *
 * A change is pushed from Kafka, never from the request that made it: every instance consumes
 * cart.cart-changed with a consumer group of its own, so whichever instance handled the write, every
 * instance sees the event and writes it to the sessions it holds. Delivery is at least once; a cart's
 * versions only grow, so an event at or below the last version pushed for that cart is dropped. The
 * last versions are kept for the VERSIONS_KEPT most recently changed carts.
 */
interface Session {
  id: string;
  channel: string | null;
  res: Response;
}

const HEARTBEAT_MS = 15000;
const VERSIONS_KEPT = 10000;

export class SessionHub {
  private readonly byCart = new Map<string, Set<Session>>();
  /** Last version pushed per cart, least recently changed out first (reading it does not count). */
  private readonly lastVersion = new LRUCache<string, number>({ max: VERSIONS_KEPT });
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly logger: Logger) {
    this.heartbeat = setInterval(() => this.each((s) => s.res.write(': keep-alive\n\n')), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    let n = 0;
    for (const set of this.byCart.values()) n += set.size;
    return n;
  }

  /** Opens an event stream on the response; the first event (`ready`) carries the session id and the cart's current version. */
  open(cartId: string, channel: string | null, version: number, res: Response): string {
    const session: Session = { id: randomUUID(), channel, res };
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ sessionId: session.id, cartId, channel, version })}\n\n`);
    const set = this.byCart.get(cartId) ?? new Set<Session>();
    set.add(session);
    this.byCart.set(cartId, set);
    res.on('close', () => {
      set.delete(session);
      if (!set.size && this.byCart.get(cartId) === set) this.byCart.delete(cartId);
    });
    return session.id;
  }

  /** Pushes one CartChanged to every session of its cart on this instance; returns how many got it. */
  deliver(e: CartChanged): number {
    const last = this.lastVersion.peek(e.cartId) ?? 0;
    if (e.version <= last) return 0;
    this.lastVersion.set(e.cartId, e.version);
    const sessions = this.byCart.get(e.cartId);
    if (!sessions?.size) return 0;
    const data = JSON.stringify({
      eventId: e.envelope.eventId,
      cartId: e.cartId,
      version: e.version,
      change: e.change,
      sourceChannel: e.envelope.sourceChannel,
      occurredAt: e.envelope.occurredAt,
      lines: e.lines.map((l) => ({ ...l, addedAt: new Date(l.addedAt).toISOString() })),
      wishlist: e.wishlist,
    });
    const frame = `id: ${e.version}\nevent: cart-changed\ndata: ${data}\n\n`;
    for (const s of sessions) s.res.write(frame);
    this.logger.debug('cart change pushed', { cartId: e.cartId, version: e.version, sessions: sessions.size });
    return sessions.size;
  }

  private each(fn: (s: Session) => void): void {
    for (const set of this.byCart.values()) for (const s of set) fn(s);
  }

  closeAll(): void {
    clearInterval(this.heartbeat);
    this.each((s) => s.res.end());
    this.byCart.clear();
  }
}
