import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import type { Customer, DataRequest } from '../domain/customer';
import { erasedEmail, pseudonym } from '../domain/erasure';
import { applyStandingChange } from '../domain/standing';
import { customerStatusChanged, dataSubjectRequest } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { consentsView, customerNotFound, getCustomer, mergedAway, profileView, standingOf } from './customers';
import { revokeAllSessions } from './sessions';

/** Everything identity holds about one customer, as JSON (the export itself is recorded and announced). */
export async function exportCustomer(
  ctx: IdentityContext,
  id: string,
  requestedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<Record<string, unknown>> {
  const c = await getCustomer(ctx, id);
  const { links, sessions, merges, complianceRecords, dataRequests } = ctx.store;
  const [linked, opened, merged, violations, requests] = await Promise.all([
    links.ofCustomer(id),
    sessions.ofSubject(id),
    merges.involving(id),
    complianceRecords.ofCustomer(id),
    dataRequests.ofCustomer(id),
  ]);
  const request: DataRequest = { _id: randomUUID(), customerId: id, kind: 'export', requestedBy, at: new Date() };
  await dataRequests.create(request, [dataSubjectRequest(request._id, id, c.version, 'export', requestedBy, request.at.getTime(), meta)]);
  return {
    exportId: request._id,
    generatedAt: request.at.toISOString(),
    customer: { ...profileView(c), consents: consentsView(c.consents), erasedAt: c.erasedAt, version: c.version },
    linkedIdentities: linked.map((l) => ({
      type: l.type,
      externalId: l.externalId,
      channel: l.channel,
      linkedAt: l.linkedAt,
      linkedBy: l.linkedBy,
    })),
    sessions: opened.map((s) => ({
      id: s._id,
      channel: s.channel,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      revokedAt: s.revokedAt,
      revokedReason: s.revokedReason,
      address: s.address,
    })),
    merges: merged,
    complianceRecords: violations,
    dataRequests: [...requests, { ...request }],
  };
}

/**
 * Erasure: personal fields are replaced by pseudonyms (email → erased+<id>@erased.invalid, a salted
 * digest kept as evidence), the password and consents are dropped, linked identifiers are removed,
 * sessions closed; standing history, merges and compliance records stay. The status `erased` and a
 * DataSubjectRequest are committed with the change, so every holder of a copy learns of it.
 */
export async function eraseCustomer(
  ctx: IdentityContext,
  id: string,
  requestedBy: string,
  meta: Pick<RequestMeta, 'correlationId' | 'channel'> = { channel: null },
): Promise<Customer> {
  const requestId = randomUUID();
  const at = new Date();
  let erasedEmailOf: string | null = null;
  const doc = await ctx.store.customers.transact(id, (c) => {
    if (!c) throw customerNotFound(id);
    if (c.mergedInto) throw mergedAway(id, c.mergedInto, 'erase');
    erasedEmailOf = c.erasedAt ? null : c.email;
    const next = applyStandingChange(standingOf(c), { kind: 'erase' });
    const after: Customer = { ...c, ...next, version: c.version + 1, updatedAt: at };
    const events: OutgoingEvent[] = [
      customerStatusChanged(after, 'erased', { correlationId: meta.correlationId, sourceChannel: meta.channel ?? null }),
      dataSubjectRequest(requestId, id, after.version, 'erasure', requestedBy, at.getTime(), { correlationId: meta.correlationId }),
    ];
    return {
      set: {
        status: after.status,
        reason: after.reason,
        until: null,
        verified: false,
        email: erasedEmail(id),
        erasedEmailDigest: pseudonym(c.email, ctx.settings.erasureSalt),
        passwordHash: null,
        displayName: null,
        consents: {},
        channels: [],
        erasedAt: at,
        version: after.version,
        updatedAt: at,
      },
      events,
    };
  });
  await ctx.store.links.removeOfCustomer(id);
  if (erasedEmailOf) await ctx.store.emails.release(erasedEmailOf, id);
  await revokeAllSessions(ctx, id, 'erased');
  await ctx.store.passwordResets.voidOf(id, at);
  await ctx.store.dataRequests.record({ _id: requestId, customerId: id, kind: 'erasure', requestedBy, at });
  return doc!;
}
