/**
 * identity.data-request: catalog-sync holds no customer personal data, so an erasure (or an export)
 * has nothing to act on here and is acknowledged as applied.
 *
 * Why nothing (checked against src/store): every collection holds catalogue data (products, local
 * items, assignments, rules, staged diffs, conflicts, evidence, refusals, SKU claims, bulk jobs, the
 * journal and intents), channel data (the `channels` projection of channels.channel-changed) or staff
 * ids (sellerId, actor, decidedBy, resolvedBy: staff, never customers). Every route is for staff
 * (sellers, channel managers, compliance officers, admins), no consumed topic carries a customer, and
 * nothing is copied from a request into the store but catalogue fields written by staff.
 * The subscription dedupes through the kit's inbox, so a redelivery is reported as a duplicate.
 */
import type { EventHandler } from '@omnimall/service-kit';

export function dataRequestIn(): EventHandler<'identity.data-request'> {
  return async () => {
    // nothing stored concerns a customer: applied as is
  };
}
