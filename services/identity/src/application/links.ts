import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError, ValidationError } from '@omnimall/service-kit/errors';
import { channelScopeRefusal, type Grants, type LinkedIdentityType } from '@omnimall/contracts';
import { linkKey, type LinkedIdentity } from '../domain/customer';
import { identityLinked } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound, mergedAway, resolveCustomer } from './customers';

/** Who asks for a link: the customer themself (with a device's proof), staff, or a channel app (its API key). */
export type LinkCaller =
  | { kind: 'customer'; customerId: string; channel: string | null; device: { deviceId: string } | null }
  | { kind: 'staff'; staffId: string; grants: Grants }
  | { kind: 'channel'; channel: string };

/** What a caller asks to link; `channel` is where the identifier came from (staff name it, others' is their own). */
export interface LinkRequest {
  type: LinkedIdentityType;
  externalId: string;
  channel: string | null;
}

/** Identifiers only the partner's or channel's side can vouch for: never linked by the customer. */
const VOUCHED_BY_CHANNEL: readonly LinkedIdentityType[] = ['partner_account', 'external_login'];

const channelMismatch = (named: string, own: string): ForbiddenError =>
  new ForbiddenError('channel_mismatch', `channel ${named} is not the channel of this request (${own})`, `omit channel or send ${own}`, {
    channel: named,
    requestChannel: own,
  });

/**
 * Who may link what to `customerId` (issue 17, finding 7), and the channel the link is recorded
 * under. A customer links to themself only a device or app installation, and only with its device
 * token (proof of possession, checked by the caller against the session's channel): a bare id would
 * let anyone claim another person's device and its anonymous cart. Partner accounts and external
 * logins are vouched for by the channel (its API key) or by staff acting on that channel (an admin,
 * or a channel manager whose scope holds it), never by the customer.
 */
export function linkDecision(caller: LinkCaller, customerId: string, req: LinkRequest): { channel: string; linkedBy: string } {
  if (caller.kind === 'channel') {
    if (req.channel && req.channel !== caller.channel) throw channelMismatch(req.channel, caller.channel);
    return { channel: caller.channel, linkedBy: `channel:${caller.channel}` };
  }
  if (caller.kind === 'staff') {
    if (!req.channel)
      throw new ValidationError(
        'channel_required',
        'the channel the identifier came from is unknown',
        'send `channel` in the body or the x-channel-code header',
      );
    const refusal = channelScopeRefusal(caller.grants, req.channel);
    if (refusal) throw new ForbiddenError(...refusal);
    return { channel: req.channel, linkedBy: caller.staffId };
  }
  if (caller.customerId !== customerId)
    throw new ForbiddenError('not_allowed_for_customer', 'you may not act on this customer', 'act on your own profile only');
  if (VOUCHED_BY_CHANNEL.includes(req.type))
    throw new ForbiddenError(
      'link_requires_channel',
      `a ${req.type} is linked by the channel or staff, not by the customer`,
      'the channel app links it with its API key (x-channel-code + x-channel-key), or staff of the channel do',
    );
  if (!caller.channel)
    throw new ForbiddenError('channel_required', 'this session is bound to no channel', 'log in again through the channel app');
  if (req.channel && req.channel !== caller.channel) throw channelMismatch(req.channel, caller.channel);
  if (!caller.device)
    throw new ValidationError(
      'device_token_required',
      `linking a ${req.type} needs its device token`,
      'send deviceToken: the token POST /devices issued to this device',
    );
  if (caller.device.deviceId !== req.externalId)
    throw new ForbiddenError(
      'device_token_mismatch',
      'the device token is for another device',
      'send the externalId the device token was issued for (its deviceId)',
    );
  return { channel: caller.channel, linkedBy: customerId };
}

/**
 * Links an external identifier to a customer. The link's `_id` is `<type>:<externalId>`, so the
 * unique insert decides a race; an identifier held by another profile is a 409
 * `identity_already_linked`, which names the holder only to staff (`revealOwner`): a customer or a
 * channel app learns that it is taken, never by whom. The IdentityLinked event is committed with the
 * customer's version bump (outbox).
 */
export async function linkIdentity(
  ctx: IdentityContext,
  customerId: string,
  link: { type: LinkedIdentityType; externalId: string; channel: string },
  linkedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> & { revealOwner?: boolean } = {},
): Promise<{ created: boolean; link: LinkedIdentity }> {
  const key = linkKey(link.type, link.externalId);
  const links = ctx.store.links;
  const conflict = (existing: LinkedIdentity): ConflictError =>
    meta.revealOwner
      ? new ConflictError(
          'identity_already_linked',
          `${link.type} ${link.externalId} already belongs to another customer profile`,
          'merge the two profiles if they are the same person (POST /admin/merges)',
          {
            identity: { type: link.type, externalId: link.externalId },
            existingCustomerId: existing.customerId,
            requestedCustomerId: customerId,
          },
        )
      : new ConflictError(
          'identity_already_linked',
          `this ${link.type} is already linked to another account`,
          'sign in with the account it belongs to, or ask support to merge the accounts',
          { identity: { type: link.type, externalId: link.externalId } },
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
      events: [identityLinked(customerId, version, link, { correlationId: meta.correlationId, sourceChannel: link.channel })],
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
