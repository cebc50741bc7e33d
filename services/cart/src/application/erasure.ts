import { deviceCartsMergedInto, eraseCart } from '../domain/privacy';
import { cartChanged, type EventOrigin } from '../events/out/cart.cart-changed';
import type { CartRepository, ConsentRepository, PromotionRepository, StreamTicketRepository } from '../store';

/**
 * A customer's erasure (identity.data-request `erasure`) in the cart database: the device carts merged
 * into the customer's cart are emptied first, then the customer's cart and wishlist are emptied and
 * pseudonymised (domain/privacy.ts says what stays and why), then the stream tickets of all of them
 * are removed, then the customer's marketing consents and its place among the recipients of the stored
 * promotion notices (after the tombstone: see application/consents.ts). Each cart is one
 * compare-and-set through the outbox, its CartChanged `cleared` in the same write, so a crash anywhere
 * is finished by the redelivery: the merge marks naming the devices go last, with the customer's cart,
 * an erased cart is not written again, and the removals after it repeat harmlessly.
 */
export class CartErasure {
  constructor(
    private readonly carts: CartRepository,
    private readonly tickets: StreamTicketRepository,
    private readonly consents: Pick<ConsentRepository, 'forget'>,
    private readonly notices: Pick<PromotionRepository, 'forgetRecipient'>,
  ) {}

  /** Returns the ids of the carts erased (the customer's first). */
  async eraseCustomer(customerId: string, origin: EventOrigin): Promise<string[]> {
    const devices = deviceCartsMergedInto(await this.carts.get(customerId));
    for (const deviceCart of devices) await this.erase(deviceCart, origin, false);
    await this.erase(customerId, origin, true);
    const cartIds = [customerId, ...devices];
    await this.tickets.forgetCarts(cartIds);
    await this.consents.forget(customerId);
    await this.notices.forgetRecipient(customerId);
    return cartIds;
  }

  /** Empties one cart; `tombstone` writes an erased, empty cart even when there was none. */
  private async erase(cartId: string, origin: EventOrigin, tombstone: boolean): Promise<void> {
    await this.carts.transact(
      cartId,
      (cur) => {
        const erasure = eraseCart(cur, Date.now());
        if (!erasure) return null;
        return { set: erasure.set, events: erasure.announce ? [cartChanged(cartId, erasure.state, 'cleared', origin)] : [] };
      },
      { upsert: tombstone },
    );
  }
}
