import { newEvent, type OutgoingEvent } from '@omnimall/service-kit';
import { customerOfCart, type CartState, type ChangeKind } from '../../domain/cart';

/** Where a change comes from: the channel of the request (or of the event) that made it, and its correlation id. */
export interface EventOrigin {
  sourceChannel?: string | null;
  correlationId?: string;
}

/** The CartChanged event of one committed change: full cart and wishlist, keyed by cart id. */
export function cartChanged(cartId: string, state: CartState, change: ChangeKind, origin: EventOrigin): OutgoingEvent<'cart.cart-changed'> {
  return newEvent(
    'cart.cart-changed',
    {
      type: `cart.${change}`,
      producer: 'cart',
      aggregateId: cartId,
      aggregateVersion: state.version,
      sourceChannel: origin.sourceChannel ?? null,
      correlationId: origin.correlationId,
    },
    {
      cartId,
      customerId: customerOfCart(cartId),
      version: state.version,
      change,
      lines: state.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, channel: l.channel, addedAt: l.addedAt })),
      wishlist: [...state.wishlist],
    },
  );
}
