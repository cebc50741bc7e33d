import type { EventHandler } from '@omnimall/service-kit';
import type { PushTarget } from './ports';

/**
 * This instance's own view of every cart change (a group per instance): fanned out to the live
 * sessions it holds, whichever instance made the change. Nothing to dedupe in the database: the hub
 * drops versions it already pushed.
 */
export function cartChangedIn(hub: PushTarget): EventHandler<'cart.cart-changed'> {
  return async (e) => void hub.deliver(e);
}
