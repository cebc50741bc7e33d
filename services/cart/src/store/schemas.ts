import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths, type Projected } from '@omnimall/service-kit';
import type { CartLine, CartRecord } from '../domain/cart';
import type { MarketingConsent } from '../domain/consents';
import type { StoredPromotion } from '../domain/promotions';
import type { ChannelView, CustomerView, ItemView, LoyaltyView, StockView } from '../domain/trading';
import type { TicketSession } from './stream-tickets';

/**
 * The cart database's documents: carts (the aggregate, with its outbox), the projections of other
 * services' aggregates that pricing, gating and the lines' stock read, and stream tickets (hashed,
 * short-lived). Projections keep the source aggregateVersion and never move backwards; each holds
 * the ids of the events applied to it (effect-once). Only the repositories of this folder see these
 * types.
 */
export type CartDoc = Omit<CartRecord, 'cartId'> & { _id: string };

const lineSchema = new Schema<CartLine>({ sku: String, quantity: Number, channel: String, addedAt: Number }, { _id: false });

const cartSchema = new Schema<CartDoc>(
  {
    _id: String,
    customerId: { type: String, default: null },
    lines: { type: [lineSchema], default: [] },
    wishlist: { type: [String], default: [] },
    version: { type: Number, default: 0 },
    mergedSources: { type: [{ source: String, version: Number, _id: false }], default: [] },
    orderedBy: { type: [String], default: [] },
    pendingMerge: { type: Object, default: null },
    updatedAt: Number,
    erasedAt: { type: Number, default: null },
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

const projected = { _id: String, aggregateVersion: Number, ...appliedEventsPath };

const customerSchema = new Schema<Projected<CustomerView>>(
  { ...projected, customerId: String, status: String, reason: String, until: Number, dataRegion: String, loyaltyTier: String },
  { versionKey: false },
);
const channelSchema = new Schema<Projected<ChannelView>>(
  {
    ...projected,
    code: String,
    kind: String,
    state: String,
    expectedBackAt: Number,
    blockReasons: [String],
    region: String,
    allowedDataRegions: [String],
  },
  { versionKey: false },
);
const itemSchema = new Schema<Projected<ItemView>>(
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

const stockSchema = new Schema<Projected<StockView>>(
  { ...projected, available: Number, state: String, rule: String },
  { versionKey: false },
);

const loyaltySchema = new Schema<Projected<LoyaltyView>>(
  { ...projected, balance: Number, held: Number, tier: String },
  { versionKey: false },
);

/** A promotion definition (store/promotions.ts), keyed by promotion id, written through the outbox (its readiness answer). */
export type PromotionDoc = Omit<StoredPromotion, 'promotionId'> & { _id: string; updatedAt: number };

const promotionSchema = new Schema<PromotionDoc>(
  { _id: String, version: Number, published: Object, withdrawn: Boolean, updatedAt: Number, ...outboxPaths },
  { versionKey: false, minimize: false },
);

/**
 * The notice of one promotion version's start to the customers whose carts it affects (written once,
 * through the outbox: its cart.promotion-notice records are inserted with it).
 */
export interface PromotionNoticeDoc {
  _id: string;
  promotionId: string;
  version: number;
  recipients: { customerId: string; channel: string; skus: string[] }[];
  /** Customers the promotion concerned but who gave marketing consent on none of their channels (for support). */
  withoutConsent: number;
  createdAt: number;
}

const promotionNoticeSchema = new Schema<PromotionNoticeDoc>(
  {
    _id: String,
    promotionId: String,
    version: Number,
    recipients: { type: [{ customerId: String, channel: String, skus: [String], _id: false }], default: [] },
    withoutConsent: { type: Number, default: 0 },
    createdAt: Number,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

/** A customer's marketing consent on one channel (store/consents.ts), keyed `<customerId>:<channel>`. */
export type ConsentDoc = MarketingConsent & { _id: string; appliedEvents: string[] };

const consentSchema = new Schema<ConsentDoc>(
  { _id: String, customerId: String, channel: String, marketing: Boolean, changedAt: Number, version: Number, ...appliedEventsPath },
  { versionKey: false },
);

/** A stream ticket (store/stream-tickets.ts): keyed by the ticket's SHA-256, never the ticket itself. */
export interface StreamTicketDoc {
  _id: string;
  cartId: string;
  customerId: string | null;
  channel: string | null;
  tokenExpiresAt: number | null;
  expiresAt: number;
  session: TicketSession | null;
}

const streamTicketSchema = new Schema<StreamTicketDoc>(
  { _id: String, cartId: String, customerId: String, channel: String, tokenExpiresAt: Number, expiresAt: Number, session: Object },
  { versionKey: false },
);

export interface CartModels {
  Cart: Model<CartDoc>;
  Customer: Model<Projected<CustomerView>>;
  Channel: Model<Projected<ChannelView>>;
  Item: Model<Projected<ItemView>>;
  Stock: Model<Projected<StockView>>;
  Loyalty: Model<Projected<LoyaltyView>>;
  Promotion: Model<PromotionDoc>;
  PromotionNotice: Model<PromotionNoticeDoc>;
  Consent: Model<ConsentDoc>;
  StreamTicket: Model<StreamTicketDoc>;
}

export function cartModels(db: Connection): CartModels {
  const model = <T>(name: string, schema: Schema<T>, collection: string): Model<T> =>
    (db.models[name] as Model<T>) ?? db.model<T>(name, schema, collection);
  return {
    Cart: model('Cart', cartSchema, 'carts'),
    Customer: model('CustomerProjection', customerSchema, 'customers'),
    Channel: model('ChannelProjection', channelSchema, 'channels'),
    Item: model('ItemProjection', itemSchema, 'local_items'),
    Stock: model('StockProjection', stockSchema, 'stock_levels'),
    Loyalty: model('LoyaltyProjection', loyaltySchema, 'loyalty'),
    Promotion: model('Promotion', promotionSchema, 'promotions'),
    PromotionNotice: model('PromotionNotice', promotionNoticeSchema, 'promotion_notices'),
    Consent: model('MarketingConsent', consentSchema, 'consents'),
    StreamTicket: model('StreamTicket', streamTicketSchema, 'stream_tickets'),
  };
}
