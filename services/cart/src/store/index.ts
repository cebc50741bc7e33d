import type { ServiceRuntime } from '@omnimall/service-kit';
import {
  CHANNEL_VIEW_FIELDS,
  CUSTOMER_VIEW_FIELDS,
  ITEM_VIEW_FIELDS,
  LOYALTY_VIEW_FIELDS,
  STOCK_VIEW_FIELDS,
  type ChannelView,
  type CustomerView,
  type ItemView,
  type LoyaltyView,
  type StockView,
} from '../domain/trading';
import { MongoCartRepository, type CartRepository } from './carts';
import { MongoConsents, type ConsentRepository } from './consents';
import { MongoProjections, type ProjectionRepository } from '@omnimall/service-kit';
import { MongoPromotions, type PromotionRepository } from './promotions';
import { cartModels } from './schemas';
import { MongoStreamTickets, type StreamTicketRepository } from './stream-tickets';

export type { CartChange, CartRepository } from './carts';
export type { ConsentRepository } from './consents';
export type { EffectOnce, ProjectionRepository, Versioned } from '@omnimall/service-kit';
export type { PromotionRepository } from './promotions';
export type { PromotionNoticeDoc } from './schemas';
export type { StoredTicket, StreamTicketRepository, TicketGrant, TicketSession } from './stream-tickets';

/**
 * The cart database, one repository per aggregate: the carts, the three projections the gates read,
 * the stock levels the cart view shows per line (`<channel>:<sku>`), the customers' loyalty ledgers
 * (balance and tier), the customers' marketing consents per channel, the promotion definitions (and
 * their start notices), the stream tickets.
 */
export interface CartStore {
  carts: CartRepository;
  customers: ProjectionRepository<CustomerView>;
  channels: ProjectionRepository<ChannelView>;
  items: ProjectionRepository<ItemView>;
  stock: ProjectionRepository<StockView>;
  loyalty: ProjectionRepository<LoyaltyView>;
  consents: ConsentRepository;
  promotions: PromotionRepository;
  streamTickets: StreamTicketRepository;
}

/**
 * Builds the repositories on the runtime's database. Carts, promotion definitions and start notices
 * are tracked by the outbox `exclusive`: nothing writes them except through it. Every collection is keyed by `_id` only, so there are no
 * indexes to create (stream tickets expire by a pruning pass, not a TTL index: see stream-tickets.ts).
 */
export function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): CartStore {
  const m = cartModels(runtime.db);
  runtime.outbox.track(m.Cart, { exclusive: true });
  runtime.outbox.track(m.Promotion, { exclusive: true });
  runtime.outbox.track(m.PromotionNotice, { exclusive: true });
  return {
    carts: new MongoCartRepository(m.Cart, runtime.outbox),
    customers: new MongoProjections(m.Customer, CUSTOMER_VIEW_FIELDS),
    channels: new MongoProjections(m.Channel, CHANNEL_VIEW_FIELDS),
    items: new MongoProjections(m.Item, ITEM_VIEW_FIELDS),
    stock: new MongoProjections(m.Stock, STOCK_VIEW_FIELDS),
    loyalty: new MongoProjections(m.Loyalty, LOYALTY_VIEW_FIELDS),
    consents: new MongoConsents(m.Consent),
    promotions: new MongoPromotions(m.Promotion, m.PromotionNotice, runtime.outbox),
    streamTickets: new MongoStreamTickets(m.StreamTicket),
  };
}
