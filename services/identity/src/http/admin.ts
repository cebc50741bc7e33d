import { principalOf, z } from '@omnimall/service-kit';
import { getMerge, mergeCustomers } from '../application/merges';
import { changeStanding } from '../application/standing';
import type { MergeRecord } from '../domain/customer';
import type { StandingChange } from '../domain/standing';
import { channelOf, correlationOf, errors, standingReply, tags, type Routes } from './common';
import * as S from './schemas';

const mergeView = (m: MergeRecord) => ({
  id: m._id,
  sourceCustomerId: m.sourceCustomerId,
  targetCustomerId: m.targetCustomerId,
  mergedBy: m.mergedBy,
  reason: m.reason,
  evidence: JSON.parse(m.evidenceJson) as Record<string, unknown>,
  movedIdentities: m.movedIdentities,
  at: new Date(m.at).toISOString(),
});

/** Admin work on customers: merges (read also by compliance officers), standing and entitlements. */
export function adminRoutes({ api, ctx, authed }: Routes): void {
  const admin = authed({ kind: 'staff', roles: ['admin'] });
  api.route({
    method: 'post',
    path: '/admin/merges',
    summary: 'Merge one customer profile into another (evidence kept, CustomerMerged emitted)',
    tags: tags.admin,
    auth: true,
    before: admin,
    body: S.MergeBody,
    responses: { 201: { description: 'merged', schema: S.MergeView }, ...errors([404, 409, 422]) },
    handler: async ({ body, res }) => ({
      status: 201,
      body: mergeView(await mergeCustomers(ctx, body, principalOf(res).sub, { correlationId: correlationOf(res) })),
    }),
  });
  api.route({
    method: 'get',
    path: '/admin/merges/:id',
    summary: 'A merge record with its evidence',
    tags: tags.admin,
    auth: true,
    before: authed({ kind: 'staff', roles: ['admin', 'compliance_officer'] }),
    params: S.IdParams,
    responses: {
      200: { description: 'merge', schema: S.MergeView.extend({ sourceSnapshot: z.record(z.string(), z.unknown()) }) },
      ...errors([404]),
    },
    handler: async ({ params }) => {
      const m = await getMerge(ctx, params.id);
      return { body: { ...mergeView(m), sourceSnapshot: m.sourceSnapshot } };
    },
  });

  const standing = <B>(path: string, summary: string, body: z.ZodType<B>, change: (b: B) => StandingChange) =>
    api.route({
      method: 'post',
      path: `/admin/customers/:id/${path}`,
      summary,
      tags: tags.admin,
      auth: true,
      before: admin,
      params: S.IdParams,
      body,
      responses: {
        200: { description: 'standing after the change', schema: S.Standing.extend({ customerId: z.string() }) },
        ...errors([404, 422]),
      },
      handler: async ({ params, body: b, req, res }) =>
        standingReply(await changeStanding(ctx, params.id, change(b), { correlationId: correlationOf(res), channel: channelOf(req) })),
    });
  standing('ban', 'Ban a customer on every channel', S.ReasonBody, (b) => ({ kind: 'ban', reason: b.reason }));
  standing('suspend', 'Suspend a customer until a time', S.SuspendBody, (b) => ({ kind: 'suspend', reason: b.reason, until: b.until }));
  standing('reinstate', 'Lift a ban or suspension', S.ReinstateBody, (b) => ({ kind: 'reinstate', reason: b.reason ?? null }));
  standing('tier', 'Set the loyalty tier', S.TierBody, (b) => ({ kind: 'tier', loyaltyTier: b.loyaltyTier }));
  standing('verified', 'Grant or withdraw the verified badge', S.BadgeBody, (b) => ({ kind: 'badge', verified: b.verified }));
  standing('region', "Move the customer's data-residency region", S.RegionBody, (b) => ({ kind: 'region', dataRegion: b.dataRegion }));
}
