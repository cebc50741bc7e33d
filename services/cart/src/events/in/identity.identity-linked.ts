import type { EventHandler } from '@omnimall/service-kit';
import { deviceCartId } from '../../domain/cart';
import { mergeOrigin, type CartMerger } from './ports';

/** Linked identity types whose id is the one a channel app sends as x-device-id. */
const DEVICE_IDENTITY_TYPES = new Set(['device', 'app_installation']);

/** A device linked to a customer (at login): the device cart is merged into the customer's; other identity types are skipped. */
export function identityLinkedIn(merger: CartMerger): EventHandler<'identity.identity-linked'> {
  return async (e, ctx) => {
    ctx.channel = e.channel;
    if (!DEVICE_IDENTITY_TYPES.has(e.identityType)) return ctx.skip();
    await merger.merge(deviceCartId(e.externalId), e.customerId, mergeOrigin(ctx));
  };
}
