import type { EventContext, HandlerMap } from '@omnimall/service-kit';
import type { Model } from 'mongoose';
import { itemId, type CartModels } from '../store/models';

/**
 * Local projections of identity, channels and the channel catalogues. Every source event carries the
 * aggregate's full state, so a projection keeps only the latest: the update matches only a document
 * at an older aggregateVersion (or none), and an older or replayed event is reported as a duplicate.
 */
async function project<T>(ctx: EventContext, model: Model<T>, id: string, fields: Record<string, unknown>): Promise<void> {
  const version = ctx.envelope.aggregateVersion;
  await ctx.applyOnce(
    model,
    { _id: id, aggregateVersion: { $lt: version } } as never,
    { $set: { ...fields, aggregateVersion: version } } as never,
    { upsert: true },
  );
}

export function projectionHandlers(m: CartModels): HandlerMap {
  return {
    'identity.customer-status': (e, ctx) =>
      project(ctx, m.Customer, e.customerId, {
        customerId: e.customerId,
        status: e.status,
        reason: e.reason,
        until: e.until,
        dataRegion: e.dataRegion,
      }),
    'channels.channel-changed': (e, ctx) => {
      ctx.channel = e.code;
      return project(ctx, m.Channel, e.code, {
        code: e.code,
        state: e.state,
        expectedBackAt: e.expectedBackAt,
        blockReasons: e.blockReasons,
        region: e.region,
        allowedDataRegions: e.allowedDataRegions,
      });
    },
    'catalog.local-item': (e, ctx) => {
      ctx.channel = e.channel;
      return project(ctx, m.Item, itemId(e.channel, e.sku), {
        channel: e.channel,
        sku: e.sku,
        status: e.status,
        title: e.title,
        priceMinor: e.priceMinor,
        currency: e.currency,
        barredRegions: e.barredRegions,
      });
    },
  };
}
