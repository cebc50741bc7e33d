import type { EventContext, HandlerMap } from '@omnimall/service-kit';
import type { CustomerStatusChanged, ChannelChanged, LocalItemChanged } from '@omnimall/contracts';
import type { Model } from 'mongoose';
import type { ChannelView, CustomerView, ItemView } from '../domain/trading';
import type { ProjectionCache } from '../store/projection-cache';
import { itemId, type CartModels } from '../store/models';

/**
 * Local projections of identity, channels and the channel catalogues. Every source event carries the
 * aggregate's full state, so a projection keeps only the latest: the update matches only a document
 * at an older aggregateVersion (or none), and an older or replayed event is reported as a duplicate.
 */
async function project<T>(ctx: EventContext, model: Model<T>, id: string, fields: object): Promise<void> {
  const version = ctx.envelope.aggregateVersion;
  await ctx.applyOnce(
    model,
    { _id: id, aggregateVersion: { $lt: version } } as never,
    { $set: { ...fields, aggregateVersion: version } } as never,
    { upsert: true },
  );
}

const customerState = (e: CustomerStatusChanged): CustomerView => ({
  customerId: e.customerId,
  status: e.status,
  reason: e.reason,
  until: e.until,
  dataRegion: e.dataRegion,
});

const channelState = (e: ChannelChanged): ChannelView => ({
  code: e.code,
  state: e.state,
  expectedBackAt: e.expectedBackAt,
  blockReasons: e.blockReasons,
  region: e.region,
  allowedDataRegions: e.allowedDataRegions,
});

const itemState = (e: LocalItemChanged): ItemView => ({
  channel: e.channel,
  sku: e.sku,
  status: e.status,
  title: e.title,
  priceMinor: e.priceMinor,
  currency: e.currency,
  barredRegions: e.barredRegions,
});

/**
 * The shared projection consumer. The process's gate cache gets the new state before the projection
 * is written, so once this instance has applied a ban, its next gate refuses.
 */
export function projectionHandlers(m: CartModels, cache?: ProjectionCache): HandlerMap {
  return {
    'identity.customer-status': (e, ctx) => {
      const state = customerState(e);
      cache?.customers.apply(e.customerId, state, ctx.envelope.aggregateVersion);
      return project(ctx, m.Customer, e.customerId, state);
    },
    'channels.channel-changed': (e, ctx) => {
      ctx.channel = e.code;
      const state = channelState(e);
      cache?.channels.apply(e.code, state, ctx.envelope.aggregateVersion);
      return project(ctx, m.Channel, e.code, state);
    },
    'catalog.local-item': (e, ctx) => {
      ctx.channel = e.channel;
      const state = itemState(e);
      cache?.items.apply(itemId(e.channel, e.sku), state, ctx.envelope.aggregateVersion);
      return project(ctx, m.Item, itemId(e.channel, e.sku), state);
    },
  };
}

/**
 * This instance's own view of the projection topics (a consumer group per instance, no database):
 * updates the gate cache with every change, including those whose partitions another instance's
 * projection consumer holds.
 */
export function gateCacheHandlers(cache: ProjectionCache): HandlerMap {
  return {
    'identity.customer-status': async (e, ctx) => cache.customers.apply(e.customerId, customerState(e), ctx.envelope.aggregateVersion),
    'channels.channel-changed': async (e, ctx) => {
      ctx.channel = e.code;
      cache.channels.apply(e.code, channelState(e), ctx.envelope.aggregateVersion);
    },
    'catalog.local-item': async (e, ctx) => {
      ctx.channel = e.channel;
      cache.items.apply(itemId(e.channel, e.sku), itemState(e), ctx.envelope.aggregateVersion);
    },
  };
}
