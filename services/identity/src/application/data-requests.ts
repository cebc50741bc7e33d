import { randomUUID } from 'node:crypto';
import type { OutgoingEvent } from '@omnimall/service-kit';
import type { Customer, DataRequest } from '../domain/customer';
import { erasedEmail, pseudonym } from '../domain/erasure';
import { applyStandingChange } from '../domain/standing';
import { customerStatusChanged, dataSubjectRequest } from '../events/out/customer';
import type { IdentityContext, RequestMeta } from './context';
import { consentsView, customerNotFound, getCustomer, mergedAway, profileView, standingOf } from './customers';
import { revocationEvents, revocationOf } from './revocations';
import { revokeAllSessions } from './sessions';
import { attemptKeyPrefixes } from './throttle';

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
 * Erasure: identity keeps the profile's id, standing history, merges (without their personal
 * content) and compliance records as evidence, and removes or pseudonymises everything personal it
 * holds about the customer and every profile merged into it (transitively):
 *   - profiles: email → erased+<id>@erased.invalid (a salted digest kept as evidence), password,
 *     name, consents (their free-text sources), channel activity dropped; the e-mail documents freed;
 *   - merge records: snapshot emptied, reason and evidence replaced, moved identifiers pseudonymised;
 *   - linked identities (external ids) removed; sessions (addresses, client details) revoked and
 *     removed; password-reset records removed; login-attempt counters of the email removed.
 * The profile's write commits the status `erased`, a DataSubjectRequest (ids only: no email, no name)
 * and the revocation of every token of the customer; each merged profile's write commits its own
 * DataSubjectRequest, so holders of copies under the merged id erase them too.
 */
export async function eraseCustomer(
  ctx: IdentityContext,
  id: string,
  requestedBy: string,
  meta: Pick<RequestMeta, 'correlationId' | 'channel'> = { channel: null },
): Promise<Customer> {
  const requestId = randomUUID();
  const at = new Date();
  let emailBefore = '';
  const doc = await ctx.store.customers.transact(id, (c) => {
    if (!c) throw customerNotFound(id);
    if (c.mergedInto) throw mergedAway(id, c.mergedInto, 'erase');
    emailBefore = c.email;
    const next = applyStandingChange(standingOf(c), { kind: 'erase' });
    const after: Customer = { ...c, ...next, version: c.version + 1, updatedAt: at };
    const events: OutgoingEvent[] = [
      customerStatusChanged(after, 'erased', { correlationId: meta.correlationId, sourceChannel: meta.channel ?? null }),
      dataSubjectRequest(requestId, id, after.version, 'erasure', requestedBy, at.getTime(), { correlationId: meta.correlationId }),
      ...revocationEvents([revocationOf(ctx, { sub: id, kind: 'customer' }, 'erased', null, at)], meta),
    ];
    return { set: { ...erasedFields(ctx, c, at), status: after.status, reason: after.reason, verified: false }, events };
  });
  await ctx.store.dataRequests.record({ _id: requestId, customerId: id, kind: 'erasure', requestedBy, at });
  const sources = await mergedInto(ctx, id);
  const emails = [emailBefore];
  for (const source of sources) emails.push(await eraseMergedProfile(ctx, source, requestedBy, at, meta));
  await scrubMerges(ctx, [id, ...sources]);
  for (const subject of [id, ...sources]) {
    await ctx.store.links.removeOfCustomer(subject);
    await revokeAllSessions(ctx, subject, 'erased');
    await ctx.store.sessions.removeOf(subject);
    await ctx.store.passwordResets.removeOf(subject);
  }
  for (const [i, email] of emails.entries()) {
    const holder = i === 0 ? id : sources[i - 1];
    if (!email || email.endsWith('@erased.invalid')) continue;
    await ctx.store.emails.release(email, holder);
    await ctx.store.loginAttempts.removeKeys(attemptKeyPrefixes(ctx, email));
  }
  return doc!;
}

/** The personal fields of a profile as an erasure leaves them (an erased email stays as it is). */
function erasedFields(ctx: IdentityContext, c: Customer, at: Date): Partial<Customer> {
  const erased = c.email.endsWith('@erased.invalid');
  return {
    email: erasedEmail(c._id),
    erasedEmailDigest: erased ? c.erasedEmailDigest : pseudonym(c.email, ctx.settings.erasureSalt),
    passwordHash: null,
    displayName: null,
    consents: {},
    channels: [],
    until: null,
    erasedAt: c.erasedAt ?? at,
    version: c.version + 1,
    updatedAt: at,
  };
}

/** Every profile merged into `id`, directly or through other merged profiles. */
async function mergedInto(ctx: IdentityContext, id: string): Promise<string[]> {
  const found: string[] = [];
  const queue = [id];
  while (queue.length) {
    const target = queue.shift()!;
    for (const m of await ctx.store.merges.involving(target)) {
      if (m.targetCustomerId !== target || m.sourceCustomerId === id || found.includes(m.sourceCustomerId)) continue;
      found.push(m.sourceCustomerId);
      queue.push(m.sourceCustomerId);
    }
  }
  return found;
}

/** Erases a profile merged into the erased one (it stays merged); the email it had, to free. */
async function eraseMergedProfile(
  ctx: IdentityContext,
  id: string,
  requestedBy: string,
  at: Date,
  meta: Pick<RequestMeta, 'correlationId'>,
): Promise<string> {
  const requestId = randomUUID();
  let email = '';
  await ctx.store.customers.transact(id, (c) => {
    if (!c) return null;
    email = c.email;
    const events = [dataSubjectRequest(requestId, id, c.version + 1, 'erasure', requestedBy, at.getTime(), meta)];
    return { set: erasedFields(ctx, c, at), events };
  });
  await ctx.store.dataRequests.record({ _id: requestId, customerId: id, kind: 'erasure', requestedBy, at });
  return email;
}

/** Merge records of erased profiles keep who, when and which ids; their personal content goes. */
async function scrubMerges(ctx: IdentityContext, ids: string[]): Promise<void> {
  const seen = new Set<string>();
  for (const id of ids)
    for (const m of await ctx.store.merges.involving(id)) {
      if (seen.has(m._id)) continue;
      seen.add(m._id);
      await ctx.store.merges.scrub(m._id, {
        sourceSnapshot: {},
        reason: 'erased',
        evidenceJson: '{}',
        movedIdentities: m.movedIdentities.map((key) => `${key.split(':')[0]}:${pseudonym(key, ctx.settings.erasureSalt)}`),
      });
    }
}
