import { UnprocessableError } from '@omnimall/service-kit/errors';
import { CONSENT_PURPOSES, type ConsentEntry, type ConsentPurpose } from '../domain/customer';
import { consentChanged } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { customerNotFound, mergedAway } from './customers';

/**
 * Grants or withdraws consents on one channel, each with its time and source, and announces the
 * channel's full consent state (ConsentChanged) with the write. Purposes not named keep their state.
 */
export async function setConsents(
  ctx: IdentityContext,
  id: string,
  channel: string,
  input: Partial<Record<ConsentPurpose, boolean>> & { source: string },
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<Partial<Record<ConsentPurpose, ConsentEntry>>> {
  const at = new Date();
  let state: Partial<Record<ConsentPurpose, ConsentEntry>> = {};
  await ctx.store.customers.transact(id, (c) => {
    if (!c) throw customerNotFound(id);
    if (c.mergedInto) throw mergedAway(id, c.mergedInto, 'act on');
    if (c.status === 'erased') throw new UnprocessableError('customer_erased', 'this customer was erased', 'nothing to consent to');
    state = { ...(c.consents?.[channel] ?? {}) };
    for (const purpose of CONSENT_PURPOSES) {
      const granted = input[purpose];
      if (granted !== undefined) state[purpose] = { granted, at, source: input.source };
    }
    const version = c.version + 1;
    return {
      // The whole consent map: the compare-and-set guarantees it is the one just read, plus this change.
      set: { consents: { ...c.consents, [channel]: state }, version, updatedAt: at },
      events: [consentChanged(id, version, channel, state, input.source, at.getTime(), { ...meta, sourceChannel: channel })],
    };
  });
  return state;
}
