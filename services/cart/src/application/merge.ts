import { customerOfCart, emptyCart, mergeCarts } from '../domain/cart';
import { cartChanged, type EventOrigin } from '../events/out/cart.cart-changed';
import type { CartRepository } from '../store';

/** Merge marks kept on a target cart (the latest sources merged into it). */
const MERGE_MARKS_KEPT = 50;

/**
 * Moves everything in one cart into another (a device cart at login, a customer folded into
 * another), without multi-document transactions and safely under crashes and replays, in three
 * single-document steps, each a compare-and-set through the outbox:
 *  1. take: the source's lines and wishlist move into `pendingMerge` on the source cart, which is
 *     emptied (CartChanged `cleared`). If a pendingMerge is already there (a crash or a replay after
 *     step 1), it is reused, so nothing is taken twice;
 *  2. give: the target merges the pending content (mergeCarts) and records (source, sourceVersion)
 *     in `mergedSources` in the same write (CartChanged `merged`); a target that already holds that
 *     mark skips, so a replay never sums twice;
 *  3. settle: the pendingMerge is removed from the source.
 * A crash between two steps is finished by the redelivery of the event. A target erased in the
 * meantime (application/erasure.ts) is not given anything: the source is emptied and the content dropped.
 */
export class CartMerges {
  constructor(private readonly carts: CartRepository) {}

  /** Returns the target's version after the merge, or null when there was nothing to merge. */
  async merge(sourceId: string, targetId: string, origin: EventOrigin): Promise<number | null> {
    if (sourceId === targetId) return null;
    const taken = await this.carts.transact(sourceId, (cur) => {
      if (!cur || cur.pendingMerge) return null;
      if (!cur.lines.length && !cur.wishlist.length) return null;
      const version = cur.version + 1;
      const emptied = { lines: [], wishlist: [], version };
      return {
        set: {
          ...emptied,
          pendingMerge: { into: targetId, lines: cur.lines, wishlist: cur.wishlist, sourceVersion: version },
          updatedAt: Date.now(),
        },
        events: [cartChanged(sourceId, emptied, 'cleared', origin)],
      };
    });
    const pending = taken?.pendingMerge;
    if (!pending) return null;

    const given = await this.carts.transact(
      pending.into,
      (cur) => {
        // An erased customer's cart takes nothing more: the pending content is dropped in step 3.
        if (cur && cur.erasedAt !== null) return null;
        const marks = cur?.mergedSources ?? [];
        if (marks.some((k) => k.source === sourceId && k.version >= pending.sourceVersion)) return null;
        const base = cur ?? emptyCart();
        const merged = mergeCarts(base, pending);
        const state = { lines: merged.lines, wishlist: merged.wishlist, version: base.version + 1 };
        const mergedSources = [...marks.filter((k) => k.source !== sourceId), { source: sourceId, version: pending.sourceVersion }].slice(
          -MERGE_MARKS_KEPT,
        );
        return {
          set: { ...state, customerId: customerOfCart(pending.into), mergedSources, updatedAt: Date.now() },
          events: [cartChanged(pending.into, state, 'merged', origin)],
        };
      },
      { upsert: true },
    );

    await this.carts.transact(sourceId, (cur) =>
      cur?.pendingMerge?.sourceVersion === pending.sourceVersion ? { set: { pendingMerge: null }, events: [] } : null,
    );
    return given?.version ?? null;
  }
}
