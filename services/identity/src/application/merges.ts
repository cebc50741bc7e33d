import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, UnprocessableError } from '@omnimall/service-kit/errors';
import type { MergeRecord } from '../domain/customer';
import { customerMerged } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound, getCustomer, profileView } from './customers';
import { revocationEvents, revocationOf } from './revocations';
import { revokeAllSessions } from './sessions';

/**
 * Folds `source` into `target`: the source is marked merged (with the CustomerMerged event and the
 * revocation of every token of the source in the same write), its linked identities are re-pointed,
 * its sessions closed, and the merge is kept as evidence (who, why, what moved, a snapshot of the
 * source; the snapshot is emptied after MERGE_SNAPSHOT_RETENTION_DAYS and at an erasure).
 */
export async function mergeCustomers(
  ctx: IdentityContext,
  input: { sourceCustomerId: string; targetCustomerId: string; reason: string; evidence: Record<string, unknown> },
  mergedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<MergeRecord> {
  const { sourceCustomerId: sourceId, targetCustomerId: targetId } = input;
  if (sourceId === targetId)
    throw new UnprocessableError('merge_same_customer', 'a profile cannot be merged into itself', 'name two different customers');
  const target = await getCustomer(ctx, targetId);
  if (target.mergedInto)
    throw new UnprocessableError(
      'target_merged',
      `the target was itself merged into ${target.mergedInto}`,
      `merge into ${target.mergedInto} instead`,
    );
  if (target.status === 'erased')
    throw new UnprocessableError('customer_erased', 'the target profile was erased', 'merge into a live profile');
  let snapshot: Record<string, unknown> = {};
  await ctx.store.customers.transact(sourceId, (c) => {
    if (!c) throw customerNotFound(sourceId);
    if (c.mergedInto)
      throw new ConflictError('already_merged', `customer ${sourceId} was already merged into ${c.mergedInto}`, 'nothing to do', {
        mergedInto: c.mergedInto,
      });
    if (c.status === 'erased') throw new UnprocessableError('customer_erased', 'the source profile was erased', 'nothing to merge');
    snapshot = { ...profileView(c), consents: c.consents, version: c.version };
    const at = new Date();
    return {
      set: { mergedInto: targetId, version: c.version + 1, updatedAt: at },
      events: [
        customerMerged(sourceId, targetId, target.version, mergedBy, meta),
        ...revocationEvents([revocationOf(ctx, { sub: sourceId, kind: 'customer' }, 'merged', null, at)], meta),
      ],
    };
  });
  const moved = await ctx.store.links.repoint(sourceId, targetId);
  await revokeAllSessions(ctx, sourceId, 'merged');
  const record: MergeRecord = {
    _id: randomUUID(),
    sourceCustomerId: sourceId,
    targetCustomerId: targetId,
    mergedBy,
    reason: input.reason,
    evidenceJson: JSON.stringify(input.evidence),
    movedIdentities: moved,
    sourceSnapshot: snapshot,
    at: new Date(),
  };
  await ctx.store.merges.create(record);
  return record;
}

export async function getMerge(ctx: IdentityContext, id: string): Promise<MergeRecord> {
  const m = await ctx.store.merges.get(id);
  if (!m) throw new NotFoundError('merge_not_found', `no merge ${id}`, 'check the merge id');
  return m;
}
