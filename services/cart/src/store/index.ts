import type { ServiceRuntime } from '@omnimall/service-kit';
import {
  CHANNEL_VIEW_FIELDS,
  CUSTOMER_VIEW_FIELDS,
  ITEM_VIEW_FIELDS,
  STOCK_VIEW_FIELDS,
  type ChannelView,
  type CustomerView,
  type ItemView,
  type StockView,
} from '../domain/trading';
import { MongoCartRepository, type CartRepository } from './carts';
import { MongoProjections, type ProjectionRepository } from './projections';
import { cartModels } from './schemas';
import { MongoStreamTickets, type StreamTicketRepository } from './stream-tickets';

export type { CartChange, CartRepository } from './carts';
export type { EffectOnce, ProjectionRepository, Versioned } from './projections';
export type { StoredTicket, StreamTicketRepository, TicketGrant, TicketSession } from './stream-tickets';

/**
 * The cart database, one repository per aggregate: the carts, the three projections the gates read,
 * the stock levels the cart view shows per line (`<channel>:<sku>`), the stream tickets.
 */
export interface CartStore {
  carts: CartRepository;
  customers: ProjectionRepository<CustomerView>;
  channels: ProjectionRepository<ChannelView>;
  items: ProjectionRepository<ItemView>;
  stock: ProjectionRepository<StockView>;
  streamTickets: StreamTicketRepository;
}

/**
 * Builds the repositories on the runtime's database. Carts are tracked by the outbox `exclusive`:
 * nothing writes them except through it. Every collection is keyed by `_id` only, so there are no
 * indexes to create (stream tickets expire by a pruning pass, not a TTL index: see stream-tickets.ts).
 */
export function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): CartStore {
  const m = cartModels(runtime.db);
  runtime.outbox.track(m.Cart, { exclusive: true });
  return {
    carts: new MongoCartRepository(m.Cart, runtime.outbox),
    customers: new MongoProjections(m.Customer, CUSTOMER_VIEW_FIELDS),
    channels: new MongoProjections(m.Channel, CHANNEL_VIEW_FIELDS),
    items: new MongoProjections(m.Item, ITEM_VIEW_FIELDS),
    stock: new MongoProjections(m.Stock, STOCK_VIEW_FIELDS),
    streamTickets: new MongoStreamTickets(m.StreamTicket),
  };
}
