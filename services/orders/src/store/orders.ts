import type { Collection, Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { outboxPaths, type Outbox, type OutgoingEvent } from '@omnimall/service-kit';
import type { Order } from '../domain/order';

/** `orders`: one document per order, _id the order id, written only through the outbox (exclusive). */
export type OrderDoc = Omit<Order, 'id'> & { _id: string };

export interface OrderWrite {
  order: Order;
  events: readonly OutgoingEvent[];
}

export interface OrderQuery {
  customerId?: string;
  channel?: string;
  state?: Order['state'];
  /** Orders created before this instant (paging back by createdAt). */
  before?: number;
}

export interface OrderRepository {
  get(id: string): Promise<Order | null>;
  /**
   * Lets `decide` turn the stored order (null: none) into the next one with its events, written if the
   * document is still as read (else decided again on a fresh read). `assumeNew`: decide on "none"
   * without reading first (a new order).
   */
  transact(id: string, decide: (current: Order | null) => OrderWrite | null, assumeNew?: boolean): Promise<Order | null>;
  /** Ids of orders whose saga deadline passed (the sweeper's look), at most `limit`. */
  overdue(now: number, limit: number): Promise<string[]>;
  /** Orders newest first, at most `limit`. */
  find(q: OrderQuery, limit: number): Promise<Order[]>;
}

export const orderModel = (db: Connection): Model<OrderDoc> =>
  (db.models.Order as Model<OrderDoc> | undefined) ??
  db.model<OrderDoc>(
    'Order',
    // the repository owns the shape (the model is loose); the outbox paths are the kit's
    new Schema({ _id: String, ...outboxPaths }, { versionKey: false, minimize: false, strict: false }),
    'orders',
  );

const toOrder = ({ _id, ...rest }: OrderDoc): Order => ({ id: _id, ...(rest as Omit<Order, 'id'>) });
const fieldsOf = ({ id: _id, ...rest }: Order): Omit<OrderDoc, '_id'> => rest;

export class MongoOrderRepository implements OrderRepository {
  private readonly collection: Collection<OrderDoc>;

  constructor(
    private readonly model: Model<OrderDoc>,
    private readonly outbox: Outbox,
  ) {
    this.collection = model.db.collection<OrderDoc>(model.collection.collectionName);
  }

  static async create(db: Connection, outbox: Outbox): Promise<MongoOrderRepository> {
    const model = outbox.track(orderModel(db), { exclusive: true });
    await Promise.all([
      model.collection.createIndex({ 'saga.deadline': 1 }),
      model.collection.createIndex({ customerId: 1, createdAt: -1 }),
      model.collection.createIndex({ channel: 1, createdAt: -1 }),
      model.collection.createIndex({ createdAt: -1 }),
    ]);
    return new MongoOrderRepository(model, outbox);
  }

  async get(id: string): Promise<Order | null> {
    const doc = await this.collection.findOne({ _id: id }, { projection: { outbox: 0 } });
    return doc ? toOrder(doc) : null;
  }

  async transact(id: string, decide: (current: Order | null) => OrderWrite | null, assumeNew = false): Promise<Order | null> {
    const { doc } = await this.outbox.transact(
      this.model,
      id,
      (cur) => {
        const next = decide(cur ? toOrder(cur as OrderDoc) : null);
        return next ? { update: { $set: fieldsOf(next.order) }, events: next.events } : null;
      },
      { upsert: true, assumeNew },
    );
    return doc ? toOrder(doc as OrderDoc) : null;
  }

  async overdue(now: number, limit: number): Promise<string[]> {
    const docs = await this.collection
      .find({ 'saga.deadline': { $ne: null, $lte: now } }, { projection: { _id: 1 } })
      .limit(limit)
      .toArray();
    return docs.map((d) => d._id);
  }

  async find(q: OrderQuery, limit: number): Promise<Order[]> {
    const filter: Record<string, unknown> = {};
    if (q.customerId) filter.customerId = q.customerId;
    if (q.channel) filter.channel = q.channel;
    if (q.state) filter.state = q.state;
    if (q.before !== undefined) filter.createdAt = { $lt: q.before };
    const docs = await this.collection
      .find(filter, { projection: { outbox: 0 } })
      .sort({ createdAt: -1 })
      .limit(limit)
      .toArray();
    return docs.map(toOrder);
  }
}

/**
 * `cartOrders`: which order holds a cart version (_id `<cartId>:<version>`), so two devices checking
 * out the same cart make one order. A failed checkout gives its claim up (the cart may be ordered again).
 */
export interface CartClaims {
  /** Claims the cart version for `orderId`; the order that holds it (this one, or the one that got there first). */
  claim(cartId: string, version: number, orderId: string): Promise<string>;
  release(cartId: string, version: number, orderId: string): Promise<void>;
}

interface ClaimDoc {
  _id: string;
  orderId: string;
  at: number;
}

export class MongoCartClaims implements CartClaims {
  constructor(private readonly collection: Collection<ClaimDoc>) {}

  static of(db: Connection): MongoCartClaims {
    return new MongoCartClaims(db.collection<ClaimDoc>('cartOrders'));
  }

  async claim(cartId: string, version: number, orderId: string): Promise<string> {
    const _id = `${cartId}:${version}`;
    try {
      await this.collection.insertOne({ _id, orderId, at: Date.now() });
      return orderId;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      const held = await this.collection.findOne({ _id });
      // released between our insert and this read: claim again
      return held ? held.orderId : this.claim(cartId, version, orderId);
    }
  }

  async release(cartId: string, version: number, orderId: string): Promise<void> {
    await this.collection.deleteOne({ _id: `${cartId}:${version}`, orderId });
  }
}
