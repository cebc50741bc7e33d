import type { EventContext, HandlerMap, Outbox } from '@omnimall/service-kit';
import { customerOfCart, deviceCartId, emptyCart, mergeCarts } from '../domain/cart';
import type { CartModels } from '../store/models';
import { cartChanged } from './cart-changed';

/** Linked identity types whose id is the one a channel app sends as x-device-id. */
const DEVICE_IDENTITY_TYPES = new Set(['device', 'app_installation']);
const MERGE_MARKS_KEPT = 50;

/**
 * Moves everything in cart `sourceId` into cart `targetId`, without multi-document transactions and
 * safely under crashes and replays, in three single-document steps (each an outbox compare-and-set):
 *  1. take: the source's lines and wishlist move into `pendingMerge` on the source document, which
 *     is emptied (CartChanged `cleared`). If a pendingMerge is already there (a crash or a replay
 *     after step 1), it is reused, so nothing is taken twice;
 *  2. give: the target merges the pending content (mergeCarts) and records (source, sourceVersion)
 *     in `mergedSources` in the same write (CartChanged `merged`); a target that already holds that
 *     mark skips, so a replay never sums twice;
 *  3. settle: the pendingMerge is removed from the source.
 * Returns the target's version after the merge, or null when there was nothing to merge.
 */
export async function mergeCart(
  outbox: Outbox,
  m: CartModels,
  sourceId: string,
  targetId: string,
  origin: { sourceChannel: string | null; correlationId: string },
): Promise<number | null> {
  if (sourceId === targetId) return null;
  const taken = await outbox.transact(m.Cart, sourceId, (cur) => {
    if (!cur || cur.pendingMerge) return null;
    if (!cur.lines.length && !cur.wishlist.length) return null;
    const version = cur.version + 1;
    const emptied = { lines: [], wishlist: [], version };
    return {
      update: {
        $set: {
          ...emptied,
          pendingMerge: { into: targetId, lines: cur.lines, wishlist: cur.wishlist, sourceVersion: version },
          updatedAt: Date.now(),
        },
      },
      events: [cartChanged(sourceId, emptied, 'cleared', origin)],
    };
  });
  const pending = taken.doc?.pendingMerge;
  if (!pending) return null;

  const given = await outbox.transact(
    m.Cart,
    pending.into,
    (cur) => {
      const marks = cur?.mergedSources ?? [];
      if (marks.some((k) => k.source === sourceId && k.version >= pending.sourceVersion)) return null;
      const base = cur ?? { ...emptyCart(), _id: pending.into };
      const merged = mergeCarts(base, pending);
      const state = { lines: merged.lines, wishlist: merged.wishlist, version: base.version + 1 };
      const mergedSources = [...marks.filter((k) => k.source !== sourceId), { source: sourceId, version: pending.sourceVersion }].slice(
        -MERGE_MARKS_KEPT,
      );
      return {
        update: {
          $set: { ...state, customerId: customerOfCart(pending.into), mergedSources, updatedAt: Date.now() },
        },
        events: [cartChanged(pending.into, state, 'merged', origin)],
      };
    },
    { upsert: true },
  );

  await outbox.transact(m.Cart, sourceId, (cur) =>
    cur?.pendingMerge?.sourceVersion === pending.sourceVersion ? { update: { $set: { pendingMerge: null } }, events: [] } : null,
  );
  return given.doc?.version ?? null;
}

/** IdentityLinked merges the device cart into the customer's; CustomerMerged merges customer into customer. */
export function mergeHandlers(outbox: Outbox, m: CartModels): HandlerMap {
  const origin = (ctx: EventContext) => ({ sourceChannel: ctx.envelope.sourceChannel, correlationId: ctx.envelope.correlationId });
  return {
    'identity.identity-linked': async (e, ctx) => {
      ctx.channel = e.channel;
      if (!DEVICE_IDENTITY_TYPES.has(e.identityType)) return ctx.skip();
      await mergeCart(outbox, m, deviceCartId(e.externalId), e.customerId, origin(ctx));
    },
    'identity.customer-merged': async (e, ctx) => {
      await mergeCart(outbox, m, e.sourceCustomerId, e.targetCustomerId, origin(ctx));
    },
  };
}
