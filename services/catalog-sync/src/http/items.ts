import { z, type HttpApi } from '@omnimall/service-kit';
import type { EditableField } from '../domain/catalog';
import type { Catalog } from '../application/catalog';
import { editItem, resolve } from '../application/curation';
import { channelConflicts, channelItems, evidenceOf, itemOf, itemViewOf } from '../application/queries';
import { Code, CodeSku, ok, scoped, type Guards } from './access';
import * as S from './schemas';

/** The routes of local items: a channel's catalogue, curated by that channel's managers (their channel scope), and its conflicts. */
export function registerItemRoutes(api: HttpApi, c: Catalog, g: Guards): void {
  api
    .route({
      method: 'get',
      path: '/channels/:code/items',
      summary: "A channel's local catalogue",
      tags: ['local'],
      auth: true,
      before: g.manager,
      params: Code,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: ok('items'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { items: await channelItems(c, params.code, query.limit) } };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/items/:sku',
      summary: 'One local item with its trace (master version, rule versions) and its stock on the channel (when inventory published one)',
      tags: ['local'],
      auth: true,
      before: g.manager,
      params: CodeSku,
      responses: ok('item'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        return { body: await itemViewOf(c, params.code, params.sku) };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/items/:sku/evidence',
      summary: 'Transformation evidence of a local item (latest propagations first)',
      tags: ['traceability'],
      auth: true,
      before: g.manager,
      params: CodeSku,
      responses: ok('evidence'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        const item = await itemOf(c, params.code, params.sku);
        const evidence = await evidenceOf(c, item);
        return {
          body: {
            itemId: item._id,
            masterVersion: item.masterVersion,
            ruleVersions: item.ruleVersions,
            evidence,
          },
        };
      },
    })
    .route({
      method: 'patch',
      path: '/channels/:code/items/:sku',
      summary: 'Curate a local item: set fields locally, or revert them to the master-derived value',
      tags: ['local'],
      auth: true,
      before: g.manager,
      params: CodeSku,
      body: S.EditBody,
      responses: ok('item'),
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { body: await editItem(c, params.code, params.sku, body.set as Partial<Record<EditableField, unknown>>, body.revert) };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/conflicts',
      summary: "A channel's conflicts",
      tags: ['conflicts'],
      auth: true,
      before: g.manager,
      params: Code,
      query: z.object({ status: z.enum(['open', 'resolved']).default('open') }),
      responses: ok('conflicts'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { conflicts: await channelConflicts(c, params.code, query.status) } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/items/:sku/conflicts/:field/resolve',
      summary: 'Resolve a conflict: keep_local, take_master or merge',
      tags: ['conflicts'],
      auth: true,
      before: g.manager,
      params: z.object({ code: S.ChannelCode, sku: S.Sku, field: z.enum(['title', 'description', 'category', 'attributes']) }),
      body: S.ResolveBody,
      responses: ok('item and conflict'),
      handler: async ({ params, body, res }) => ({
        body: await resolve(c, scoped(res, params.code), params.code, params.sku, params.field, body.resolution, body.value),
      }),
    });
}
