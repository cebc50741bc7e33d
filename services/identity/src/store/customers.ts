import type { Connection, Model, UpdateQuery } from 'mongoose';
import type { Outbox, OutgoingEvent } from '@omnimall/service-kit';
import type { Customer } from '../domain/customer';
import { inserted, type CustomerEmailDoc } from './models';

/** What a decision on a customer writes: the fields it sets and the events committed with them. */
export interface CustomerChange {
  set: Partial<Omit<Customer, '_id'>>;
  events: readonly OutgoingEvent[];
}

/**
 * Customers. Every change goes through the outbox: `create` inserts with the events, `transact`
 * is a compare-and-set on the document's `writeRev` (decide may run again, so it has no side
 * effects other than idempotent ones).
 */
export interface CustomerRepository {
  get(id: string): Promise<Customer | null>;
  /** Inserts a new customer with its events; null when the unique email index already holds the email. */
  create(doc: Customer, events: readonly OutgoingEvent[]): Promise<Customer | null>;
  /** Reads, decides and writes if unchanged (else decides again); the customer after the change. */
  transact(
    id: string,
    decide: (current: Customer | null) => CustomerChange | null | Promise<CustomerChange | null>,
  ): Promise<Customer | null>;
  /** The customer holding an email, by a query on the email: reads every customer on FerretDB, so only for rare repairs. */
  idByEmail(email: string): Promise<string | null>;
}

export function customerRepository(Customer: Model<Customer>, outbox: Outbox): CustomerRepository {
  return {
    async get(id) {
      return (await Customer.findById(id).lean()) as Customer | null;
    },
    async create(doc, events) {
      let created: Customer | null = null;
      await inserted(async () => (created = await outbox.create(Customer, doc, events)));
      return created;
    },
    async transact(id, decide) {
      const { doc } = await outbox.transact(Customer, id, async (current) => {
        const change = await decide(current as Customer | null);
        return change && { update: { $set: change.set } as UpdateQuery<Customer>, events: change.events };
      });
      return doc as Customer | null;
    },
    async idByEmail(email) {
      return (await Customer.findOne({ email }, { _id: 1 }).lean())?._id ?? null;
    },
  };
}

/**
 * email → customer documents (`customer_emails`, keyed by the email): how a login finds a customer
 * without a query by email, which reads every customer on FerretDB. Written through the driver with
 * typed filters; each change is conditional on the holder it expects.
 */
export interface CustomerEmailRepository {
  /** Inserts the email's document; false when one exists already. */
  insert(email: string, customerId: string): Promise<boolean>;
  /** The customer the document names (who may have changed their email since), or null. */
  holderOf(email: string): Promise<string | null>;
  /** Moves the document from one holder to another if it still names `from`; whether it did. */
  reassign(email: string, from: string, to: string): Promise<boolean>;
  /** Deletes the document if it still names `customerId`. */
  release(email: string, customerId: string): Promise<void>;
  /** Adds the documents of customers registered before they existed (idempotent); how many it added. */
  backfill(): Promise<number>;
  /** Runs the backfill once per database (marked in `migrations`); whether it ran now. */
  backfillOnce(): Promise<boolean>;
}

const EMAIL_BACKFILL = 'customer-emails-v1';

export function customerEmailRepository(db: Connection, Customer: Model<Customer>): CustomerEmailRepository {
  const emails = db.collection<CustomerEmailDoc>('customer_emails');
  const migrations = db.collection<{ _id: string; at: Date; added: number }>('migrations');
  const backfill = async (): Promise<number> => {
    const customers = await Customer.find({ erasedAt: null }, { email: 1 }).lean();
    if (!customers.length) return 0;
    const res = await emails.bulkWrite(
      customers.map((c) => ({
        updateOne: { filter: { _id: c.email }, update: { $setOnInsert: { customerId: c._id } }, upsert: true },
      })),
      { ordered: false },
    );
    return res.upsertedCount;
  };
  return {
    insert(email, customerId) {
      return inserted(() => emails.insertOne({ _id: email, customerId }));
    },
    async holderOf(email) {
      return (await emails.findOne({ _id: email }))?.customerId ?? null;
    },
    async reassign(email, from, to) {
      return (await emails.updateOne({ _id: email, customerId: from }, { $set: { customerId: to } })).matchedCount > 0;
    },
    async release(email, customerId) {
      await emails.deleteOne({ _id: email, customerId });
    },
    backfill,
    /**
     * Not at every start: the backfill reads every customer (on FerretDB a query by anything but
     * `_id` reads them all anyway).
     */
    async backfillOnce() {
      if (await migrations.findOne({ _id: EMAIL_BACKFILL })) return false;
      const added = await backfill();
      await migrations.updateOne({ _id: EMAIL_BACKFILL }, { $setOnInsert: { at: new Date(), added } }, { upsert: true });
      return true;
    },
  };
}
