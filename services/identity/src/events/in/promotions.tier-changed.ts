import { AppError } from '@omnimall/service-kit/errors';
import type { EventHandler } from '@omnimall/service-kit';
import type { IdentityContext } from '../../application/context';
import { changeStanding } from '../../application/standing';

/**
 * promotions.tier-changed → the customer's loyalty tier, applied as the standing change `tier` (so
 * identity.customer-status is republished with it, as when an admin sets it). Effect-once by the
 * group's inbox; a customer already on that tier changes nothing (a replay after a crash), and a
 * customer identity does not know, merged away or erased is acknowledged without effect.
 */
export function tierChangedIn(ctx: IdentityContext): EventHandler<'promotions.tier-changed'> {
  return async (t, ectx) => {
    ectx.channel = t.envelope.sourceChannel;
    const c = await ctx.store.customers.get(t.customerId);
    if (!c || c.mergedInto || c.status === 'erased' || c.loyaltyTier === t.tier) return;
    try {
      await changeStanding(
        ctx,
        t.customerId,
        { kind: 'tier', loyaltyTier: t.tier },
        { correlationId: t.envelope.correlationId, channel: t.envelope.sourceChannel },
      );
    } catch (err) {
      // gone, merged or erased since the read: nothing to apply
      if (err instanceof AppError && (err.status === 404 || err.status === 422)) return;
      throw err;
    }
  };
}
