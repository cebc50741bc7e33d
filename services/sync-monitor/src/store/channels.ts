/**
 * The `channels` collection: the latest status of every channel, one document per channel code.
 * Written one channel at a time under a document lock, and only by a newer aggregateVersion, so
 * replays and out-of-order deliveries leave the newest status in place.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { DocumentLocks } from '@omnimall/service-kit';
import type { ChannelStatus } from '../domain/status-feed';

export interface ChannelStatusRepository {
  /** Writes `status` unless the stored version is the same or newer; `before` is what it replaced. */
  replaceIfNewer(status: ChannelStatus): Promise<{ written: boolean; before: ChannelStatus | null }>;
  get(code: string): Promise<ChannelStatus | null>;
  /** Every channel, by code. */
  list(): Promise<ChannelStatus[]>;
}

const channelSchema = new Schema<ChannelStatus>(
  {
    _id: String,
    name: String,
    kind: String,
    state: String,
    previousState: String,
    blockReasons: [String],
    expectedBackAt: Number,
    version: Number,
    updatedAt: Number,
  },
  { versionKey: false },
);

export class MongoChannelStatusRepository implements ChannelStatusRepository {
  constructor(
    private readonly model: Model<ChannelStatus>,
    private readonly locks: DocumentLocks,
  ) {}

  /** Creates the collection's indexes. */
  async init(): Promise<void> {
    await this.model.init();
  }

  static create(db: Connection, locks: DocumentLocks): MongoChannelStatusRepository {
    return new MongoChannelStatusRepository(db.model<ChannelStatus>('ChannelStatus', channelSchema, 'channels'), locks);
  }

  replaceIfNewer(status: ChannelStatus): Promise<{ written: boolean; before: ChannelStatus | null }> {
    return this.locks.run(`channels:${status._id}`, async () => {
      const before = await this.get(status._id);
      if (before && before.version >= status.version) return { written: false, before };
      const { _id, ...fields } = status;
      await this.model.updateOne({ _id }, { $set: fields }, { upsert: true });
      return { written: true, before };
    });
  }

  async get(code: string): Promise<ChannelStatus | null> {
    return this.model.findById(code).lean<ChannelStatus>();
  }

  async list(): Promise<ChannelStatus[]> {
    return this.model.find().sort({ _id: 1 }).lean<ChannelStatus[]>();
  }
}
