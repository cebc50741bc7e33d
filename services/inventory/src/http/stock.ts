import {
  channelOf,
  channelHeaders,
  channelResponses,
  principalOf,
  requireChannel,
  z,
  type HttpApi,
  type ServiceAuth,
} from '@omnimall/service-kit';
import type { Request } from 'express';
import { ValidationError } from '@omnimall/service-kit/errors';
import { actsOnChannel } from '@omnimall/contracts';
import type { StockQueries } from '../application/queries';
import type { StockService } from '../application/stock';
import type { StockOp } from '../domain/types';
import { actorOf, corr, refusals, type Guards } from './access';
import * as S from './schemas';

const SkuParams = z.object({ sku: S.Sku });

/** The If-Match header as a stock version (`"7"` or `7`), or undefined. */
function expectedVersion(req: Request): number | undefined {
  const raw = req.header('if-match');
  if (raw === undefined) return undefined;
  const n = Number(raw.replace(/^W\//, '').replace(/"/g, ''));
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError(
      'if_match_invalid',
      'If-Match must be a stock version (the ETag of GET /stock/{sku})',
      'send the ETag as it was answered',
    );
  return n;
}

/** The stock of a SKU: read it, change it (set/adjust/transfer/receive/expect), its availability per channel, its history. */
export function stockRoutes(
  api: HttpApi,
  stock: StockService,
  queries: StockQueries,
  g: Guards,
  auth: Pick<ServiceAuth, 'verifier' | 'trust'>,
): void {
  api
    .route({
      method: 'get',
      path: '/stock/:sku',
      summary:
        'A SKU’s levels per location (on hand, reserved, damaged, quality hold, safety stock, incoming, available), holds and version',
      tags: ['stock'],
      auth: true,
      before: g.staff,
      params: SkuParams,
      responses: {
        200: {
          description: 'the stock',
          schema: S.Json,
          headers: { ETag: { description: 'the stock version (for If-Match)', schema: { type: 'string' } } },
        },
        ...refusals,
        404: { description: 'stock_not_found' },
      },
      handler: async ({ params, res }) => {
        await g.mayReadSku(principalOf(res), params.sku);
        const s = await stock.get(params.sku);
        const { ops, ...shown } = s; // eslint-disable-line @typescript-eslint/no-unused-vars
        return { headers: { etag: `"${s.version}"` }, body: shown };
      },
    })
    .route({
      method: 'post',
      path: '/stock/:sku/operations',
      summary: 'Change a SKU’s stock: set, adjust, transfer, receive or expect (one compare-and-set; an adjustment in the history)',
      tags: ['stock'],
      auth: true,
      before: g.stockWriter,
      params: SkuParams,
      headers: S.IdempotencyHeaders,
      body: S.OperationBody,
      responses: {
        200: {
          description: 'applied (or the replay of the same key and body): the new stock and the adjustment id',
          schema: S.Json,
          headers: { ETag: { description: 'the new stock version', schema: { type: 'string' } } },
        },
        ...refusals,
        400: {
          description:
            'validation_failed, idempotency_key_required, if_match_invalid, unknown_location, invalid_quantity, bucket_not_writable',
        },
        409: { description: 'below_committed or insufficient_stock: the change would take units that are reserved or held' },
        412: { description: 'version_mismatch: the stock moved on since the If-Match version' },
        422: { description: 'idempotency_key_reused: the key was used for another operation' },
      },
      handler: async ({ params, body, req, res }) => {
        const p = principalOf(res);
        await g.mayWriteSku(p, params.sku);
        const key = req.header('idempotency-key');
        if (!key)
          throw new ValidationError(
            'idempotency_key_required',
            'stock operations need an Idempotency-Key header',
            'send a unique key per operation (a UUID)',
          );
        const { reason, ...op } = body;
        const reference = 'reference' in op ? (op.reference ?? null) : null;
        const result = await stock.operate(params.sku, {
          op: op as StockOp,
          provenance: { operation: op.kind, reason, actor: actorOf(p), actorKind: 'staff', reference, channel: null },
          origin: { correlationId: corr(res) },
          opKey: `${actorOf(p)}:${key}`,
          expectedVersion: expectedVersion(req),
        });
        const { ops, ...shown } = result.stock; // eslint-disable-line @typescript-eslint/no-unused-vars
        return {
          headers: { etag: `"${result.stock.version}"` },
          body: { stock: shown, adjustmentId: result.adjustmentId, replayed: result.replayed },
        };
      },
    })
    .route({
      method: 'get',
      path: '/stock/:sku/availability',
      summary: 'What each channel (or one) may sell of a SKU, and why: source, allocation, thresholds, exceptions, each step',
      tags: ['stock'],
      auth: true,
      before: g.staff,
      params: SkuParams,
      query: S.ChannelQuery,
      responses: { 200: { description: 'availability per channel with its explanation', schema: z.array(S.Json) }, ...refusals },
      handler: async ({ params, query, res }) => {
        const p = principalOf(res);
        await g.mayReadSku(p, params.sku);
        const all = await stock.availability(params.sku, query.channel);
        const mine = p.roles.includes('admin') || p.roles.includes('seller') || p.roles.includes('compliance_officer');
        return { body: mine ? all : all.filter((a) => actsOnChannel(p, a.channel)) };
      },
    })
    .route({
      method: 'get',
      path: '/availability/:sku',
      summary: 'Channel apps: what the calling channel may sell of a SKU (available, state, max per order)',
      tags: ['stock'],
      before: [requireChannel(auth)],
      params: SkuParams,
      headers: channelHeaders,
      rateLimit: { points: 600, durationSec: 60 },
      responses: { 200: { description: 'the channel’s availability', schema: S.Json }, ...channelResponses },
      handler: async ({ params, res }) => {
        const [a] = await stock.availability(params.sku, channelOf(res)!);
        return {
          body: {
            channel: a.channel,
            sku: a.sku,
            available: a.available,
            state: a.state,
            maxPerOrder: a.maxPerOrder,
            backorder: a.backorder,
          },
        };
      },
    })
    .route({
      method: 'get',
      path: '/stock/:sku/history',
      summary: 'A SKU’s adjustments, newest first: who changed what, why, from which channel, each delta per location and bucket',
      tags: ['stock'],
      auth: true,
      before: g.staff,
      params: SkuParams,
      query: S.HistoryQuery,
      responses: { 200: { description: 'the adjustments', schema: z.array(S.Json) }, ...refusals },
      handler: async ({ params, query, res }) => {
        await g.mayReadSku(principalOf(res), params.sku);
        return { body: await queries.history(params.sku, query.limit, query.before) };
      },
    })
    .route({
      method: 'get',
      path: '/totals',
      summary: 'Global totals across locations and channels, per SKU and in all (sellers: their SKUs)',
      tags: ['reports'],
      auth: true,
      before: g.staff,
      responses: { 200: { description: 'the totals', schema: S.Json }, ...refusals },
      handler: async ({ res }) => {
        const p = principalOf(res);
        const everything = !p.roles.includes('seller') || p.roles.some((r) => r !== 'seller');
        return { body: await queries.totals((s) => everything || s.sellerId === p.sub) };
      },
    })
    .route({
      method: 'get',
      path: '/alerts',
      summary: 'Channels showing a SKU low or out of stock now (sellers: their SKUs; channel managers: their channels)',
      tags: ['reports'],
      auth: true,
      before: g.staff,
      query: S.ChannelQuery,
      responses: { 200: { description: 'the open alerts', schema: z.array(S.Json) }, ...refusals },
      handler: async ({ query, res }) => {
        const p = principalOf(res);
        const all = p.roles.includes('admin') || p.roles.includes('compliance_officer');
        return {
          body: await queries.alerts(
            (a) =>
              (!query.channel || a.channel === query.channel) &&
              (all ||
                (p.roles.includes('seller') && a.sellerId === p.sub) ||
                (p.roles.includes('channel_manager') && actsOnChannel(p, a.channel))),
          ),
        };
      },
    });
}
