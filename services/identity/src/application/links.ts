import { ConflictError, NotFoundError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { LinkedIdentityType } from '@omnimall/contracts';
import { linkKey, type LinkedIdentity } from '../domain/customer';
import { identityLinked } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound, mergedAway, resolveCustomer } from './customers';

/**
 * Links an external identifier to a customer. The link's `_id` is `<type>:<externalId>`, so the
 * unique insert decides a race; an identifier held by another profile is a 409 naming both.
 * The IdentityLinked event is committed with the customer's version bump (outbox).
 */
export async function linkIdentity(
  ctx: IdentityContext,
  customerId: string,
  link: { type: LinkedIdentityType; externalId: string; channel: string },
  linkedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<{ created: boolean; link: LinkedIdentity }> {
  const key = linkKey(link.type, link.externalId);
  const links = ctx.store.links;
  const conflict = (existing: LinkedIdentity): ConflictError =>
    new ConflictError(
      'identity_already_linked',
      `${link.type} ${link.externalId} already belongs to another customer profile`,
      'ask an admin to merge the two profiles (POST /admin/merges)',
      {
        identity: { type: link.type, externalId: link.externalId },
        existingCustomerId: existing.customerId,
        requestedCustomerId: customerId,
      },
    );
  const existing = await links.get(key);
  if (existing) {
    if (existing.customerId === customerId) return { created: false, link: existing };
    throw conflict(existing);
  }
  let created: LinkedIdentity | null = null;
  // The insert happens inside the decision (after the customer's checks) and at most once: when the
  // compare-and-set has to decide again, the link this call inserted still gets its version bump and event.
  await ctx.store.customers.transact(customerId, async (c) => {
    if (!c) throw customerNotFound(customerId);
    if (c.mergedInto) throw mergedAway(customerId, c.mergedInto, 'link the identity to', { mergedInto: c.mergedInto });
    if (c.status === 'erased')
      throw new UnprocessableError('customer_erased', 'this customer was erased', 'nothing can be linked to an erased profile');
    if (!created) {
      const doc: LinkedIdentity = {
        _id: key,
        type: link.type,
        externalId: link.externalId,
        customerId,
        channel: link.channel,
        linkedAt: new Date(),
        linkedBy,
      };
      if (!(await links.insert(doc))) {
        const winner = (await links.get(key))!;
        if (winner.customerId === customerId) return null;
        throw conflict(winner);
      }
      created = doc;
    }
    const version = c.version + 1;
    return {
      set: { version, updatedAt: new Date() },
      events: [identityLinked(customerId, version, link, { ...meta, sourceChannel: link.channel })],
    };
  });
  if (created) return { created: true, link: created };
  return { created: false, link: (await links.get(key))! };
}

export async function resolveIdentity(
  ctx: IdentityContext,
  type: LinkedIdentityType,
  externalId: string,
): Promise<{ link: LinkedIdentity; customerId: string }> {
  const link = await ctx.store.links.get(linkKey(type, externalId));
  if (!link)
    throw new NotFoundError(
      'identity_not_linked',
      `${type} ${externalId} is not linked to any customer`,
      'link it first (POST /customers/{id}/identities)',
    );
  return { link, customerId: (await resolveCustomer(ctx, link.customerId))._id };
}
