import type { EventHandler, ProjectionRepository } from '@omnimall/service-kit';
import type { CartView } from '../../domain/checkout';

/** A customer's global cart (full state, at its version): what a checkout orders. Anonymous carts are not ordered. */
export function cartChangedIn(carts: ProjectionRepository<CartView>): EventHandler<'cart.cart-changed'> {
  return async (e, ctx) => {
    if (!e.customerId) return ctx.skip();
    await carts.project(
      ctx,
      e.cartId,
      {
        cartId: e.cartId,
        customerId: e.customerId,
        version: e.version,
        lines: e.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, channel: l.channel })),
      },
      e.version,
    );
  };
}
