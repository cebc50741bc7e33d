/** Central configuration: global versions and per-channel overrides. */
import { principalOf, z, type HttpApi } from '@omnimall/service-kit';
import { ConfigEntry } from '../domain/config';
import { ChannelCode } from '../domain/registry';
import { channelView } from '../application/channel-service';
import type { Guards, RouteDeps } from './deps';
import { Channel, CodeParams, ConfigVersion, Json, cause, ok } from './schemas';

/** Global configuration versions and channel overrides. */
export function configRoutes(api: HttpApi, d: Pick<RouteDeps, 'channels' | 'config' | 'onConfigPublished'>, g: Guards): void {
  api.route({
    method: 'get',
    path: '/config',
    summary: 'The current global configuration version',
    tags: ['configuration'],
    auth: true,
    before: [g.staff],
    responses: { 200: { description: 'Current version', schema: ConfigVersion } },
    handler: async () => ok(await d.config.current()),
  });
  api.route({
    method: 'get',
    path: '/config/versions/:version',
    summary: 'One global configuration version',
    tags: ['configuration'],
    auth: true,
    before: [g.staff],
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
    before: [g.admin],
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
    before: [g.staff],
    params: z.object({ code: ChannelCode, key: z.string().max(100) }),
    body: z
      .object({
        value: z.unknown().refine((v) => v !== undefined && v !== null, 'a value is required'),
        reason: z.string().max(500).optional(),
      })
      .strict(),
    responses: { 200: { description: 'The channel with the override', schema: Channel }, 409: { description: 'Key not overridable' } },
    handler: async ({ params, body, res }) => {
      const p = g.scoped(res, params.code);
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
    before: [g.staff],
    params: z.object({ code: ChannelCode, key: z.string().max(100) }),
    responses: { 200: { description: 'The channel without the override', schema: Channel } },
    handler: async ({ params, res }) => {
      const p = g.scoped(res, params.code);
      return ok(channelView(await d.channels.removeOverride(params.code, params.key, p, null, cause(res, params.code))));
    },
  });
  api.route({
    method: 'get',
    path: '/channels/:code/config-overrides/log',
    summary: 'Every override decision for a channel',
    tags: ['configuration'],
    auth: true,
    before: [g.staff],
    params: CodeParams,
    responses: { 200: { description: 'Override log, oldest first', schema: z.object({ overrides: z.array(Json) }) } },
    handler: async ({ params, res }) => {
      g.scoped(res, params.code);
      return ok({ overrides: await d.channels.overrideLogOf(params.code) });
    },
  });
}
