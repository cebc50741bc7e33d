import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, MongoProjections, type Projected, type ProjectionRepository } from '@omnimall/service-kit';
import type { StoredPromotion } from '@omnimall/pricing';
import type { CartView, ChannelView, CustomerView, ItemView } from '../domain/checkout';

/**
 * What orders holds of other services' aggregates, each the latest full state its source published
 * (a late or replayed event never moves one back): customers' standing, channels' state, each
 * channel's listings (`<channel>:<sku>`), carts (by cart id, at their version) and promotion definitions.
 */
export interface Projections {
  customers: ProjectionRepository<CustomerView>;
  channels: ProjectionRepository<ChannelView>;
  items: ProjectionRepository<ItemView>;
  carts: ProjectionRepository<CartView>;
  promotions: ProjectionRepository<StoredPromotion>;
}

const base = { _id: String, aggregateVersion: Number, ...appliedEventsPath };

function projection<V extends object>(db: Connection, name: string, paths: Record<string, unknown>, fields: (keyof V & string)[]) {
  const model =
    (db.models[name] as Model<Projected<V>> | undefined) ??
    db.model<Projected<V>>(
      name,
      new Schema<Projected<V>>({ ...base, ...paths }, { versionKey: false, minimize: false }),
      name.toLowerCase(),
    );
  return new MongoProjections<V>(model, fields);
}

export function projections(db: Connection): Projections {
  return {
    customers: projection<CustomerView>(db, 'Customer', { status: String, until: Number, loyaltyTier: String, dataRegion: String }, [
      'status',
      'until',
      'loyaltyTier',
      'dataRegion',
    ]),
    channels: projection<ChannelView>(
      db,
      'Channel',
      {
        code: String,
        kind: String,
        state: String,
        blockReasons: [String],
        region: String,
        currencies: [String],
        allowedDataRegions: [String],
        expectedBackAt: Number,
      },
      ['code', 'kind', 'state', 'blockReasons', 'region', 'currencies', 'allowedDataRegions', 'expectedBackAt'],
    ),
    items: projection<ItemView>(
      db,
      'Item',
      { status: String, title: String, priceMinor: Number, currency: String, taxInclusive: Boolean, barredRegions: [String] },
      ['status', 'title', 'priceMinor', 'currency', 'taxInclusive', 'barredRegions'],
    ),
    carts: projection<CartView>(db, 'Cart', { cartId: String, customerId: String, version: Number, lines: { type: Array, default: [] } }, [
      'cartId',
      'customerId',
      'version',
      'lines',
    ]),
    promotions: projection<StoredPromotion>(
      db,
      'Promotion',
      { promotionId: String, version: Number, published: { type: Object, default: null }, withdrawn: Boolean },
      ['promotionId', 'version', 'published', 'withdrawn'],
    ),
  };
}
