import type { EventHandler } from '@omnimall/service-kit';
import { erasureClosure } from '../../domain/streams';
import { mergeOrigin, type CustomerEraser, type SessionCloser } from './ports';

/**
 * A data-subject request carried out by identity. An erasure empties and pseudonymises the
 * customer's cart, wishlist and the device carts merged into them (application/erasure.ts; replay-safe,
 * and the shared group's inbox makes it once). An export asks nothing of the cart: identity assembles
 * it, and a cart holds no personal field of its own.
 */
export function dataRequestIn(eraser: CustomerEraser): EventHandler<'identity.data-request'> {
  return async (e, ctx) => {
    if (e.kind !== 'erasure') return;
    await eraser.eraseCustomer(e.customerId, mergeOrigin(ctx));
  };
}

/** This instance's live streams of an erased customer end (final event customer_erased); consumed by every instance. */
export function erasureToStreamsIn(sessions: SessionCloser): EventHandler<'identity.data-request'> {
  return async (e) => {
    if (e.kind === 'erasure') sessions.closeCustomer(e.customerId, erasureClosure());
  };
}
