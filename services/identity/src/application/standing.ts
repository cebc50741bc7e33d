import type { Customer } from '../domain/customer';
import { applyStandingChange, changeName, type StandingChange } from '../domain/standing';
import { customerStatusChanged } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound, mergedAway, standingOf } from './customers';
import { revokeAllSessions } from './sessions';

/** Applies a standing change and commits CustomerStatusChanged with it; bans and suspensions close every session. */
export async function changeStanding(
  ctx: IdentityContext,
  id: string,
  change: StandingChange,
  meta: Pick<RequestMeta, 'correlationId' | 'channel'> = { channel: null },
): Promise<Customer> {
  const doc = await ctx.store.customers.transact(id, (c) => {
    if (!c) throw customerNotFound(id);
    if (c.mergedInto) throw mergedAway(id, c.mergedInto, 'act on', { mergedInto: c.mergedInto });
    const next = applyStandingChange(standingOf(c), change);
    const after: Customer = { ...c, ...next, version: c.version + 1, updatedAt: new Date() };
    return {
      set: {
        status: after.status,
        reason: after.reason,
        until: after.until,
        loyaltyTier: after.loyaltyTier,
        verified: after.verified,
        dataRegion: after.dataRegion,
        version: after.version,
        updatedAt: after.updatedAt,
      },
      events: [
        customerStatusChanged(after, changeName[change.kind], { correlationId: meta.correlationId, sourceChannel: meta.channel ?? null }),
      ],
    };
  });
  if (change.kind === 'ban' || change.kind === 'suspend') await revokeAllSessions(ctx, id, change.kind === 'ban' ? 'banned' : 'suspended');
  return doc!;
}
