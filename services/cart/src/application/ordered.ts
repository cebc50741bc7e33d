import { removeOrdered } from '../domain/cart';
import { cartChanged, type EventOrigin } from '../events/out/cart.cart-changed';
import type { CartRepository } from '../store';

/** Order marks kept on a cart (the latest orders whose lines left it). */
const ORDER_MARKS_KEPT = 50;

/**
 * A confirmed order empties its cart of what it ordered, on every device at once (the CartChanged
 * `ordered` reaches every live session). One compare-and-set through the outbox; the order's mark on
 * the cart makes a replay, or a later status of the same order, take nothing more.
 */
export class CartOrders {
  constructor(private readonly carts: CartRepository) {}

  /** The cart's version after the ordered lines left it, or null when nothing changed. */
  async ordered(
    cartId: string,
    orderId: string,
    lines: readonly { sku: string; quantity: number }[],
    origin: EventOrigin,
  ): Promise<number | null> {
    let wrote = false;
    const doc = await this.carts.transact(cartId, (cur) => {
      wrote = false;
      if (!cur || cur.orderedBy.includes(orderId) || cur.erasedAt !== null) return null;
      wrote = true;
      const orderedBy = [...cur.orderedBy, orderId].slice(-ORDER_MARKS_KEPT);
      const decision = removeOrdered(cur, lines);
      if (!decision) return { set: { orderedBy }, events: [] };
      return {
        set: { ...decision.state, orderedBy, updatedAt: Date.now() },
        events: [cartChanged(cartId, decision.state, decision.change, origin)],
      };
    });
    return wrote && doc ? doc.version : null;
  }
}
