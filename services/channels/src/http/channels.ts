/** The channel registry and lifecycle routes. */
import { ForbiddenError, principalOf, z, type HttpApi } from '@omnimall/service-kit';
import { CHECKLISTS, commerceNotice, LIFECYCLE_ACTIONS } from '../domain/lifecycle';
import { ChannelCode, RegisterChannelBody, UpdateChannelBody } from '../domain/registry';
import { channelView } from '../application/channel-service';
import type { Guards, RouteDeps } from './deps';
import { Channel, CodeParams, Json, cause, ok } from './schemas';

/** A channel as a transition answers it: with `notice` when it is active but takes no transaction. */
const TransitionedChannel = Channel.extend({
  notice: z
    .object({ code: z.literal('commerce_not_allowed'), message: z.string(), hint: z.string(), blockReasons: z.array(z.string()) })
    .optional()
    .describe('Present when the channel is active but blocked: commerce is not allowed until every reason is lifted'),
});

const dataRegionsRestricted = () =>
  new ForbiddenError(
    'data_regions_restricted',
    'only an admin or a compliance officer may change where a channel’s personal data resides',
    'ask a compliance officer to set them with PUT /channels/{code}/data-regions',
  );

/** Registration, listing and updates of channels. */
export function registryRoutes(api: HttpApi, d: Pick<RouteDeps, 'channels'>, g: Guards): void {
  api.route({
    method: 'post',
    path: '/channels',
    summary: 'Register a channel (admin); it starts in draft',
    tags: ['registry'],
    auth: true,
    before: [g.admin],
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
    before: [g.staff],
    responses: { 200: { description: 'Channels', schema: z.object({ channels: z.array(Channel) }) } },
    handler: async ({ res }) => ok({ channels: (await d.channels.list(principalOf(res))).map(channelView) }),
  });
  api.route({
    method: 'get',
    path: '/channels/:code',
    summary: 'One channel',
    tags: ['registry'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: { 200: { description: 'The channel', schema: Channel }, 404: { description: 'No such channel' } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      return ok(channelView(await d.channels.get(params.code)));
    },
  });
  api.route({
    method: 'patch',
    path: '/channels/:code',
    summary: 'Change a channel (code and kind are immutable)',
    tags: ['registry'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    body: UpdateChannelBody,
    responses: {
      200: { description: 'Updated', schema: Channel },
      403: { description: 'Not yours, or a field only an admin may change (manager, allowedDataRegions)' },
    },
    handler: async ({ params, body, res }) => {
      const p = g.scoped(res, params.code);
      if (body.manager && !p.roles.includes('admin')) {
        throw new ForbiddenError('admin_required', 'only an admin may assign a channel manager', 'ask an admin to reassign the channel');
      }
      if (body.allowedDataRegions && !p.roles.includes('admin')) throw dataRegionsRestricted();
      return ok(channelView(await d.channels.update(params.code, body, cause(res, params.code))));
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/data-regions',
    summary: 'Set where the channel’s personal data may reside (admin or compliance officer)',
    tags: ['registry'],
    auth: true,
    before: [g.residency],
    params: CodeParams,
    body: z.object({ allowedDataRegions: UpdateChannelBody.shape.allowedDataRegions.unwrap().min(1) }).strict(),
    responses: {
      200: { description: 'The channel with its new data regions', schema: Channel },
      403: { description: 'Not an admin or compliance officer' },
      404: { description: 'No such channel' },
    },
    handler: async ({ params, body, res }) =>
      ok(channelView(await d.channels.update(params.code, { allowedDataRegions: body.allowedDataRegions }, cause(res, params.code)))),
  });
}

/** Transitions, their history and the onboarding and offboarding checklists. */
export function lifecycleRoutes(api: HttpApi, d: Pick<RouteDeps, 'channels'>, g: Guards): void {
  api.route({
    method: 'post',
    path: '/channels/:code/transitions',
    summary:
      'Move a channel through its lifecycle; 409 lists the allowed actions. `approve` ticks the onboarding checklist’s `approval` item; an `active` channel may still take no transaction (commerceAllowed false, `notice` says why)',
    tags: ['lifecycle'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    body: z
      .object({ action: z.enum(LIFECYCLE_ACTIONS), expectedBackAt: z.coerce.date().optional(), reason: z.string().max(500).optional() })
      .strict(),
    responses: {
      200: {
        description:
          'The channel after the transition. When it is active but blocked (blockReasons), commerceAllowed is false and `notice` (code commerce_not_allowed) lists the reasons and what lifts each: the step succeeded, but no cart change, checkout or redemption is taken until then',
        schema: TransitionedChannel,
      },
      403: { description: 'Not yours, or an admin step' },
      404: { description: 'channel_not_found' },
      409: {
        description:
          'illegal_transition (details.allowed), or checklist_incomplete (details.missing; the hint says how each item is ticked: approval by approve, the others by PUT /channels/{code}/checklists/{list}/{item})',
      },
    },
    handler: async ({ params, body, res }) => {
      const p = g.scoped(res, params.code);
      const doc = await d.channels.transition(
        params.code,
        body.action,
        p,
        { expectedBackAt: body.expectedBackAt, reason: body.reason },
        cause(res, params.code),
      );
      const notice = commerceNotice(doc.state, doc.blockReasons);
      return ok({ ...channelView(doc), ...(notice ? { notice } : {}) });
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/transitions',
    summary: 'The lifecycle history of a channel',
    tags: ['lifecycle'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: { 200: { description: 'Transitions, oldest first', schema: z.object({ transitions: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      return ok({ transitions: await d.channels.transitionsOf(params.code) });
    },
  });
  api.route({
    method: 'put',
    path: '/channels/:code/checklists/:list/:item',
    summary:
      'Complete an onboarding or offboarding checklist item (while the channel is in that state); onboarding’s `approval` is ticked by the approve step already, an admin may tick it here for a channel approved before that',
    tags: ['lifecycle'],
    auth: true,
    before: [g.staff],
    params: z.object({
      code: ChannelCode,
      list: z.enum(Object.keys(CHECKLISTS) as ['onboarding', 'offboarding']),
      item: z.string().max(64),
    }),
    body: z.object({ note: z.string().max(1000).optional() }).strict(),
    responses: {
      200: { description: 'The channel with the item done', schema: Channel },
      403: { description: 'admin_required (approval and legal_compliance are an admin’s)' },
      404: { description: 'channel_not_found' },
      409: { description: 'checklist_closed: the checklist is worked on only while the channel is in onboarding (resp. offboarding)' },
    },
    handler: async ({ params, body, res }) => {
      const p = g.scoped(res, params.code);
      return ok(
        channelView(
          await d.channels.completeChecklistItem(params.code, params.list, params.item, p, body.note ?? null, cause(res, params.code)),
        ),
      );
    },
  });
}
