/**
 * The HTTP surface. Staff routes take the identity service's bearer tokens: admins act on every
 * channel, channel managers only on the channels in their token's scope (403 otherwise). Channel
 * apps identify themselves with x-channel-code and x-channel-key (an API key issued here).
 */
import {
  assertChannelScope,
  ForbiddenError,
  HttpApi,
  principalOf,
  requireAuth,
  UnauthorizedError,
  WITHOUT_OUTBOX,
  z,
  type Principal,
  type TokenVerifier,
} from '@omnimall/service-kit';
import { ConfigEntry } from '../domain/config';
import { DELIVERY_EVENT_TYPES } from '../domain/delivery';
import { CHECKLISTS, LIFECYCLE_ACTIONS } from '../domain/lifecycle';
import { ChannelCode, RegisterChannelBody, UpdateChannelBody } from '../domain/registry';
import { channelView, type ChannelService } from '../application/channel-service';
import type { ConfigStore } from '../application/config-store';
import { endpointView, type EndpointService } from '../application/endpoint-service';
import type { PartnerIngestion } from '../application/partner-ingestion';
import type { ChannelDoc, Store } from '../store/models';

export interface RouteDeps {
  verifier: TokenVerifier;
  channels: ChannelService;
  config: ConfigStore;
  endpoints: EndpointService;
  partners: PartnerIngestion;
  store: Store;
  /** Runs after a new global configuration version was published (re-evaluates every channel). */
  onConfigPublished: (correlationId: string) => Promise<number>;
}

type Response = Parameters<typeof principalOf>[0];
type RequestHandler = ReturnType<typeof requireAuth>;

const Channel = z
  .object({
    code: z.string(),
    name: z.string(),
    kind: z.string(),
    state: z.string(),
    previousState: z.string().nullable(),
    expectedBackAt: z.string().nullable(),
    blockReasons: z.array(z.string()),
    commerceAllowed: z.boolean(),
    languages: z.array(z.string()),
    currencies: z.array(z.string()),
    appliedConfigVersion: z.number().nullable(),
    version: z.number(),
  })
  .passthrough();
const Json = z.record(z.string(), z.unknown());
const CodeParams = z.object({ code: ChannelCode });
const cause = (res: Response, code?: string) => ({ correlationId: String(res.locals.correlationId), sourceChannel: code ?? null });
const ok = (body: unknown, status = 200) => ({ status, body });

export function buildApi(d: RouteDeps): HttpApi {
  const staff = requireAuth(d.verifier, { kind: 'staff', roles: ['channel_manager'] });
  const admin = requireAuth(d.verifier, { kind: 'staff', roles: ['admin'] });
  const scoped = (res: Response, code: string): Principal => {
    const p = principalOf(res);
    assertChannelScope(p, code);
    return p;
  };
  const channelApp: RequestHandler = (req, res, next) => {
    const code = req.header('x-channel-code');
    const key = req.header('x-channel-key');
    if (!code || !key) {
      next(new UnauthorizedError('channel_credentials_missing', 'this route is for channel apps', 'send x-channel-code and x-channel-key'));
      return;
    }
    d.channels
      .authenticate(code, key)
      .then((doc) => {
        res.locals.channel = doc;
        next();
      })
      .catch(next);
  };
  const appChannel = (res: Response): ChannelDoc => res.locals.channel as ChannelDoc;

  const api = new HttpApi({
    title: 'omnimall channels',
    version: '1.0.0',
    description: 'Channel registry, lifecycle, central configuration, notifications and partner delivery.',
  });

  // ---- registry ---------------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/channels',
    summary: 'Register a channel (admin); it starts in draft',
    tags: ['registry'],
    auth: true,
    before: [admin],
    body: RegisterChannelBody,
    responses: {
      201: { description: 'Registered', schema: Channel },
      409: { description: 'Code taken' },
      422: { description: 'Master channel does not exist' },
    },
    handler: async ({ body, res }) => ok(channelView(await d.channels.register(body, cause(res, body.code))), 201),
  });
  api.route({
    method: 'get',
    path: '/channels',
    summary: 'The channels you may see (admins: all; managers: their scope)',
    tags: ['registry'],
    auth: true,
    before: [staff],
    responses: { 200: { description: 'Channels', schema: z.object({ channels: z.array(Channel) }) } },
    handler: async ({ res }) => ok({ channels: (await d.channels.list(principalOf(res))).map(channelView) }),
  });
  api.route({
    method: 'get',
    path: '/channels/:code',
    summary: 'One channel',
    tags: ['registry'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: { 200: { description: 'The channel', schema: Channel }, 404: { description: 'No such channel' } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      return ok(channelView(await d.channels.get(params.code)));
    },
  });
  api.route({
    method: 'patch',
    path: '/channels/:code',
    summary: 'Change a channel (code and kind are immutable)',
    tags: ['registry'],
    auth: true,
    before: [staff],
    params: CodeParams,
    body: UpdateChannelBody,
    responses: { 200: { description: 'Updated', schema: Channel } },
    handler: async ({ params, body, res }) => {
      const p = scoped(res, params.code);
      if (body.manager && !p.roles.includes('admin')) {
        throw new ForbiddenError('admin_required', 'only an admin may assign a channel manager', 'ask an admin to reassign the channel');
      }
      return ok(channelView(await d.channels.update(params.code, body, cause(res, params.code))));
    },
  });

  // ---- lifecycle --------------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/channels/:code/transitions',
    summary: 'Move a channel through its lifecycle; 409 lists the allowed actions',
    tags: ['lifecycle'],
    auth: true,
    before: [staff],
    params: CodeParams,
    body: z
      .object({ action: z.enum(LIFECYCLE_ACTIONS), expectedBackAt: z.coerce.date().optional(), reason: z.string().max(500).optional() })
      .strict(),
    responses: {
      200: { description: 'The channel after the transition', schema: Channel },
      403: { description: 'Not yours, or an admin step' },
      409: { description: 'Illegal transition or incomplete checklist' },
    },
    handler: async ({ params, body, res }) => {
      const p = scoped(res, params.code);
      return ok(
        channelView(
          await d.channels.transition(
            params.code,
            body.action,
            p,
            { expectedBackAt: body.expectedBackAt, reason: body.reason },
            cause(res, params.code),
          ),
        ),
      );
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/transitions',
    summary: 'The lifecycle history of a channel',
    tags: ['lifecycle'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: { 200: { description: 'Transitions, oldest first', schema: z.object({ transitions: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      return ok({ transitions: await d.channels.transitionsOf(params.code) });
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/checklists/:list/:item',
    summary: 'Complete an onboarding or offboarding checklist item',
    tags: ['lifecycle'],
    auth: true,
    before: [staff],
    params: z.object({
      code: ChannelCode,
      list: z.enum(Object.keys(CHECKLISTS) as ['onboarding', 'offboarding']),
      item: z.string().max(64),
    }),
    body: z.object({ note: z.string().max(1000).optional() }).strict(),
    responses: { 200: { description: 'The channel with the item done', schema: Channel } },
    handler: async ({ params, body, res }) => {
      const p = scoped(res, params.code);
      return ok(
        channelView(
          await d.channels.completeChecklistItem(params.code, params.list, params.item, p, body.note ?? null, cause(res, params.code)),
        ),
      );
    },
  });

  // ---- credentials ------------------------------------------------------------------------------
  api.route({
    method: 'post',
    path: '/channels/:code/credentials',
    summary: 'Issue an API key for the channel’s apps (shown once; stored hashed)',
    tags: ['credentials'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: {
      201: { description: 'The key; keep it, it is not shown again', schema: z.object({ keyId: z.string(), apiKey: z.string() }) },
    },
    handler: async ({ params, res }) => ok(await d.channels.issueCredential(params.code, scoped(res, params.code)), 201),
  });
  api.route({
    method: 'delete',
    path: '/channels/:code/credentials/:keyId',
    summary: 'Revoke an API key',
    tags: ['credentials'],
    auth: true,
    before: [staff],
    params: z.object({ code: ChannelCode, keyId: z.string().regex(/^[0-9a-f]{12}$/) }),
    responses: { 204: { description: 'Revoked' } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      await d.channels.revokeCredential(params.code, params.keyId);
      return { status: 204 };
    },
  });
  api.route({
    method: 'post',
    path: '/credentials/verify',
    summary: 'Check a channel API key (for gateways and other services); 401 when it does not match',
    tags: ['credentials'],
    body: z.object({ channel: ChannelCode, apiKey: z.string().min(1).max(200) }).strict(),
    responses: {
      200: {
        description: 'Valid',
        schema: z.object({ valid: z.literal(true), channel: z.string(), state: z.string(), commerceAllowed: z.boolean() }),
      },
      401: { description: 'Invalid' },
    },
    handler: async ({ body }) => {
      const doc = await d.channels.authenticate(body.channel, body.apiKey);
      return ok({
        valid: true,
        channel: doc._id,
        state: doc.state,
        commerceAllowed: doc.state === 'active' && doc.blockReasons.length === 0,
      });
    },
  });

  // ---- channel apps -----------------------------------------------------------------------------
  api.route({
    method: 'get',
    path: '/channel-app/config',
    summary: 'The effective configuration for the calling channel (global values with its overrides)',
    tags: ['channel app'],
    before: [channelApp],
    responses: {
      200: {
        description: 'Effective configuration',
        schema: z.object({ channel: z.string(), version: z.number(), minimumVersion: z.number(), values: Json }),
      },
    },
    handler: async ({ res }) => ok({ channel: appChannel(res)._id, ...(await d.channels.effectiveConfig(appChannel(res)._id)) }),
  });
  api.route({
    method: 'post',
    path: '/channel-app/config-report',
    summary: 'Report the global configuration version the channel applies; may block or unblock commerce',
    tags: ['channel app'],
    before: [channelApp],
    body: z.object({ version: z.number().int().min(1) }).strict(),
    responses: {
      200: {
        description: 'The channel’s standing',
        schema: z.object({ appliedConfigVersion: z.number(), blockReasons: z.array(z.string()), commerceAllowed: z.boolean() }),
      },
    },
    handler: async ({ body, res }) => {
      const code = appChannel(res)._id;
      const doc = await d.channels.reportConfigVersion(code, body.version, cause(res, code));
      return ok({
        appliedConfigVersion: doc.appliedConfigVersion,
        blockReasons: doc.blockReasons,
        commerceAllowed: doc.state === 'active' && doc.blockReasons.length === 0,
      });
    },
  });

  // ---- central configuration --------------------------------------------------------------------
  const ConfigVersion = z.object({ version: z.number(), minimumVersion: z.number(), entries: z.record(z.string(), ConfigEntry) });
  api.route({
    method: 'get',
    path: '/config',
    summary: 'The current global configuration version',
    tags: ['configuration'],
    auth: true,
    before: [staff],
    responses: { 200: { description: 'Current version', schema: ConfigVersion } },
    handler: async () => ok(await d.config.current()),
  });
  api.route({
    method: 'get',
    path: '/config/versions/:version',
    summary: 'One global configuration version',
    tags: ['configuration'],
    auth: true,
    before: [staff],
    params: z.object({ version: z.coerce.number().int().min(1) }),
    responses: { 200: { description: 'The version', schema: ConfigVersion } },
    handler: async ({ params }) => ok(await d.config.get(params.version)),
  });
  api.route({
    method: 'post',
    path: '/config/versions',
    summary: 'Publish a new global version (admin): entries replace or add keys; channels are re-evaluated',
    tags: ['configuration'],
    auth: true,
    before: [admin],
    body: z
      .object({
        entries: z
          .record(z.string().regex(/^[a-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/, 'keys look like category.name'), ConfigEntry)
          .default({}),
        remove: z.array(z.string()).max(100).optional(),
        minimumVersion: z.number().int().min(1).optional(),
      })
      .strict(),
    responses: { 201: { description: 'Published', schema: ConfigVersion.extend({ channelsReevaluated: z.number() }) } },
    handler: async ({ body, res }) => {
      const v = await d.config.publish(body, principalOf(res).sub);
      const changed = await d.onConfigPublished(String(res.locals.correlationId));
      return ok({ ...v, channelsReevaluated: changed }, 201);
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/config-overrides/:key',
    summary: 'Override one overridable key for a channel (recorded)',
    tags: ['configuration'],
    auth: true,
    before: [staff],
    params: z.object({ code: ChannelCode, key: z.string().max(100) }),
    body: z
      .object({
        value: z.unknown().refine((v) => v !== undefined && v !== null, 'a value is required'),
        reason: z.string().max(500).optional(),
      })
      .strict(),
    responses: { 200: { description: 'The channel with the override', schema: Channel }, 409: { description: 'Key not overridable' } },
    handler: async ({ params, body, res }) => {
      const p = scoped(res, params.code);
      return ok(
        channelView(await d.channels.setOverride(params.code, params.key, body.value, p, body.reason ?? null, cause(res, params.code))),
      );
    },
  });
  api.route({
    method: 'delete',
    path: '/channels/:code/config-overrides/:key',
    summary: 'Remove a channel’s override (recorded)',
    tags: ['configuration'],
    auth: true,
    before: [staff],
    params: z.object({ code: ChannelCode, key: z.string().max(100) }),
    responses: { 200: { description: 'The channel without the override', schema: Channel } },
    handler: async ({ params, res }) => {
      const p = scoped(res, params.code);
      return ok(channelView(await d.channels.removeOverride(params.code, params.key, p, null, cause(res, params.code))));
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/config-overrides/log',
    summary: 'Every override decision for a channel',
    tags: ['configuration'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: { 200: { description: 'Override log, oldest first', schema: z.object({ overrides: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      return ok({ overrides: await d.channels.overrideLogOf(params.code) });
    },
  });

  // ---- notifications and partner delivery -------------------------------------------------------
  api.route({
    method: 'get',
    path: '/channels/:code/notifications',
    summary: 'Notifications generated for a channel, newest first',
    tags: ['notifications'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: { 200: { description: 'Notifications', schema: z.object({ notifications: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      const rows = await d.store.notifications.find({ channel: params.code }, WITHOUT_OUTBOX).sort({ createdAt: -1 }).limit(500).lean();
      return ok({ notifications: rows.map(({ _id, ...n }) => ({ id: _id, ...n })) });
    },
  });
  api.route({
    method: 'post',
    path: '/channels/:code/webhooks',
    summary: 'Register a webhook endpoint; deliveries are signed with the returned secret (shown once)',
    tags: ['partner delivery'],
    auth: true,
    before: [staff],
    params: CodeParams,
    body: z
      .object({
        url: z.string().max(2048),
        events: z
          .array(
            z.enum(DELIVERY_EVENT_TYPES, {
              error: (iss) => `unknown event kind ${JSON.stringify(iss.input)}; subscribe to ${DELIVERY_EVENT_TYPES.join(', ')}`,
            }),
          )
          .min(1)
          .describe(`The kinds of event delivered to the endpoint: ${DELIVERY_EVENT_TYPES.join(', ')}`),
      })
      .strict(),
    responses: {
      201: {
        description: 'Registered',
        schema: z.object({ id: z.string(), url: z.string(), events: z.array(z.string()), secret: z.string() }).passthrough(),
      },
    },
    handler: async ({ params, body, res }) => {
      const p = scoped(res, params.code);
      const { endpoint, secret } = await d.endpoints.register(params.code, body.url, body.events, p);
      return ok({ ...endpointView(endpoint), secret }, 201);
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/webhooks',
    summary: 'The channel’s webhook endpoints',
    tags: ['partner delivery'],
    auth: true,
    before: [staff],
    params: CodeParams,
    responses: { 200: { description: 'Endpoints', schema: z.object({ endpoints: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      return ok({ endpoints: (await d.endpoints.list(params.code)).map(endpointView) });
    },
  });
  api.route({
    method: 'delete',
    path: '/channels/:code/webhooks/:id',
    summary: 'Deactivate a webhook endpoint',
    tags: ['partner delivery'],
    auth: true,
    before: [staff],
    params: z.object({ code: ChannelCode, id: z.string().max(100) }),
    responses: { 204: { description: 'Deactivated' } },
    handler: async ({ params, res }) => {
      scoped(res, params.code);
      await d.endpoints.deactivate(params.code, params.id);
      return { status: 204 };
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/deliveries',
    summary: 'Webhook deliveries of a channel with their status and attempts, newest first',
    tags: ['partner delivery'],
    auth: true,
    before: [staff],
    params: CodeParams,
    query: z.object({ status: z.enum(['pending', 'delivered', 'failed']).optional() }),
    responses: { 200: { description: 'Deliveries', schema: z.object({ deliveries: z.array(Json) }) } },
    handler: async ({ params, query, res }) => {
      scoped(res, params.code);
      const filter = { channel: params.code, ...(query.status ? { status: query.status } : {}) };
      const rows = await d.store.deliveries
        .find(filter, { ...WITHOUT_OUTBOX, body: 0 })
        .sort({ createdAt: -1 })
        .limit(500)
        .lean();
      return ok({ deliveries: rows.map(({ _id, ...r }) => ({ id: _id, ...r })) });
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/partner-customers/:partnerCustomerId',
    summary: 'Map a partner’s customer id to the global customer id (used by partner ingestion)',
    tags: ['partner ingestion'],
    auth: true,
    before: [staff],
    params: z.object({ code: ChannelCode, partnerCustomerId: z.string().min(1).max(128) }),
    body: z.object({ customerId: z.string().min(1).max(128) }).strict(),
    responses: { 204: { description: 'Mapped' } },
    handler: async ({ params, body, res }) => {
      scoped(res, params.code);
      await d.partners.mapCustomer(params.code, params.partnerCustomerId, body.customerId);
      return { status: 204 };
    },
  });
  return api;
}
