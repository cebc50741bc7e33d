import { ForbiddenError } from '@omnimall/service-kit/errors';
import { DEVICE_PREFIX, emptyCart, type CartRecord, type CartState } from './cart';

/**
 * What the cart keeps of a person, and for how long (pure rules; application/erasure.ts and
 * application/retention.ts apply them).
 *
 * A cart holds no names, e-mails or addresses, but its lines and wishlist say what someone meant to
 * buy, and its merge marks name the devices they shopped on. So on an erasure (identity's
 * DataSubjectRequest `erasure`) the customer's cart is **emptied and pseudonymised, not deleted**: the
 * lines, the wishlist, the merge marks (device ids) and any merge in flight go, and `erasedAt` is set.
 * The empty document stays as a tombstone so that a merge still on its way (the merge consumer group
 * runs apart from the erasure's) cannot fill the cart again; it names nobody but the customer id,
 * which identity keeps as the pseudonym. The change is published as CartChanged `cleared` with no
 * lines, so consumers of cart.cart-changed converge on an empty cart too. The device carts merged into
 * it are emptied the same way and then removed by the retention pass.
 *
 * Retention: an anonymous device cart nobody has touched for `CART_DEVICE_CART_RETENTION_DAYS` (default
 * 30) is removed, and so is an erased one; a device cart is never removed while it has events not yet
 * published or a merge in flight (store/carts.ts holds the filter).
 */

export const DEFAULT_DEVICE_CART_RETENTION_DAYS = 30;
export const DAY_MS = 86_400_000;

/** What an erasure writes on one cart, and the state its CartChanged (if any) carries. */
export interface Erasure {
  set: Pick<CartRecord, 'lines' | 'wishlist' | 'version' | 'mergedSources' | 'orderedBy' | 'pendingMerge' | 'erasedAt' | 'updatedAt'>;
  /** The emptied state, announced as CartChanged `cleared` when `announce` (the cart had content). */
  state: CartState;
  announce: boolean;
}

/**
 * The erasure of one cart (null: the cart is already erased and holds nothing). A missing cart is
 * written as an empty tombstone at version 0, announced to nobody.
 */
export function eraseCart(cur: CartRecord | null, now: number): Erasure | null {
  if (cur && cur.erasedAt !== null && isBare(cur)) return null;
  const base = cur ?? emptyCart();
  const announce = base.lines.length > 0 || base.wishlist.length > 0;
  const version = announce ? base.version + 1 : base.version;
  return {
    set: { lines: [], wishlist: [], version, mergedSources: [], orderedBy: [], pendingMerge: null, erasedAt: now, updatedAt: now },
    state: { lines: [], wishlist: [], version },
    announce,
  };
}

function isBare(c: CartRecord): boolean {
  return !c.lines.length && !c.wishlist.length && !c.mergedSources.length && !c.pendingMerge;
}

/** The device carts (`device:<id>`) merged into a cart, by their marks: erased with their customer. */
export function deviceCartsMergedInto(cart: CartRecord | null): string[] {
  return (cart?.mergedSources ?? []).map((m) => m.source).filter((s) => s.startsWith(DEVICE_PREFIX));
}

/**
 * The state a write starts from. A customer's erased cart takes no more writes (403 customer_erased,
 * as the customer gate says once identity's status arrives); a device's erased cart starts afresh, as
 * a device seen for the first time (its holder is anonymous again), keeping its version so ETags and
 * pushed versions only grow.
 */
export function writableState(cur: CartRecord | null): CartState {
  if (!cur) return emptyCart();
  if (cur.erasedAt === null) return cur;
  if (!cur.cartId.startsWith(DEVICE_PREFIX)) throw cartErased();
  return { lines: [], wishlist: [], version: cur.version };
}

export const cartErased = (): ForbiddenError =>
  new ForbiddenError('customer_erased', 'this customer account was erased', 'register a new account to shop again');

/** Device carts untouched since before this instant are past retention. */
export function retentionCutoff(now: number, retentionDays: number): number {
  return now - retentionDays * DAY_MS;
}
