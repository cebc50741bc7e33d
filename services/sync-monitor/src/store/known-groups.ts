/** The `known_groups` collection: every consumer group seen acknowledging a topic, one document per (topic, group). */
import { Schema, type Connection, type Model } from 'mongoose';
import type { KnownGroup } from '../domain/propagation';

export interface KnownGroupRepository {
  all(): Promise<KnownGroup[]>;
  /** Records a group once; a second call (from any instance) changes nothing. */
  add(g: KnownGroup): Promise<void>;
}

type KnownGroupDoc = KnownGroup & { _id: string };

const groupSchema = new Schema<KnownGroupDoc>(
  { _id: String, topic: String, group: String, service: String, firstSeenAt: Number },
  { versionKey: false },
);

export class MongoKnownGroupRepository implements KnownGroupRepository {
  constructor(private readonly model: Model<KnownGroupDoc>) {}

  /** Creates the collection's indexes. */
  async init(): Promise<void> {
    await this.model.init();
  }

  static create(db: Connection): MongoKnownGroupRepository {
    return new MongoKnownGroupRepository(db.model<KnownGroupDoc>('KnownGroup', groupSchema, 'known_groups'));
  }

  async all(): Promise<KnownGroup[]> {
    const rows = await this.model.find().lean<KnownGroupDoc[]>();
    return rows.map(({ topic, group, service, firstSeenAt }) => ({ topic, group, service, firstSeenAt }));
  }

  async add(g: KnownGroup): Promise<void> {
    await this.model.updateOne({ _id: `${g.topic}|${g.group}` }, { $setOnInsert: g }, { upsert: true });
  }
}
