import { UnprocessableError } from '@omnimall/service-kit/errors';

/**
 * The cart and wishlist as pure data, and every rule that changes them. No I/O here: the HTTP
 * handlers and the merge handlers load a cart, call these functions inside the outbox's compare-and-set,
 * and write what they return.
 */
export interface CartLine {
  sku: string;
  quantity: number;
  /** Channel the line was first added on; kept when other channels change the quantity. */
  channel: string;
  /** When the line was first added (epoch millis). */
  addedAt: number;
}

export interface CartState {
  lines: CartLine[];
  wishlist: string[];
  version: number;
}

/** A source cart's content taken for a merge, kept on the source cart until the target has it. */
export interface PendingMerge {
  into: string;
  lines: CartLine[];
  wishlist: string[];
  sourceVersion: number;
}

/** A source cart already merged into this one, with the source version merged: replays become no-ops. */
export interface MergeMark {
  source: string;
  version: number;
}

/** A cart as stored: its content plus what the merge steps record on it. */
export interface CartRecord extends CartState {
  cartId: string;
  customerId: string | null;
  mergedSources: MergeMark[];
  /** Orders whose lines already left this cart (the latest ones): a replayed confirmation takes nothing twice. */
  orderedBy: string[];
  pendingMerge: PendingMerge | null;
  /** When it was last written (epoch millis). */
  updatedAt: number;
  /**
   * When its holder's data was erased (domain/privacy.ts), else null. A customer's erased cart stays
   * empty for good (a tombstone: late merges into it are dropped); a device's is removed by retention.
   */
  erasedAt: number | null;
}

/** Most units of one SKU a cart holds; merges clamp to it, direct writes above it are refused. */
export const MAX_LINE_QUANTITY = 99;
/** Most distinct SKUs in one cart, and in one wishlist. */
export const MAX_LINES = 100;
export const MAX_WISHLIST = 200;

export const DEVICE_PREFIX = 'device:';

export function emptyCart(): CartState {
  return { lines: [], wishlist: [], version: 0 };
}

/** A customer's cart id is the customer id; an anonymous cart's is `device:<deviceId>`. */
export function deviceCartId(deviceId: string): string {
  return `${DEVICE_PREFIX}${deviceId}`;
}

export function customerOfCart(cartId: string): string | null {
  return cartId.startsWith(DEVICE_PREFIX) ? null : cartId;
}

export type CartCommand =
  | { kind: 'add'; sku: string; quantity: number; channel: string; at: number }
  | { kind: 'set'; sku: string; quantity: number; channel: string; at: number }
  | { kind: 'remove'; sku: string }
  | { kind: 'clear' }
  | { kind: 'wish'; sku: string }
  | { kind: 'unwish'; sku: string };

/** The `change` field of CartChanged. */
export type ChangeKind = 'line_added' | 'line_updated' | 'line_removed' | 'wishlist_changed' | 'merged' | 'cleared' | 'ordered';

export interface Decision {
  state: CartState;
  change: ChangeKind;
}

function capError(sku: string, wanted: number): UnprocessableError {
  return new UnprocessableError(
    'line_quantity_cap',
    `a cart holds at most ${MAX_LINE_QUANTITY} units of ${sku}; this change would make it ${wanted}`,
    `keep the quantity of ${sku} at ${MAX_LINE_QUANTITY} or less`,
    { sku, max: MAX_LINE_QUANTITY, wanted },
  );
}

/**
 * Applies one command to a cart. Returns the new state (version + 1) and the kind of change, or null
 * when the command changes nothing (removing an absent line, wishing an already wished SKU).
 */
export function applyCommand(cart: CartState, cmd: CartCommand): Decision | null {
  const next = (lines: CartLine[], wishlist: string[], change: ChangeKind): Decision => ({
    state: { lines, wishlist, version: cart.version + 1 },
    change,
  });
  const existing = 'sku' in cmd ? cart.lines.find((l) => l.sku === cmd.sku) : undefined;
  switch (cmd.kind) {
    case 'add':
    case 'set': {
      const quantity = cmd.kind === 'add' ? (existing?.quantity ?? 0) + cmd.quantity : cmd.quantity;
      if (quantity > MAX_LINE_QUANTITY) throw capError(cmd.sku, quantity);
      if (quantity <= 0)
        return existing
          ? next(
              cart.lines.filter((l) => l.sku !== cmd.sku),
              cart.wishlist,
              'line_removed',
            )
          : null;
      if (existing) {
        if (existing.quantity === quantity) return null;
        return next(
          cart.lines.map((l) => (l.sku === cmd.sku ? { ...l, quantity } : l)),
          cart.wishlist,
          'line_updated',
        );
      }
      if (cart.lines.length >= MAX_LINES) {
        throw new UnprocessableError(
          'cart_full',
          `a cart holds at most ${MAX_LINES} different items`,
          'remove a line before adding another item',
          { max: MAX_LINES },
        );
      }
      return next([...cart.lines, { sku: cmd.sku, quantity, channel: cmd.channel, addedAt: cmd.at }], cart.wishlist, 'line_added');
    }
    case 'remove':
      return existing
        ? next(
            cart.lines.filter((l) => l.sku !== cmd.sku),
            cart.wishlist,
            'line_removed',
          )
        : null;
    case 'clear':
      return cart.lines.length || cart.wishlist.length ? next([], [], 'cleared') : null;
    case 'wish':
      if (cart.wishlist.includes(cmd.sku)) return null;
      if (cart.wishlist.length >= MAX_WISHLIST) {
        throw new UnprocessableError(
          'wishlist_full',
          `a wishlist holds at most ${MAX_WISHLIST} items`,
          'remove an item from the wishlist first',
          { max: MAX_WISHLIST },
        );
      }
      return next(cart.lines, [...cart.wishlist, cmd.sku], 'wishlist_changed');
    case 'unwish':
      return cart.wishlist.includes(cmd.sku)
        ? next(
            cart.lines,
            cart.wishlist.filter((s) => s !== cmd.sku),
            'wishlist_changed',
          )
        : null;
  }
}

/**
 * The merge rule, used when a device cart meets its customer at login (IdentityLinked) and when an
 * admin folds one customer into another (CustomerMerged):
 *  - a SKU in both carts keeps the target's line (its channel and addedAt) with the quantities
 *    summed, clamped to MAX_LINE_QUANTITY;
 *  - a SKU only in the source is appended with its own channel and addedAt, while the cart has
 *    room (MAX_LINES); what does not fit is reported in `dropped`;
 *  - wishlists are united, target order first, then the source's new SKUs (up to MAX_WISHLIST).
 * Idempotence is not this function's job: the caller records which source version it merged.
 */
export function mergeCarts(
  target: Pick<CartState, 'lines' | 'wishlist'>,
  source: Pick<CartState, 'lines' | 'wishlist'>,
): { lines: CartLine[]; wishlist: string[]; dropped: string[] } {
  const lines = target.lines.map((l) => ({ ...l }));
  const dropped: string[] = [];
  for (const s of source.lines) {
    const t = lines.find((l) => l.sku === s.sku);
    if (t) t.quantity = Math.min(MAX_LINE_QUANTITY, t.quantity + s.quantity);
    else if (lines.length < MAX_LINES) lines.push({ ...s, quantity: Math.min(MAX_LINE_QUANTITY, s.quantity) });
    else dropped.push(s.sku);
  }
  const wishlist = [...target.wishlist];
  for (const sku of source.wishlist) if (!wishlist.includes(sku) && wishlist.length < MAX_WISHLIST) wishlist.push(sku);
  return { lines, wishlist, dropped };
}

/**
 * An order of this cart confirmed: its units leave the cart (a line ordered whole goes, one the customer
 * raised since keeps the rest); the wishlist stays. Null when none of the ordered SKUs is in the cart.
 */
export function removeOrdered(cart: CartState, ordered: readonly { sku: string; quantity: number }[]): Decision | null {
  const units = new Map<string, number>();
  for (const o of ordered) units.set(o.sku, (units.get(o.sku) ?? 0) + o.quantity);
  if (!cart.lines.some((l) => units.has(l.sku))) return null;
  const lines = cart.lines.flatMap((l) => {
    const left = l.quantity - (units.get(l.sku) ?? 0);
    return left > 0 ? [left === l.quantity ? l : { ...l, quantity: left }] : [];
  });
  return { state: { lines, wishlist: cart.wishlist, version: cart.version + 1 }, change: 'ordered' };
}
