import type { Response } from 'express';
import {
  assertChannelScope,
  ForbiddenError,
  HttpApi,
  principalOf,
  requireAuth,
  z,
  type Principal,
  type TokenVerifier,
} from '@omnimall/service-kit';
import type { EditableField } from '../domain/catalog';
import type { CatalogContext } from '../application/context';
import * as cmd from '../application/commands';
import * as q from '../application/queries';
import { bulkAssign } from '../application/bulk';
import * as S from './schemas';

/**
 * The HTTP API. Sellers maintain their master products, assign them to channels and price them;
 * channel managers see and curate only their channels' local catalogues (assertChannelScope);
 * admins do everything, including the rate table.
 */
export function buildApi(ctx: CatalogContext, verifier: TokenVerifier): HttpApi {
  const api = new HttpApi({
    title: 'omnimall catalog-sync',
    version: '1.0.0',
    description: 'Master and local catalogues, assignment, sync rules, conflicts, normalisation evidence, restrictions, traceability.',
  });
  const seller = [requireAuth(verifier, { kind: 'staff', roles: ['seller'] })];
  const manager = [requireAuth(verifier, { kind: 'staff', roles: ['channel_manager'] })];
  const reader = [requireAuth(verifier, { kind: 'staff', roles: ['seller', 'compliance_officer'] })];
  const admin = [requireAuth(verifier, { kind: 'staff', roles: ['admin'] })];
  const corr = (res: Response): string => String(res.locals.correlationId);
  const scoped = (res: Response, code: string): Principal => {
    const p = principalOf(res);
    assertChannelScope(p, code);
    return p;
  };
  const ownerOrOfficer = async (res: Response, productId: string): Promise<void> => {
    const p = principalOf(res);
    if (p.roles.includes('admin') || p.roles.includes('compliance_officer')) return;
    const product = await ctx.m.Product.findById(productId, { sellerId: 1 }).lean();
    if (product && product.sellerId !== p.sub)
      throw new ForbiddenError(
        'not_product_owner',
        `product ${productId} belongs to another seller`,
        'sellers see only their own products',
      );
  };
  const Code = z.object({ code: S.ChannelCode });
  const CodeSku = z.object({ code: S.ChannelCode, sku: S.Sku });
  const ok = (description: string) => ({ 200: { description, schema: S.Json } });

  api
    .route({
      method: 'post',
      path: '/products',
      summary: 'Create a master product (owned by the calling seller)',
      tags: ['master'],
      auth: true,
      before: seller,
      body: S.ProductBody,
      responses: { 201: { description: 'created', schema: S.Json } },
      handler: async ({ body, res }) => ({ status: 201, body: await cmd.createProduct(ctx, principalOf(res), body) }),
    })
    .route({
      method: 'get',
      path: '/products/:id',
      summary: 'A master product',
      tags: ['master'],
      auth: true,
      before: reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('the product'),
      handler: async ({ params, res }) => {
        await ownerOrOfficer(res, params.id);
        const product = await ctx.m.Product.findById(params.id).lean();
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
      before: seller,
      params: z.object({ id: S.ProductId }),
      body: S.ProductUpdateBody,
      responses: ok('the product and the propagation report'),
      handler: async ({ params, body, res }) => ({ body: await cmd.updateProduct(ctx, principalOf(res), params.id, body, corr(res)) }),
    })
    .route({
      method: 'get',
      path: '/products/:id/listings',
      summary: 'Where the product is listed, at which price and since when, across all channels',
      tags: ['traceability'],
      auth: true,
      before: reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('listings'),
      handler: async ({ params, res }) => {
        await ownerOrOfficer(res, params.id);
        return { body: await q.listingsOf(ctx, params.id) };
      },
    })
    .route({
      method: 'get',
      path: '/products/:id/refusals',
      summary: 'Recorded restriction refusals of a product',
      tags: ['restrictions'],
      auth: true,
      before: reader,
      params: z.object({ id: S.ProductId }),
      responses: ok('refusals'),
      handler: async ({ params, res }) => {
        await ownerOrOfficer(res, params.id);
        return { body: { refusals: await q.refusalsOf(ctx, params.id) } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/assignments',
      summary: 'Assign a product (all or some variants) to a channel, with optional shelf prices',
      tags: ['assignment'],
      auth: true,
      before: seller,
      params: Code,
      body: S.AssignBody,
      responses: {
        200: { description: 'propagation report', schema: S.Json },
        422: { description: 'barred by a restriction (named in details.restriction)' },
      },
      handler: async ({ params, body, res }) => ({ body: await cmd.assign(ctx, principalOf(res), params.code, body, corr(res)) }),
    })
    .route({
      method: 'delete',
      path: '/channels/:code/assignments/:productId',
      summary: 'Remove a product from a channel (its items are withdrawn)',
      tags: ['assignment'],
      auth: true,
      before: seller,
      params: z.object({ code: S.ChannelCode, productId: S.ProductId }),
      responses: ok('propagation report'),
      handler: async ({ params, res }) => ({ body: await cmd.unassign(ctx, principalOf(res), params.code, params.productId, corr(res)) }),
    })
    .route({
      method: 'put',
      path: '/channels/:code/prices/:sku',
      summary: 'Set shelf prices of a SKU in a channel, per currency (minor units)',
      tags: ['assignment'],
      auth: true,
      before: seller,
      params: CodeSku,
      body: S.PricesBody,
      responses: ok('propagation report'),
      handler: async ({ params, body, res }) => ({
        body: await cmd.setChannelPrices(ctx, principalOf(res), params.code, params.sku, body.prices, corr(res)),
      }),
    })
    .route({
      method: 'post',
      path: '/bulk-sync',
      summary: 'Assign many products to several channels at once',
      tags: ['assignment'],
      auth: true,
      before: seller,
      body: S.BulkBody,
      responses: ok('bulk result'),
      handler: async ({ body, res }) => ({ body: await bulkAssign(ctx, principalOf(res), body.channels, body.productIds) }),
    })
    .route({
      method: 'get',
      path: '/channels/:code/items',
      summary: "A channel's local catalogue",
      tags: ['local'],
      auth: true,
      before: manager,
      params: Code,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: ok('items'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { items: await q.channelItems(ctx, params.code, query.limit) } };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/items/:sku',
      summary: 'One local item with its trace (master version, rule versions)',
      tags: ['local'],
      auth: true,
      before: manager,
      params: CodeSku,
      responses: ok('item'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        return { body: await q.itemOf(ctx, params.code, params.sku) };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/items/:sku/evidence',
      summary: 'Transformation evidence of a local item (latest propagations first)',
      tags: ['traceability'],
      auth: true,
      before: manager,
      params: CodeSku,
      responses: ok('evidence'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        const item = await q.itemOf(ctx, params.code, params.sku);
        const evidence = await q.evidenceOf(ctx, item);
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
      before: manager,
      params: CodeSku,
      body: S.EditBody,
      responses: ok('item'),
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { body: await cmd.editItem(ctx, params.code, params.sku, body.set as Partial<Record<EditableField, unknown>>, body.revert) };
      },
    })
    .route({
      method: 'get',
      path: '/channels/:code/conflicts',
      summary: "A channel's conflicts",
      tags: ['conflicts'],
      auth: true,
      before: manager,
      params: Code,
      query: z.object({ status: z.enum(['open', 'resolved']).default('open') }),
      responses: ok('conflicts'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { conflicts: await q.channelConflicts(ctx, params.code, query.status) } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/items/:sku/conflicts/:field/resolve',
      summary: 'Resolve a conflict: keep_local, take_master or merge',
      tags: ['conflicts'],
      auth: true,
      before: manager,
      params: z.object({ code: S.ChannelCode, sku: S.Sku, field: z.enum(['title', 'description', 'category', 'attributes']) }),
      body: S.ResolveBody,
      responses: ok('item and conflict'),
      handler: async ({ params, body, res }) => ({
        body: await cmd.resolve(ctx, scoped(res, params.code), params.code, params.sku, params.field, body.resolution, body.value),
      }),
    })
    .route({
      method: 'get',
      path: '/channels/:code/staged-diffs',
      summary: "A channel's staged diffs (manual rules)",
      tags: ['rules'],
      auth: true,
      before: manager,
      params: Code,
      query: z.object({ status: z.enum(['pending', 'approved', 'rejected']).default('pending') }),
      responses: ok('diffs'),
      handler: async ({ params, query, res }) => {
        scoped(res, params.code);
        return { body: { diffs: await q.channelDiffs(ctx, params.code, query.status) } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/staged-diffs/:diffId/:decision',
      summary: 'Approve or reject a staged diff',
      tags: ['rules'],
      auth: true,
      before: manager,
      params: z.object({ code: S.ChannelCode, diffId: z.string().min(3).max(300), decision: z.enum(['approve', 'reject']) }),
      responses: ok('diff and item'),
      handler: async ({ params, res }) => ({
        body: await cmd.decideDiff(ctx, scoped(res, params.code), params.code, params.diffId, params.decision === 'approve'),
      }),
    })
    .route({
      method: 'get',
      path: '/channels/:code/rules',
      summary: "A channel's mapping and sync rules, with every past version",
      tags: ['rules'],
      auth: true,
      before: manager,
      params: Code,
      responses: ok('rules'),
      handler: async ({ params, res }) => {
        scoped(res, params.code);
        const set = await ctx.m.RuleSet.findById(params.code).lean();
        return { body: { rules: set?.rules ?? [], history: set?.history ?? [] } };
      },
    })
    .route({
      method: 'post',
      path: '/channels/:code/rules',
      summary: 'Create a mapping and sync rule (re-propagates the channel)',
      tags: ['rules'],
      auth: true,
      before: manager,
      params: Code,
      body: S.RuleBody,
      responses: { 201: { description: 'created', schema: S.Json }, 409: { description: 'fields already governed by another rule' } },
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { status: 201, body: await cmd.putRule(ctx, params.code, null, body) };
      },
    })
    .route({
      method: 'put',
      path: '/channels/:code/rules/:ruleId',
      summary: 'Change a rule: a new version (re-propagates the channel)',
      tags: ['rules'],
      auth: true,
      before: manager,
      params: z.object({ code: S.ChannelCode, ruleId: z.string().min(1).max(64) }),
      body: S.RuleBody,
      responses: ok('the new version'),
      handler: async ({ params, body, res }) => {
        scoped(res, params.code);
        return { body: await cmd.putRule(ctx, params.code, params.ruleId, body) };
      },
    })
    .route({
      method: 'post',
      path: '/rates',
      summary: 'Add an exchange rate to the versioned table (admin)',
      tags: ['normalisation'],
      auth: true,
      before: admin,
      body: S.RateBody,
      responses: { 201: { description: 'added', schema: S.Json } },
      handler: async ({ body }) => ({ status: 201, body: await cmd.addRate(ctx, body) }),
    })
    .route({
      method: 'get',
      path: '/rates',
      summary: 'The versioned rate table',
      tags: ['normalisation'],
      responses: ok('rates'),
      handler: async () => ({ body: { entries: await ctx.rates() } }),
    });
  return api;
}
