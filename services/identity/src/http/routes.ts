import type { Request, RequestHandler, Response } from 'express';
import {
  ErrorBody,
  ForbiddenError,
  HttpApi,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
  assertChannelScope,
  principalOf,
  requireAuth,
  z,
  type Principal,
  type StaffRole,
  type TokenVerifier,
} from '@omnimall/service-kit';
import type { IdentityContext } from '../application/context';
import * as auth from '../application/auth';
import * as customers from '../application/customers';
import { assertResidency, channelRule } from '../application/residency';
import type { CustomerDoc, LinkedIdentityDoc, MergeDoc, StaffDoc } from '../store/models';
import * as S from './schemas';

/** The channel the request comes from (`x-channel-code`), validated. */
function channelOf(req: Request): string | null {
  const raw = req.header('x-channel-code');
  if (raw === undefined || raw === '') return null;
  const r = S.ChannelCode.safeParse(raw);
  if (!r.success)
    throw new ValidationError(
      'invalid_channel_code',
      `x-channel-code "${raw}" is not a channel code`,
      'send a lowercase channel code such as web or app-ios',
    );
  return r.data;
}

function meta(req: Request, res: Response): auth.RequestMeta {
  return { channel: channelOf(req), address: req.ip ?? null, correlationId: String(res.locals.correlationId) };
}

/** Sets Retry-After on a lock-out before the kit's error handler writes the 429. */
async function withRetryAfter<T>(res: Response, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TooManyRequestsError)
      res.setHeader('Retry-After', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
    throw err;
  }
}

/** The customer themself, or staff holding one of `roles` (admins always). */
function assertSelfOrStaff(p: Principal, customerId: string, roles: StaffRole[]): void {
  if (p.kind === 'customer' && p.sub === customerId) return;
  if (p.kind === 'staff' && (p.roles.includes('admin') || roles.some((r) => p.roles.includes(r)))) return;
  throw new ForbiddenError(
    'not_allowed_for_customer',
    'you may not act on this customer',
    p.kind === 'customer' ? 'act on your own profile only' : `this needs one of the roles: admin, ${roles.join(', ')}`,
  );
}

const sessionView = (r: auth.LoginResult) => ({
  customer: customers.profileView(r.customer),
  channel: r.channel,
  tokens: r.tokens,
  ...(r.deviceLink ? { deviceLink: r.deviceLink } : {}),
});
const staffView = (s: StaffDoc) => ({ id: s._id, email: s.email, roles: s.roles, channels: s.channels });
const linkView = (l: LinkedIdentityDoc) => ({
  type: l.type,
  externalId: l.externalId,
  customerId: l.customerId,
  channel: l.channel,
  linkedAt: new Date(l.linkedAt).toISOString(),
});
const mergeView = (m: MergeDoc) => ({
  id: m._id,
  sourceCustomerId: m.sourceCustomerId,
  targetCustomerId: m.targetCustomerId,
  mergedBy: m.mergedBy,
  reason: m.reason,
  evidence: JSON.parse(m.evidenceJson) as Record<string, unknown>,
  movedIdentities: m.movedIdentities,
  at: new Date(m.at).toISOString(),
});
const standingReply = (c: CustomerDoc) => ({ body: { customerId: c._id, ...customers.standingView(c) } });

export function identityApi(ctx: IdentityContext, verifier: TokenVerifier): HttpApi {
  /** Verifies the token locally, then refuses tokens of sessions closed since they were signed. */
  const openSession: RequestHandler = (_req, res, next) => {
    const p = res.locals.principal as Principal | undefined;
    if (!p?.sid) return next();
    auth
      .sessionOpen(ctx, p.sid)
      .then((open) => next(open ? undefined : new UnauthorizedError('session_revoked', 'this session was closed', 'log in again')))
      .catch(next);
  };
  const authed = (rule: Parameters<typeof requireAuth>[1] = {}): RequestHandler[] => [requireAuth(verifier, rule), openSession];
  const admin = authed({ kind: 'staff', roles: ['admin'] });
  const tags = { auth: ['auth'], staff: ['staff'], customers: ['customers'], admin: ['admin'], compliance: ['compliance'] };
  const errors = (codes: number[], what = 'see code and hint') =>
    Object.fromEntries(codes.map((c) => [c, { description: what, schema: ErrorBody }]));

  const api = new HttpApi({
    title: 'omnimall identity',
    version: '1.0.0',
    description:
      'One global customer across channels: accounts, sessions, linked identities, merges, standing and entitlements, consent, data residency, export and erasure.',
  });

  // ---- authentication ---------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/auth/register',
    summary: 'Register a customer with email and password (on the channel named by x-channel-code)',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.RegisterBody,
    responses: { 201: { description: 'registered and logged in', schema: S.Session }, ...errors([403, 409]) },
    handler: async ({ body, req, res }) => {
      const m = meta(req, res);
      const r = await auth.register(ctx, body, m);
      return { status: 201, body: sessionView({ customer: r.customer, channel: m.channel, tokens: r.tokens }) };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'Log a customer in on any channel: answers the global account and the channel',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.LoginBody,
    responses: {
      200: { description: 'logged in', schema: S.Session },
      ...errors([401, 403, 429], 'wrong credentials, refused standing or residency, or locked out (Retry-After)'),
    },
    handler: async ({ body, req, res }) => ({ body: sessionView(await withRetryAfter(res, () => auth.login(ctx, body, meta(req, res)))) }),
  });
  api.route({
    method: 'post',
    path: '/auth/refresh',
    summary: 'Rotate a refresh token (a reused token revokes its whole session)',
    tags: tags.auth,
    body: S.RefreshBody,
    responses: { 200: { description: 'new tokens', schema: S.Tokens }, ...errors([401]) },
    handler: async ({ body }) => ({ body: await auth.refresh(ctx, body.refreshToken) }),
  });
  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'Close the session of a refresh token',
    tags: tags.auth,
    body: S.RefreshBody,
    responses: { 204: { description: 'closed' } },
    handler: async ({ body }) => {
      await auth.logout(ctx, body.refreshToken);
      return { status: 204 };
    },
  });
  api.route({
    method: 'post',
    path: '/auth/logout-all',
    summary: 'Log out everywhere: close every session of the caller',
    tags: tags.auth,
    auth: true,
    before: authed(),
    responses: { 200: { description: 'sessions closed', schema: z.object({ revokedSessions: z.number() }) } },
    handler: async ({ res }) => ({ body: { revokedSessions: await auth.revokeAllSessions(ctx, principalOf(res).sub, 'logout_all') } }),
  });
  api.route({
    method: 'post',
    path: '/auth/staff/login',
    summary: 'Log a staff account in',
    tags: tags.auth,
    headers: S.ChannelHeader,
    body: S.LoginBody.pick({ email: true, password: true }),
    responses: { 200: { description: 'logged in', schema: z.object({ staff: S.StaffView, tokens: S.Tokens }) }, ...errors([401, 429]) },
    handler: async ({ body, req, res }) => {
      const r = await withRetryAfter(res, () => auth.staffLogin(ctx, body, meta(req, res)));
      return { body: { staff: staffView(r.staff), tokens: r.tokens } };
    },
  });

  // ---- staff ------------------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/staff',
    summary: 'Create a staff account (admin)',
    tags: tags.staff,
    auth: true,
    before: admin,
    body: S.StaffBody,
    responses: { 201: { description: 'created', schema: S.StaffView }, ...errors([409]) },
    handler: async ({ body, res }) => ({ status: 201, body: staffView(await auth.createStaff(ctx, body, principalOf(res).sub)) }),
  });

  // ---- customers --------------------------------------------------------------------------------
  const profileRoute = async (id: string, req: Request, res: Response, action: string) => {
    const p = principalOf(res);
    const channel = channelOf(req);
    if (
      p.kind === 'staff' &&
      p.roles.includes('channel_manager') &&
      !p.roles.includes('admin') &&
      !p.roles.includes('compliance_officer')
    ) {
      if (!channel)
        throw new ForbiddenError(
          'channel_required',
          'a channel manager reads profiles through a channel',
          'send x-channel-code of a channel in your scope',
        );
      assertChannelScope(p, channel);
    } else {
      assertSelfOrStaff(p, id, ['compliance_officer']);
    }
    const c = await customers.resolveCustomer(ctx, id);
    await assertResidency(ctx, {
      channel,
      customerId: c._id,
      dataRegion: c.dataRegion,
      action,
      actor: p.sub,
      correlationId: String(res.locals.correlationId),
    });
    return c;
  };
  api.route({
    method: 'get',
    path: '/me',
    summary: "The caller's own profile (residency rules apply to x-channel-code)",
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'customer' }),
    headers: S.ChannelHeader,
    responses: { 200: { description: 'profile', schema: S.Profile }, ...errors([403]) },
    handler: async ({ req, res }) => ({ body: customers.profileView(await profileRoute(principalOf(res).sub, req, res, 'GET /me')) }),
  });
  api.route({
    method: 'get',
    path: '/customers/:id/profile',
    summary: 'A customer profile (personal data: refused with 403 data_residency_forbidden to channels not allowed to receive its region)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    responses: { 200: { description: 'profile', schema: S.Profile }, ...errors([403, 404]) },
    handler: async ({ params, req, res }) => ({
      body: customers.profileView(await profileRoute(params.id, req, res, 'GET /customers/:id/profile')),
    }),
  });
  api.route({
    method: 'get',
    path: '/customers/:id/status',
    summary: 'Standing and entitlements (no personal data)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: { 200: { description: 'standing', schema: S.Standing.extend({ customerId: z.string() }) }, ...errors([404]) },
    handler: async ({ params }) => standingReply(await customers.resolveCustomer(ctx, params.id)),
  });

  // ---- linked identities ------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/customers/:id/identities',
    summary:
      'Link a device, app installation, partner account or external login to a customer (409 with both profile ids when it belongs to another)',
    tags: tags.customers,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    body: S.LinkBody,
    responses: {
      201: { description: 'linked', schema: S.LinkView },
      200: { description: 'already linked to this customer', schema: S.LinkView },
      ...errors([409]),
    },
    handler: async ({ params, body, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, []);
      const channel = body.channel ?? channelOf(req);
      if (!channel)
        throw new ValidationError(
          'channel_required',
          'the channel the identifier came from is unknown',
          'send `channel` in the body or the x-channel-code header',
        );
      const r = await customers.linkIdentity(ctx, params.id, { type: body.type, externalId: body.externalId, channel }, p.sub, {
        correlationId: String(res.locals.correlationId),
      });
      return { status: r.created ? 201 : 200, body: linkView(r.link) };
    },
  });
  api.route({
    method: 'get',
    path: '/identities/:type/:externalId',
    summary: 'Which customer an external identifier resolves to (staff)',
    tags: tags.customers,
    auth: true,
    before: authed({ kind: 'staff' }),
    params: S.ResolveParams,
    responses: { 200: { description: 'resolved', schema: S.LinkView.extend({ resolvedCustomerId: z.string() }) }, ...errors([404]) },
    handler: async ({ params }) => {
      const r = await customers.resolveIdentity(ctx, params.type, params.externalId);
      return { body: { ...linkView(r.link), resolvedCustomerId: r.customerId } };
    },
  });

  // ---- admin: merges and standing ---------------------------------------------------------------
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
      body: mergeView(await customers.mergeCustomers(ctx, body, principalOf(res).sub, { correlationId: String(res.locals.correlationId) })),
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
      const m = await ctx.m.Merge.findById(params.id).lean();
      if (!m) throw new NotFoundError('merge_not_found', `no merge ${params.id}`, 'check the merge id');
      return { body: { ...mergeView(m), sourceSnapshot: m.sourceSnapshot } };
    },
  });

  const standing = <B>(
    path: string,
    summary: string,
    body: z.ZodType<B>,
    change: (b: B) => Parameters<typeof customers.changeStanding>[2],
  ) =>
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
        standingReply(
          await customers.changeStanding(ctx, params.id, change(b), {
            correlationId: String(res.locals.correlationId),
            channel: channelOf(req),
          }),
        ),
    });
  standing('ban', 'Ban a customer on every channel', S.ReasonBody, (b) => ({ kind: 'ban', reason: b.reason }));
  standing('suspend', 'Suspend a customer until a time', S.SuspendBody, (b) => ({ kind: 'suspend', reason: b.reason, until: b.until }));
  standing('reinstate', 'Lift a ban or suspension', S.ReinstateBody, (b) => ({ kind: 'reinstate', reason: b.reason ?? null }));
  standing('tier', 'Set the loyalty tier', S.TierBody, (b) => ({ kind: 'tier', loyaltyTier: b.loyaltyTier }));
  standing('verified', 'Grant or withdraw the verified badge', S.BadgeBody, (b) => ({ kind: 'badge', verified: b.verified }));
  standing('region', "Move the customer's data-residency region", S.RegionBody, (b) => ({ kind: 'region', dataRegion: b.dataRegion }));

  // ---- consent, export, erasure -----------------------------------------------------------------
  api.route({
    method: 'put',
    path: '/customers/:id/consents/:channel',
    summary: 'Grant or withdraw consents on one channel (timestamped, with their source)',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.ConsentParams,
    body: S.ConsentBody,
    responses: {
      200: {
        description: 'consents on that channel',
        schema: z.record(z.string(), z.object({ granted: z.boolean(), at: z.string(), source: z.string() })),
      },
      ...errors([404, 422]),
    },
    handler: async ({ params, body, res }) => {
      assertSelfOrStaff(principalOf(res), params.id, []);
      const state = await customers.setConsents(ctx, params.id, params.channel, body, { correlationId: String(res.locals.correlationId) });
      return {
        body: Object.fromEntries(
          Object.entries(state).map(([k, e]) => [k, { granted: e!.granted, at: new Date(e!.at).toISOString(), source: e!.source }]),
        ),
      };
    },
  });
  api.route({
    method: 'get',
    path: '/customers/:id/consents',
    summary: 'Consents per channel',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: { 200: { description: 'channel → purpose → consent', schema: S.ConsentsView }, ...errors([404]) },
    handler: async ({ params, res }) => {
      assertSelfOrStaff(principalOf(res), params.id, ['compliance_officer']);
      return { body: customers.consentsView(await customers.getCustomer(ctx, params.id)) };
    },
  });
  api.route({
    method: 'get',
    path: '/customers/:id/export',
    summary: 'Export everything identity holds about a customer, as JSON',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    headers: S.ChannelHeader,
    params: S.IdParams,
    responses: { 200: { description: 'the export', schema: z.record(z.string(), z.unknown()) }, ...errors([403, 404]) },
    handler: async ({ params, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, ['compliance_officer']);
      const c = await customers.getCustomer(ctx, params.id);
      await assertResidency(ctx, {
        channel: channelOf(req),
        customerId: c._id,
        dataRegion: c.dataRegion,
        action: 'GET /customers/:id/export',
        actor: p.sub,
        correlationId: String(res.locals.correlationId),
      });
      return {
        body: await customers.exportCustomer(ctx, params.id, p.sub, { correlationId: String(res.locals.correlationId) }),
        headers: { 'content-disposition': `attachment; filename="customer-${params.id}.json"` },
      };
    },
  });
  api.route({
    method: 'post',
    path: '/customers/:id/erasure',
    summary: 'Erase a customer: personal fields pseudonymised, evidence kept, status `erased` emitted',
    tags: tags.compliance,
    auth: true,
    before: authed(),
    params: S.IdParams,
    responses: { 200: { description: 'erased', schema: S.Standing.extend({ customerId: z.string() }) }, ...errors([404, 422]) },
    handler: async ({ params, req, res }) => {
      const p = principalOf(res);
      assertSelfOrStaff(p, params.id, ['compliance_officer']);
      return standingReply(
        await customers.eraseCustomer(ctx, params.id, p.sub, { correlationId: String(res.locals.correlationId), channel: channelOf(req) }),
      );
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/data-regions',
    summary: 'The data-residency rule identity applies to a channel, and where it came from',
    tags: tags.compliance,
    auth: true,
    before: authed({ kind: 'staff' }),
    params: z.object({ code: S.ChannelCode }),
    responses: {
      200: {
        description: 'rule',
        schema: z.object({
          channel: z.string(),
          allowedDataRegions: z.array(z.string()),
          source: z.enum(['channels', 'configuration', 'unknown_channel']),
        }),
      },
    },
    handler: async ({ params }) => {
      const r = await channelRule(ctx, params.code);
      return { body: { channel: params.code, allowedDataRegions: r?.allowedDataRegions ?? [], source: r?.source ?? 'unknown_channel' } };
    },
  });
  return api;
}
