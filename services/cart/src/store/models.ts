import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths } from '@omnimall/service-kit';
import type { CartLine } from '../domain/cart';
import type { ChannelView, CustomerView, ItemView } from '../domain/trading';

/**
 * The cart database: carts (the aggregate, with its outbox) and the projections of other services'
 * aggregates that pricing and gating read. Projections keep the source aggregateVersion and never
 * move backwards; each document holds the ids of the events applied to it (effect-once).
 */

/** A device cart's content taken for a merge, kept on the device cart until the target has it. */
export interface PendingMerge {
  into: string;
  lines: CartLine[];
  wishlist: string[];
  sourceVersion: number;
}

export interface CartDoc {
  _id: string;
  customerId: string | null;
  lines: CartLine[];
  wishlist: string[];
  version: number;
  /** Source carts already merged in, with the source version merged: replays become no-ops. */
  mergedSources: { source: string; version: number }[];
  pendingMerge: PendingMerge | null;
  updatedAt: number;
}

const lineSchema = new Schema<CartLine>({ sku: String, quantity: Number, channel: String, addedAt: Number }, { _id: false });

const cartSchema = new Schema<CartDoc>(
  {
    _id: String,
    customerId: { type: String, default: null },
    lines: { type: [lineSchema], default: [] },
    wishlist: { type: [String], default: [] },
    version: { type: Number, default: 0 },
    mergedSources: { type: [{ source: String, version: Number, _id: false }], default: [] },
    pendingMerge: { type: Object, default: null },
    updatedAt: Number,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

type Projected<T> = T & { _id: string; aggregateVersion: number; appliedEvents: string[] };
export type CustomerDoc = Projected<CustomerView>;
export type ChannelDoc = Projected<ChannelView>;
export type ItemDoc = Projected<ItemView>;

const projected = { _id: String, aggregateVersion: Number, ...appliedEventsPath };

const customerSchema = new Schema<CustomerDoc>(
  { ...projected, customerId: String, status: String, reason: String, until: Number, dataRegion: String },
  { versionKey: false },
);
const channelSchema = new Schema<ChannelDoc>(
  {
    ...projected,
    code: String,
    state: String,
    expectedBackAt: Number,
    blockReasons: [String],
    region: String,
    allowedDataRegions: [String],
  },
  { versionKey: false },
);
const itemSchema = new Schema<ItemDoc>(
  {
    ...projected,
    channel: String,
    sku: String,
    status: String,
    title: String,
    priceMinor: Number,
    currency: String,
    barredRegions: [String],
  },
  { versionKey: false },
);

export interface CartModels {
  Cart: Model<CartDoc>;
  Customer: Model<CustomerDoc>;
  Channel: Model<ChannelDoc>;
  Item: Model<ItemDoc>;
}

export function cartModels(db: Connection): CartModels {
  const model = <T>(name: string, schema: Schema<T>, collection: string): Model<T> =>
    (db.models[name] as Model<T>) ?? db.model<T>(name, schema, collection);
  return {
    Cart: model('Cart', cartSchema, 'carts'),
    Customer: model('CustomerProjection', customerSchema, 'customers'),
    Channel: model('ChannelProjection', channelSchema, 'channels'),
    Item: model('ItemProjection', itemSchema, 'local_items'),
  };
}

export function itemId(channel: string, sku: string): string {
  return `${channel}:${sku}`;
}
