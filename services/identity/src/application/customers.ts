import { NotFoundError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { Consents, Customer } from '../domain/customer';
import type { Standing } from '../domain/standing';
import type { IdentityContext } from './context';

/** Reading customers, and the views of a customer every route answers with. */
export const customerNotFound = (id: string): NotFoundError =>
  new NotFoundError('customer_not_found', `no customer ${id}`, 'check the customer id');

/** 422 for a change aimed at a profile merged into another (`act` names what to do instead). */
export const mergedAway = (id: string, mergedInto: string, act: string, details?: Record<string, unknown>): UnprocessableError =>
  new UnprocessableError('customer_merged', `customer ${id} was merged into ${mergedInto}`, `${act} ${mergedInto} instead`, details);

export async function getCustomer(ctx: IdentityContext, id: string): Promise<Customer> {
  const c = await ctx.store.customers.get(id);
  if (!c) throw customerNotFound(id);
  return c;
}

/** The profile a merged id now belongs to (merges may chain; bounded). */
export async function resolveCustomer(ctx: IdentityContext, id: string): Promise<Customer> {
  let c = await getCustomer(ctx, id);
  for (let hops = 0; c.mergedInto && hops < 5; hops++) c = await getCustomer(ctx, c.mergedInto);
  return c;
}

/** Public view of a profile (personal data): never the password hash nor the outbox. */
export function profileView(c: Customer): Record<string, unknown> {
  return {
    id: c._id,
    email: c.email,
    displayName: c.displayName,
    dataRegion: c.dataRegion,
    registeredChannel: c.registeredChannel,
    standing: standingView(c),
    mergedInto: c.mergedInto,
    createdAt: new Date(c.createdAt).toISOString(),
  };
}

export function standingView(c: Customer): Record<string, unknown> {
  return { status: c.status, reason: c.reason, until: c.until, loyaltyTier: c.loyaltyTier, verified: c.verified, version: c.version };
}

export const standingOf = (c: Customer): Standing => ({
  status: c.status,
  reason: c.reason,
  until: c.until,
  loyaltyTier: c.loyaltyTier,
  verified: c.verified,
  dataRegion: c.dataRegion,
});

export function consentsView(consents: Consents): Record<string, Record<string, { granted: boolean; at: string; source: string }>> {
  const out: Record<string, Record<string, { granted: boolean; at: string; source: string }>> = {};
  for (const [channel, purposes] of Object.entries(consents ?? {})) {
    out[channel] = {};
    for (const [p, e] of Object.entries(purposes ?? {}))
      if (e) out[channel][p] = { granted: e.granted, at: new Date(e.at).toISOString(), source: e.source };
  }
  return out;
}
