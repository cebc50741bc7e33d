import { principalOf, z, type HttpApi } from '@omnimall/service-kit';
import type { Catalog } from '../application/catalog';
import { createProduct, updateProduct } from '../application/products';
import { listingsOf, refusalsOf } from '../application/queries';
import { corr, ok, type Guards } from './access';
import * as S from './schemas';

/** The routes of products: the master catalogue (sellers, their own products) and its traceability (owner, compliance officer). */
export function registerProductRoutes(api: HttpApi, c: Catalog, g: Guards): void {
  api
    .route({
      method: 'post',
      path: '/products',
      summary: 'Create a master product (owned by the calling seller)',
      tags: ['master'],
      auth: true,
      before: g.seller,
      body: S.ProductBody,
      responses: {
        201: { description: 'created', schema: S.Json },
        409: {
          description: 'the id is taken (`product_exists`), or a SKU belongs to another product (`sku_owned_by_other_product`, naming it)',
        },
      },
      handler: async ({ body, res }) => ({ status: 201, body: await createProduct(c, principalOf(res), body) }),
    })
    .route({
      method: 'get',
      path: '/products/:id',
      summary: 'A master product',
      tags: ['master'],
      auth: true,
      before: g.reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('the product'),
      handler: async ({ params, res }) => {
        await g.ownerOrOfficer(res, params.id);
        const product = await c.products.byId(params.id);
        if (!product)
          return { status: 404, body: { code: 'product_not_found', message: `no product ${params.id}`, hint: 'check the product id' } };
        return { body: product };
      },
    })
    .route({
      method: 'put',
      path: '/products/:id',
      summary: 'Change a master product: bumps its version and propagates to every channel',
      tags: ['master'],
      auth: true,
      before: g.seller,
      params: z.object({ id: S.ProductId }),
      body: S.ProductUpdateBody,
      responses: {
        ...ok('the product and the propagation report'),
        409: { description: 'an added SKU belongs to another product (`sku_owned_by_other_product`, naming it)' },
      },
      handler: async ({ params, body, res }) => ({ body: await updateProduct(c, principalOf(res), params.id, body, corr(res)) }),
    })
    .route({
      method: 'get',
      path: '/products/:id/listings',
      summary: 'Where the product is listed, at which price and since when, across all channels',
      tags: ['traceability'],
      auth: true,
      before: g.reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('listings'),
      handler: async ({ params, res }) => {
        await g.ownerOrOfficer(res, params.id);
        return { body: await listingsOf(c, params.id) };
      },
    })
    .route({
      method: 'get',
      path: '/products/:id/refusals',
      summary: 'Recorded restriction refusals of a product',
      tags: ['restrictions'],
      auth: true,
      before: g.reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('refusals'),
      handler: async ({ params, res }) => {
        await g.ownerOrOfficer(res, params.id);
        return { body: { refusals: await refusalsOf(c, params.id) } };
      },
    });
}
