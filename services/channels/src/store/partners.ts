/**
 * Partner ingestion's state: partner ids mapped to global ids (`partner_ids`,
 * `<channel>:customer:<partnerId>` and `<channel>:order:<partnerId>`) and partner orders in global
 * ids (`partner_orders`, written through the outbox with their channels.partner-order-status event).
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type Model, type UpdateQuery } from 'mongoose';
import { isDuplicateKeyError, outboxPaths, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { PartnerOrder } from '../domain/partner';

/** The stored shape (tests read it through StoreModels). */
export interface PartnerIdDoc {
  _id: string;
  channel: string;
  kind: 'customer' | 'order';
  partnerId: string;
  globalId: string;
  createdAt: Date;
}

export interface PartnerIdRepository {
  /** Registers which global customer a partner's customer id stands for (last write wins). */
  mapCustomer(channel: string, partnerCustomerId: string, customerId: string): Promise<void>;
  customerOf(channel: string, partnerCustomerId: string): Promise<string | null>;
  /** The partner customer ids mapped to a global customer, per channel (sorted). */
  customerMappingsOf(customerId: string): Promise<Array<{ channel: string; partnerCustomerId: string }>>;
  /** Removes every partner customer id mapped to the customer (an erasure); how many. */
  forgetCustomer(customerId: string): Promise<number>;
  /** The global order id of a partner order, assigned on first sight (an insert on a unique id decides races). */
  orderIdOf(channel: string, partnerOrderId: string): Promise<string>;
}

/** A partner order's new state decided on the current one, the record it came from, and its events. */
export interface PartnerOrderWrite {
  set: Omit<PartnerOrder, '_id' | 'sourceEventIds'>;
  sourceEventId: string;
  events: readonly OutgoingEvent[];
}

export interface PartnerOrderRepository {
  /** Read-decide-write (see Outbox.transact); the last 50 source event ids are kept for replays. */
  transact(orderId: string, decide: (current: PartnerOrder | null) => PartnerOrderWrite | null): Promise<void>;
}

/** How many partner records' event ids a partner order remembers. */
const SOURCE_EVENTS_KEPT = 50;

const partnerIdSchema = new Schema<PartnerIdDoc>(
  { _id: String, channel: String, kind: String, partnerId: String, globalId: { type: String, index: true }, createdAt: Date },
  { versionKey: false },
);

const partnerOrderSchema = new Schema<PartnerOrder>(
  {
    _id: String,
    channel: { type: String, index: true },
    partnerOrderId: String,
    customerId: String,
    status: String,
    currency: String,
    totalMinor: Number,
    statusAt: Date,
    version: Number,
    sourceEventIds: [String],
    ...outboxPaths,
  },
  { versionKey: false },
);

export function partnerModels(db: Connection) {
  return {
    partnerIds: db.model<PartnerIdDoc>('PartnerId', partnerIdSchema, 'partner_ids'),
    partnerOrders: db.model<PartnerOrder>('PartnerOrder', partnerOrderSchema, 'partner_orders'),
  };
}

export function partnerIdRepository(rt: ServiceRuntime, model: Model<PartnerIdDoc>): PartnerIdRepository {
  const globalIdOf = async (_id: string): Promise<string | null> =>
    (await model.findById(_id).lean<Pick<PartnerIdDoc, 'globalId'>>())?.globalId ?? null;
  return {
    async mapCustomer(channel, partnerCustomerId, customerId) {
      const _id = `${channel}:customer:${partnerCustomerId}`;
      // Under a lock: FerretDB does not serialise updates, and two upserts of one _id could both insert.
      await rt.locks.run(`partner_ids:${_id}`, () =>
        model.updateOne(
          { _id },
          { $set: { channel, kind: 'customer', partnerId: partnerCustomerId, globalId: customerId, createdAt: new Date() } },
          { upsert: true },
        ),
      );
    },
    customerOf: (channel, partnerCustomerId) => globalIdOf(`${channel}:customer:${partnerCustomerId}`),
    customerMappingsOf: async (customerId) =>
      (
        await model
          .find({ globalId: customerId, kind: 'customer' }, { channel: 1, partnerId: 1 })
          .sort({ _id: 1 })
          .lean<Array<Pick<PartnerIdDoc, 'channel' | 'partnerId'>>>()
          .exec()
      ).map((m) => ({ channel: m.channel, partnerCustomerId: m.partnerId })),
    forgetCustomer: async (customerId) => (await model.deleteMany({ globalId: customerId, kind: 'customer' })).deletedCount,
    async orderIdOf(channel, partnerOrderId) {
      const _id = `${channel}:order:${partnerOrderId}`;
      const existing = await globalIdOf(_id);
      if (existing) return existing;
      try {
        await model.create({
          _id,
          channel,
          kind: 'order',
          partnerId: partnerOrderId,
          globalId: `ord_${randomUUID()}`,
          createdAt: new Date(),
        });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      return (await globalIdOf(_id))!;
    },
  };
}

export function partnerOrderRepository(rt: ServiceRuntime, model: Model<PartnerOrder>): PartnerOrderRepository {
  return {
    async transact(orderId, decide) {
      await rt.outbox.transact(model, orderId, (cur) => {
        const write = decide(cur);
        if (!write) return null;
        const update: UpdateQuery<PartnerOrder> = {
          $set: write.set,
          $push: { sourceEventIds: { $each: [write.sourceEventId], $slice: -SOURCE_EVENTS_KEPT } },
        };
        return { update, events: write.events };
      });
    },
  };
}
