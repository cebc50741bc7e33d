import { channelNotFoundResponse, z, type HttpApi } from '@omnimall/service-kit';
import type { Configuration } from '../application/configuration';
import { refusals, scoped, type Guards } from './access';
import * as S from './schemas';

const Id = z.object({ id: S.LocationId });
const Code = z.object({ code: S.ChannelCode });
const CodeLocation = z.object({ code: S.ChannelCode, locationId: S.LocationId });

/** Stock locations (admins), their links to channels with a priority (channel managers of the channel), and a channel's resulting source. */
export function locationRoutes(api: HttpApi, c: Configuration, g: Guards): void {
  api
    .route({
      method: 'get',
      path: '/locations',
      summary: 'Every stock location (warehouses, stores, partner drop-ship)',
      tags: ['locations'],
      auth: true,
      before: g.staff,
      responses: { 200: { description: 'the locations', schema: z.array(S.Json) }, ...refusals },
      handler: async () => ({ body: await c.locations() }),
    })
    .route({
      method: 'get',
      path: '/locations/:id',
      summary: 'One stock location',
      tags: ['locations'],
      auth: true,
      before: g.staff,
      params: Id,
      responses: { 200: { description: 'the location', schema: S.Json }, ...refusals, 404: { description: 'location_not_found' } },
      handler: async ({ params }) => ({ body: await c.location(params.id) }),
    })
    .route({
      method: 'put',
      path: '/locations/:id',
      summary: 'Create or replace a stock location (admins)',
      tags: ['locations'],
      auth: true,
      before: g.admin,
      params: Id,
      body: S.LocationBody,
      responses: { 200: { description: 'the location as saved', schema: S.Json }, ...refusals },
      handler: async ({ params, body }) => ({ body: await c.saveLocation({ id: params.id, ...body }) }),
    })
    .route({
      method: 'get',
      path: '/channels/:code/locations',
      summary: 'The locations linked to a channel, by priority',
      tags: ['locations'],
      auth: true,
      before: g.manager,
      params: Code,
      responses: { 200: { description: 'the links', schema: z.array(S.Json) }, ...refusals, ...channelNotFoundResponse },
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        await c.knownChannel(params.code);
        return { body: await c.links(params.code) };
      },
    })
    .route({
      method: 'put',
      path: '/channels/:code/locations/:locationId',
      summary: 'Link a location to a channel with a priority (lower is used first); the channel then sells from its own locations',
      tags: ['locations'],
      auth: true,
      before: g.manager,
      params: CodeLocation,
      body: S.LinkBody,
      responses: {
        200: { description: 'the link', schema: S.Json },
        ...refusals,
        404: { description: 'location_not_found, channel_not_found' },
      },
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        await c.knownChannel(params.code);
        return { body: await c.link(params.code, params.locationId, body.priority) };
      },
    })
    .route({
      method: 'delete',
      path: '/channels/:code/locations/:locationId',
      summary: 'Unlink a location from a channel',
      tags: ['locations'],
      auth: true,
      before: g.manager,
      params: CodeLocation,
      responses: { 204: { description: 'unlinked' }, ...refusals, 404: { description: 'link_not_found, channel_not_found' } },
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        await c.knownChannel(params.code);
        await c.unlink(params.code, params.locationId);
        return { status: 204 };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/source',
      summary: "Where a channel's stock comes from: its own locations, its master channel's pool, or none",
      tags: ['locations'],
      auth: true,
      before: g.manager,
      params: Code,
      responses: { 200: { description: 'the source', schema: S.Json }, ...refusals, ...channelNotFoundResponse },
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        await c.knownChannel(params.code);
        return { body: await c.source(params.code) };
      },
    });
}
