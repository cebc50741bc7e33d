/** The `status_feed` collection: per channel, the entries business users read; each entry is written once (by its _id). */
import { Schema, type Connection, type Model } from 'mongoose';
import type { FeedEntry } from '../domain/status-feed';

export interface StatusFeedRepository {
  /** Adds the entries not written before (an entry with the same _id is left as it is). */
  addOnce(entries: readonly FeedEntry[]): Promise<void>;
  /** A channel's entries, newest first. */
  latest(channel: string, limit: number): Promise<FeedEntry[]>;
  /** Removes entries written before `cutoff`; returns how many. */
  removeBefore(cutoff: number): Promise<number>;
}

const feedSchema = new Schema<FeedEntry>(
  {
    _id: String,
    channel: { type: String, index: true },
    at: { type: Number, index: true },
    kind: String,
    title: String,
    message: String,
    eventId: String,
    escalationId: String,
  },
  { versionKey: false },
);

const DUPLICATE_KEY = 11000;

export class MongoStatusFeedRepository implements StatusFeedRepository {
  constructor(private readonly model: Model<FeedEntry>) {}

  /** Creates the collection's indexes. */
  async init(): Promise<void> {
    await this.model.init();
  }

  static create(db: Connection): MongoStatusFeedRepository {
    return new MongoStatusFeedRepository(db.model<FeedEntry>('FeedEntry', feedSchema, 'status_feed'));
  }

  async addOnce(entries: readonly FeedEntry[]): Promise<void> {
    for (const e of entries) {
      await this.model.create(e).catch((err: { code?: number }) => {
        if (err.code !== DUPLICATE_KEY) throw err; // written before: the feed entry exists once
      });
    }
  }

  async latest(channel: string, limit: number): Promise<FeedEntry[]> {
    const rows = await this.model.find({ channel }).sort({ at: -1, _id: -1 }).limit(limit).lean<FeedEntry[]>();
    return rows.map((e) => ({ ...e, eventId: e.eventId ?? null, escalationId: e.escalationId ?? null }));
  }

  async removeBefore(cutoff: number): Promise<number> {
    return (await this.model.deleteMany({ at: { $lt: cutoff } })).deletedCount;
  }
}
