import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  NotFoundError,
  UnprocessableError,
  isDuplicateKeyError,
  withoutOutbox,
  type OutgoingEvent,
} from '@omnimall/service-kit';
import type { LinkedIdentityType } from '@omnimall/contracts';
import { applyStandingChange, changeName, type Standing, type StandingChange } from '../domain/standing';
import { erasedEmail, pseudonym } from '../domain/erasure';
import { consentChanged, customerMerged, customerStatusChanged, dataSubjectRequest, identityLinked } from '../events/outgoing';
import type { ConsentEntry, ConsentPurpose, CustomerDoc, DataRequestDoc, LinkedIdentityDoc, MergeDoc } from '../store/models';
import type { IdentityContext } from './context';
import { revokeAllSessions, type RequestMeta } from './auth';

const notFound = (id: string): NotFoundError => new NotFoundError('customer_not_found', `no customer ${id}`, 'check the customer id');

export async function getCustomer(ctx: IdentityContext, id: string): Promise<CustomerDoc> {
  const c = await ctx.m.Customer.findById(id).lean();
  if (!c) throw notFound(id);
  return c;
}

/** The profile a merged id now belongs to (merges may chain; bounded). */
export async function resolveCustomer(ctx: IdentityContext, id: string): Promise<CustomerDoc> {
  let c = await getCustomer(ctx, id);
  for (let hops = 0; c.mergedInto && hops < 5; hops++) c = await getCustomer(ctx, c.mergedInto);
  return c;
}

/** Public view of a profile (personal data): never the password hash nor the outbox. */
export function profileView(c: CustomerDoc): Record<string, unknown> {
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

export function standingView(c: CustomerDoc): Record<string, unknown> {
  return { status: c.status, reason: c.reason, until: c.until, loyaltyTier: c.loyaltyTier, verified: c.verified, version: c.version };
}

const standingOf = (c: CustomerDoc): Standing => ({
  status: c.status,
  reason: c.reason,
  until: c.until,
  loyaltyTier: c.loyaltyTier,
  verified: c.verified,
  dataRegion: c.dataRegion,
});

// ---- linked identities --------------------------------------------------------------------------

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
): Promise<{ created: boolean; link: LinkedIdentityDoc }> {
  const key = `${link.type}:${link.externalId}`;
  const conflict = (existing: LinkedIdentityDoc): ConflictError =>
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
  const existing = await ctx.m.LinkedIdentity.findById(key).lean();
  if (existing) {
    if (existing.customerId === customerId) return { created: false, link: existing };
    throw conflict(existing);
  }
  let created: LinkedIdentityDoc | null = null;
  await ctx.rt.outbox.transact(ctx.m.Customer, customerId, async (c) => {
    if (!c) throw notFound(customerId);
    if (c.mergedInto)
      throw new UnprocessableError(
        'customer_merged',
        `customer ${customerId} was merged into ${c.mergedInto}`,
        `link the identity to ${c.mergedInto} instead`,
        { mergedInto: c.mergedInto },
      );
    if (c.status === 'erased')
      throw new UnprocessableError('customer_erased', 'this customer was erased', 'nothing can be linked to an erased profile');
    const doc: LinkedIdentityDoc = {
      _id: key,
      type: link.type,
      externalId: link.externalId,
      customerId,
      channel: link.channel,
      linkedAt: new Date(),
      linkedBy,
    };
    try {
      await ctx.m.LinkedIdentity.create(doc);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const winner = (await ctx.m.LinkedIdentity.findById(key).lean())!;
      if (winner.customerId === customerId) return null;
      throw conflict(winner);
    }
    created = doc;
    const version = c.version + 1;
    return {
      update: { $set: { version, updatedAt: new Date() } },
      events: [identityLinked(customerId, version, link, { ...meta, sourceChannel: link.channel })],
    };
  });
  if (created) return { created: true, link: created };
  return { created: false, link: (await ctx.m.LinkedIdentity.findById(key).lean())! };
}

export async function resolveIdentity(
  ctx: IdentityContext,
  type: LinkedIdentityType,
  externalId: string,
): Promise<{ link: LinkedIdentityDoc; customerId: string }> {
  const link = await ctx.m.LinkedIdentity.findById(`${type}:${externalId}`).lean();
  if (!link)
    throw new NotFoundError(
      'identity_not_linked',
      `${type} ${externalId} is not linked to any customer`,
      'link it first (POST /customers/{id}/identities)',
    );
  return { link, customerId: (await resolveCustomer(ctx, link.customerId))._id };
}

// ---- merge --------------------------------------------------------------------------------------

/**
 * Folds `source` into `target`: the source is marked merged (with the CustomerMerged event in the
 * same write), its linked identities are re-pointed, its sessions closed, and the merge is kept
 * as evidence (who, why, what moved, a snapshot of the source).
 */
export async function mergeCustomers(
  ctx: IdentityContext,
  input: { sourceCustomerId: string; targetCustomerId: string; reason: string; evidence: Record<string, unknown> },
  mergedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<MergeDoc> {
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
  await ctx.rt.outbox.transact(ctx.m.Customer, sourceId, (c) => {
    if (!c) throw notFound(sourceId);
    if (c.mergedInto)
      throw new ConflictError('already_merged', `customer ${sourceId} was already merged into ${c.mergedInto}`, 'nothing to do', {
        mergedInto: c.mergedInto,
      });
    if (c.status === 'erased') throw new UnprocessableError('customer_erased', 'the source profile was erased', 'nothing to merge');
    snapshot = { ...profileView(c), consents: c.consents, version: c.version };
    return {
      update: { $set: { mergedInto: targetId, version: c.version + 1, updatedAt: new Date() } },
      events: [customerMerged(sourceId, targetId, target.version, mergedBy, meta)],
    };
  });
  const moved = await ctx.m.LinkedIdentity.find({ customerId: sourceId }, { _id: 1 }).lean();
  await ctx.m.LinkedIdentity.updateMany({ customerId: sourceId }, { $set: { customerId: targetId } });
  await revokeAllSessions(ctx, sourceId, 'merged');
  const record: MergeDoc = {
    _id: randomUUID(),
    sourceCustomerId: sourceId,
    targetCustomerId: targetId,
    mergedBy,
    reason: input.reason,
    evidenceJson: JSON.stringify(input.evidence),
    movedIdentities: moved.map((l) => l._id),
    sourceSnapshot: snapshot,
    at: new Date(),
  };
  await ctx.m.Merge.create(record);
  return record;
}

// ---- standing -----------------------------------------------------------------------------------

/** Applies a standing change and commits CustomerStatusChanged with it; bans and suspensions close every session. */
export async function changeStanding(
  ctx: IdentityContext,
  id: string,
  change: StandingChange,
  meta: Pick<RequestMeta, 'correlationId' | 'channel'> = {} as RequestMeta,
): Promise<CustomerDoc> {
  const { doc } = await ctx.rt.outbox.transact(ctx.m.Customer, id, (c) => {
    if (!c) throw notFound(id);
    if (c.mergedInto)
      throw new UnprocessableError('customer_merged', `customer ${id} was merged into ${c.mergedInto}`, `act on ${c.mergedInto} instead`, {
        mergedInto: c.mergedInto,
      });
    const next = applyStandingChange(standingOf(c), change);
    const after: CustomerDoc = { ...c, ...next, version: c.version + 1, updatedAt: new Date() };
    return {
      update: {
        $set: {
          status: after.status,
          reason: after.reason,
          until: after.until,
          loyaltyTier: after.loyaltyTier,
          verified: after.verified,
          dataRegion: after.dataRegion,
          version: after.version,
          updatedAt: after.updatedAt,
        },
      },
      events: [
        customerStatusChanged(after, changeName[change.kind], { correlationId: meta.correlationId, sourceChannel: meta.channel ?? null }),
      ],
    };
  });
  if (change.kind === 'ban' || change.kind === 'suspend') await revokeAllSessions(ctx, id, change.kind === 'ban' ? 'banned' : 'suspended');
  return doc!;
}

// ---- consents -----------------------------------------------------------------------------------

export async function setConsents(
  ctx: IdentityContext,
  id: string,
  channel: string,
  input: Partial<Record<ConsentPurpose, boolean>> & { source: string },
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<Partial<Record<ConsentPurpose, ConsentEntry>>> {
  const at = new Date();
  let state: Partial<Record<ConsentPurpose, ConsentEntry>> = {};
  await ctx.rt.outbox.transact(ctx.m.Customer, id, (c) => {
    if (!c) throw notFound(id);
    if (c.mergedInto)
      throw new UnprocessableError('customer_merged', `customer ${id} was merged into ${c.mergedInto}`, `act on ${c.mergedInto} instead`);
    if (c.status === 'erased') throw new UnprocessableError('customer_erased', 'this customer was erased', 'nothing to consent to');
    const set: Record<string, unknown> = {};
    state = { ...(c.consents?.[channel] ?? {}) };
    for (const purpose of ['marketing', 'analytics', 'personalisation'] as const) {
      const granted = input[purpose];
      if (granted === undefined) continue;
      const entry = { granted, at, source: input.source };
      state[purpose] = entry;
      set[`consents.${channel}.${purpose}`] = entry;
    }
    const version = c.version + 1;
    return {
      update: { $set: { ...set, version, updatedAt: at } },
      events: [consentChanged(id, version, channel, state, input.source, at.getTime(), { ...meta, sourceChannel: channel })],
    };
  });
  return state;
}

export function consentsView(c: CustomerDoc): Record<string, Record<string, { granted: boolean; at: string; source: string }>> {
  const out: Record<string, Record<string, { granted: boolean; at: string; source: string }>> = {};
  for (const [channel, purposes] of Object.entries(c.consents ?? {})) {
    out[channel] = {};
    for (const [p, e] of Object.entries(purposes ?? {}))
      if (e) out[channel][p] = { granted: e.granted, at: new Date(e.at).toISOString(), source: e.source };
  }
  return out;
}

// ---- export and erasure -------------------------------------------------------------------------

/** Everything identity holds about one customer, as JSON (the export itself is recorded and announced). */
export async function exportCustomer(
  ctx: IdentityContext,
  id: string,
  requestedBy: string,
  meta: Pick<RequestMeta, 'correlationId'> = {},
): Promise<Record<string, unknown>> {
  const c = await getCustomer(ctx, id);
  const [links, sessions, merges, violations, requests] = await Promise.all([
    ctx.m.LinkedIdentity.find({ customerId: id }).lean(),
    ctx.m.Session.find({ subject: id }).lean(),
    ctx.m.Merge.find({ $or: [{ sourceCustomerId: id }, { targetCustomerId: id }] }).lean(),
    ctx.m.ComplianceRecord.find({ customerId: id }).lean(),
    ctx.m.DataRequest.find({ customerId: id }).lean(),
  ]);
  const request: DataRequestDoc = { _id: randomUUID(), customerId: id, kind: 'export', requestedBy, at: new Date() };
  await ctx.rt.outbox.create(ctx.m.DataRequest, request, [
    dataSubjectRequest(request._id, id, c.version, 'export', requestedBy, request.at.getTime(), meta),
  ]);
  return {
    exportId: request._id,
    generatedAt: request.at.toISOString(),
    customer: { ...profileView(c), consents: consentsView(c), erasedAt: c.erasedAt, version: c.version },
    linkedIdentities: links.map((l) => ({
      type: l.type,
      externalId: l.externalId,
      channel: l.channel,
      linkedAt: l.linkedAt,
      linkedBy: l.linkedBy,
    })),
    sessions: sessions.map((s) => ({
      id: s._id,
      channel: s.channel,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      revokedAt: s.revokedAt,
      revokedReason: s.revokedReason,
      address: s.address,
    })),
    merges: merges.map((mg) => withoutOutbox(mg)),
    complianceRecords: violations.map((v) => withoutOutbox(v)),
    dataRequests: [
      ...requests.map((r) => withoutOutbox(r)),
      { _id: request._id, customerId: id, kind: 'export', requestedBy, at: request.at },
    ],
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
  meta: Pick<RequestMeta, 'correlationId' | 'channel'> = {} as RequestMeta,
): Promise<CustomerDoc> {
  const requestId = randomUUID();
  const at = new Date();
  let erasedEmailOf: string | null = null;
  const { doc } = await ctx.rt.outbox.transact(ctx.m.Customer, id, (c) => {
    if (!c) throw notFound(id);
    if (c.mergedInto)
      throw new UnprocessableError('customer_merged', `customer ${id} was merged into ${c.mergedInto}`, `erase ${c.mergedInto} instead`);
    erasedEmailOf = c.erasedAt ? null : c.email;
    const next = applyStandingChange(standingOf(c), { kind: 'erase' });
    const after: CustomerDoc = { ...c, ...next, version: c.version + 1, updatedAt: at };
    const events: OutgoingEvent[] = [
      customerStatusChanged(after, 'erased', { correlationId: meta.correlationId, sourceChannel: meta.channel ?? null }),
      dataSubjectRequest(requestId, id, after.version, 'erasure', requestedBy, at.getTime(), { correlationId: meta.correlationId }),
    ];
    return {
      update: {
        $set: {
          status: after.status,
          reason: after.reason,
          until: null,
          verified: false,
          email: erasedEmail(id),
          erasedEmailDigest: pseudonym(c.email, ctx.settings.erasureSalt),
          passwordHash: null,
          displayName: null,
          consents: {},
          erasedAt: at,
          version: after.version,
          updatedAt: at,
        },
      },
      events,
    };
  });
  await ctx.m.LinkedIdentity.deleteMany({ customerId: id });
  if (erasedEmailOf) await ctx.m.CustomerEmail.collection.deleteOne({ _id: erasedEmailOf, customerId: id } as never);
  await revokeAllSessions(ctx, id, 'erased');
  await ctx.m.DataRequest.create({ _id: requestId, customerId: id, kind: 'erasure', requestedBy, at });
  return doc!;
}
