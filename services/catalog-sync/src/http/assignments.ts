import { principalOf, z, type HttpApi } from '@omnimall/service-kit';
import { assign, setChannelPrices, unassign } from '../application/assignments';
import type { Catalog } from '../application/catalog';
import { Code, CodeSku, corr, ok, type Guards } from './access';
import * as S from './schemas';

/** The routes of assignments: sellers list their products in channels, price them there. */
export function registerAssignmentRoutes(api: HttpApi, c: Catalog, g: Guards): void {
  api
    .route({
      method: 'post',
      path: '/channels/:code/assignments',
      summary: 'Assign a product (all or some variants) to a channel, with optional shelf prices',
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      params: Code,
      body: S.AssignBody,
      responses: {
        200: { description: 'propagation report', schema: S.Json },
        409: { description: 'a SKU belongs to another product (`sku_owned_by_other_product`), or the channel is closed' },
        422: { description: 'barred by a restriction (named in details.restriction)' },
      },
      handler: async ({ params, body, res }) => ({ body: await assign(c, principalOf(res), params.code, body, corr(res)) }),
    })
    .route({
      method: 'delete',
      path: '/channels/:code/assignments/:productId',
      summary: 'Remove a product from a channel (its items are withdrawn)',
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      params: z.object({ code: S.ChannelCode, productId: S.ProductId }),
      responses: ok('propagation report'),
      handler: async ({ params, res }) => ({ body: await unassign(c, principalOf(res), params.code, params.productId, corr(res)) }),
    })
    .route({
      method: 'put',
      path: '/channels/:code/prices/:sku',
      summary: 'Set shelf prices of a SKU in a channel, per currency (minor units)',
      tags: ['assignment'],
      auth: true,
      before: g.seller,
      params: CodeSku,
      body: S.PricesBody,
      responses: { ...ok('propagation report'), 409: { description: 'the SKU belongs to another product, or the listing is inherited' } },
      handler: async ({ params, body, res }) => ({
        body: await setChannelPrices(c, principalOf(res), params.code, params.sku, body.prices, corr(res)),
      }),
    });
}
