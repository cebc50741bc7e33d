/**
 * The incident feed on disk: its entries (`_id` the entry id, replaced as it changes), the webhook
 * subscriptions of each channel (their secrets never leave the service), and the deliveries of
 * entries to subscriptions (`_id` derived from subscription, entry and version: enqueued once).
 */
import type { Collection, Connection } from 'mongoose';
import type { EntryStatus, FeedEntry } from '../domain/incidents';

export interface WebhookSubscription {
  id: string;
  channel: string;
  url: string;
  secret: string;
  createdBy: string;
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface Delivery {
  id: string;
  subscriptionId: string;
  entryId: string;
  /** The JSON text POSTed (and signed), fixed when the delivery is enqueued. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due (also a lease while one is under way). */
  nextAt: number;
  createdAt: number;
  lastAttemptAt?: number;
  /** The last answer's HTTP status (0: no answer). */
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: number;
}

export interface IncidentRepository {
  getEntry(id: string): Promise<FeedEntry | null>;
  putEntry(e: FeedEntry): Promise<void>;
  /** Open entries sharing a ref (what a record may close). */
  openByRef(ref: string): Promise<FeedEntry[]>;
  /** Entries of these channels, open first, then the newest change first. */
  entries(channels: string[], opts: { status?: EntryStatus; limit: number }): Promise<FeedEntry[]>;
  /** Open limitations whose `until` has passed. */
  expiredLimitations(now: number): Promise<FeedEntry[]>;
  addSubscription(s: WebhookSubscription): Promise<void>;
  subscriptions(channel: string): Promise<WebhookSubscription[]>;
  /** Every subscription an entry of `channel` is delivered to (its own, '*', or all of them for '*'). */
  subscribersOf(channel: string): Promise<WebhookSubscription[]>;
  subscription(id: string): Promise<WebhookSubscription | null>;
  removeSubscription(id: string): Promise<boolean>;
  /** Enqueues a delivery unless one with its id exists. */
  enqueue(d: Delivery): Promise<void>;
  /** Takes one due pending delivery, pushing its nextAt to `leaseUntil` (another instance does not take it meanwhile). */
  claimDue(now: number, leaseUntil: number): Promise<Delivery | null>;
  updateDelivery(id: string, change: Partial<Omit<Delivery, 'id'>>): Promise<void>;
  deliveries(subscriptionId: string, limit: number): Promise<Delivery[]>;
  cancelDeliveries(subscriptionId: string): Promise<void>;
}

type Doc<T> = Omit<T, 'id'> & { _id: string };
const toDoc = <T extends { id: string }>({ id, ...rest }: T): Doc<T> => ({ _id: id, ...rest }) as Doc<T>;
const fromDoc = <T extends { id: string }>({ _id, ...rest }: Doc<T>): T => ({ id: _id, ...rest }) as unknown as T;

export class MongoIncidents implements IncidentRepository {
  constructor(
    private readonly entriesC: Collection<Doc<FeedEntry>>,
    private readonly subsC: Collection<Doc<WebhookSubscription>>,
    private readonly deliveriesC: Collection<Doc<Delivery>>,
  ) {}

  static async create(db: Connection): Promise<MongoIncidents> {
    const entries = db.collection<Doc<FeedEntry>>('incident_entries');
    const subs = db.collection<Doc<WebhookSubscription>>('incident_webhooks');
    const deliveries = db.collection<Doc<Delivery>>('incident_deliveries');
    await entries.createIndex({ channel: 1, status: 1, updatedAt: -1 });
    await entries.createIndex({ ref: 1, status: 1 });
    await subs.createIndex({ channel: 1 });
    await deliveries.createIndex({ status: 1, nextAt: 1 });
    await deliveries.createIndex({ subscriptionId: 1, createdAt: -1 });
    return new MongoIncidents(entries, subs, deliveries);
  }

  async getEntry(id: string): Promise<FeedEntry | null> {
    const doc = await this.entriesC.findOne({ _id: id });
    return doc ? fromDoc<FeedEntry>(doc) : null;
  }

  async putEntry(e: FeedEntry): Promise<void> {
    await this.entriesC.replaceOne({ _id: e.id }, toDoc(e), { upsert: true });
  }

  async openByRef(ref: string): Promise<FeedEntry[]> {
    return (await this.entriesC.find({ ref, status: 'open' }).toArray()).map((d) => fromDoc<FeedEntry>(d));
  }

  async entries(channels: string[], opts: { status?: EntryStatus; limit: number }): Promise<FeedEntry[]> {
    const docs = await this.entriesC
      .find({ channel: { $in: channels }, ...(opts.status ? { status: opts.status } : {}) })
      .sort({ status: 1, updatedAt: -1, _id: 1 })
      .limit(opts.limit)
      .toArray();
    return docs.map((d) => fromDoc<FeedEntry>(d));
  }

  async expiredLimitations(now: number): Promise<FeedEntry[]> {
    const docs = await this.entriesC.find({ kind: 'limitation', status: 'open', until: { $lte: now } }).toArray();
    return docs.map((d) => fromDoc<FeedEntry>(d));
  }

  async addSubscription(s: WebhookSubscription): Promise<void> {
    await this.subsC.insertOne(toDoc(s));
  }

  async subscriptions(channel: string): Promise<WebhookSubscription[]> {
    const docs = await this.subsC.find({ channel }).sort({ createdAt: 1 }).toArray();
    return docs.map((d) => fromDoc<WebhookSubscription>(d));
  }

  async subscribersOf(channel: string): Promise<WebhookSubscription[]> {
    const docs = await this.subsC.find(channel === '*' ? {} : { channel: { $in: [channel, '*'] } }).toArray();
    return docs.map((d) => fromDoc<WebhookSubscription>(d));
  }

  async subscription(id: string): Promise<WebhookSubscription | null> {
    const doc = await this.subsC.findOne({ _id: id });
    return doc ? fromDoc<WebhookSubscription>(doc) : null;
  }

  async removeSubscription(id: string): Promise<boolean> {
    return (await this.subsC.deleteOne({ _id: id })).deletedCount === 1;
  }

  async enqueue(d: Delivery): Promise<void> {
    const { _id, ...rest } = toDoc(d);
    await this.deliveriesC.updateOne({ _id }, { $setOnInsert: rest }, { upsert: true });
  }

  async claimDue(now: number, leaseUntil: number): Promise<Delivery | null> {
    const doc = await this.deliveriesC.findOneAndUpdate(
      { status: 'pending', nextAt: { $lte: now } },
      { $set: { nextAt: leaseUntil } },
      { sort: { nextAt: 1, createdAt: 1 }, returnDocument: 'after' },
    );
    return doc ? fromDoc<Delivery>(doc) : null;
  }

  async updateDelivery(id: string, change: Partial<Omit<Delivery, 'id'>>): Promise<void> {
    await this.deliveriesC.updateOne({ _id: id }, { $set: change });
  }

  async deliveries(subscriptionId: string, limit: number): Promise<Delivery[]> {
    const docs = await this.deliveriesC.find({ subscriptionId }).sort({ createdAt: -1 }).limit(limit).toArray();
    return docs.map((d) => fromDoc<Delivery>(d));
  }

  async cancelDeliveries(subscriptionId: string): Promise<void> {
    await this.deliveriesC.updateMany({ subscriptionId, status: 'pending' }, { $set: { status: 'cancelled' } });
  }
}
