/**
 * Signed checkpoints (one document each, `_id` the tree size), the signing keys this instance made
 * when none was configured, and legal holds.
 */
import type { Collection, Connection } from 'mongoose';
import type { Checkpoint, SubjectRef } from '@omnimall/evidence';

export interface StoredCheckpoint extends Checkpoint {
  /** Hex chain value of the last record the checkpoint covers. */
  chainHead: string;
  /** Whether audit.checkpoint carries it already. */
  published: boolean;
}

export interface CheckpointRepository {
  add(c: StoredCheckpoint): Promise<void>;
  latest(): Promise<StoredCheckpoint | null>;
  /** Newest first, at most `limit`; `before`: tree sizes below it. */
  list(limit: number, before?: number): Promise<StoredCheckpoint[]>;
  /** The checkpoint of exactly this size, or null. */
  ofSize(treeSize: number): Promise<StoredCheckpoint | null>;
  /** The latest checkpoint made at or before `at` (reports' start and end), or null. */
  atOrBefore(at: number): Promise<StoredCheckpoint | null>;
  /** The earliest checkpoint made at or after `at`, or null. */
  atOrAfter(at: number): Promise<StoredCheckpoint | null>;
  unpublished(limit: number): Promise<StoredCheckpoint[]>;
  markPublished(treeSize: number): Promise<void>;
  all(): Promise<StoredCheckpoint[]>;
}

export interface KeyRecord {
  keyId: string;
  publicPem: string;
  /** Only for a key this instance generated itself (development); a configured key never touches the database. */
  privatePem?: string;
  createdAt: number;
}

export interface KeyRepository {
  generated(): Promise<KeyRecord | null>;
  saveGenerated(k: KeyRecord): Promise<KeyRecord>;
  /** Every public key that ever signed here (rotation keeps the old ones verifiable). */
  publicKeys(): Promise<KeyRecord[]>;
  remember(k: KeyRecord): Promise<void>;
}

export interface Hold {
  id: string;
  subject: SubjectRef;
  reason: string;
  placedBy: string;
  placedAt: number;
  releasedAt?: number;
  releasedBy?: string;
}

export interface HoldRepository {
  place(h: Hold): Promise<void>;
  release(id: string, by: string, at: number): Promise<Hold | null>;
  get(id: string): Promise<Hold | null>;
  active(): Promise<Hold[]>;
  all(limit: number): Promise<Hold[]>;
}

type Doc<T> = T & { _id: string | number };
const strip = <T>({ _id, ...rest }: Doc<T>): T => rest as unknown as T;

export class MongoCheckpoints implements CheckpointRepository {
  constructor(private readonly c: Collection<Doc<StoredCheckpoint>>) {}

  static async create(db: Connection): Promise<MongoCheckpoints> {
    const c = db.collection<Doc<StoredCheckpoint>>('checkpoints');
    await c.createIndex({ at: 1 });
    await c.createIndex({ published: 1 });
    return new MongoCheckpoints(c);
  }

  async add(cp: StoredCheckpoint): Promise<void> {
    await this.c.updateOne({ _id: cp.treeSize }, { $setOnInsert: cp }, { upsert: true });
  }

  async latest(): Promise<StoredCheckpoint | null> {
    const [doc] = await this.c.find({}).sort({ _id: -1 }).limit(1).toArray();
    return doc ? strip(doc) : null;
  }

  async list(limit: number, before?: number): Promise<StoredCheckpoint[]> {
    const docs = await this.c
      .find(before === undefined ? {} : { _id: { $lt: before } })
      .sort({ _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(strip);
  }

  async ofSize(treeSize: number): Promise<StoredCheckpoint | null> {
    const doc = await this.c.findOne({ _id: treeSize });
    return doc ? strip(doc) : null;
  }

  async atOrBefore(at: number): Promise<StoredCheckpoint | null> {
    const [doc] = await this.c
      .find({ at: { $lte: at } })
      .sort({ at: -1 })
      .limit(1)
      .toArray();
    return doc ? strip(doc) : null;
  }

  async atOrAfter(at: number): Promise<StoredCheckpoint | null> {
    const [doc] = await this.c
      .find({ at: { $gte: at } })
      .sort({ at: 1 })
      .limit(1)
      .toArray();
    return doc ? strip(doc) : null;
  }

  async unpublished(limit: number): Promise<StoredCheckpoint[]> {
    const docs = await this.c.find({ published: false }).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map(strip);
  }

  async markPublished(treeSize: number): Promise<void> {
    await this.c.updateOne({ _id: treeSize }, { $set: { published: true } });
  }

  async all(): Promise<StoredCheckpoint[]> {
    return (await this.c.find({}).sort({ _id: 1 }).toArray()).map(strip);
  }
}

export class MongoKeys implements KeyRepository {
  constructor(private readonly c: Collection<Doc<KeyRecord>>) {}

  static of(db: Connection): MongoKeys {
    return new MongoKeys(db.collection<Doc<KeyRecord>>('keys'));
  }

  async generated(): Promise<KeyRecord | null> {
    const [doc] = await this.c
      .find({ privatePem: { $exists: true } })
      .sort({ createdAt: 1 })
      .limit(1)
      .toArray();
    return doc ? strip(doc) : null;
  }

  async saveGenerated(k: KeyRecord): Promise<KeyRecord> {
    // two instances starting at once: the first key stored wins, both sign with it
    await this.c.updateOne({ _id: 'generated' }, { $setOnInsert: k }, { upsert: true });
    const doc = await this.c.findOne({ _id: 'generated' });
    return strip(doc!);
  }

  async publicKeys(): Promise<KeyRecord[]> {
    const docs = await this.c.find({}).sort({ createdAt: 1 }).toArray();
    const seen = new Set<string>();
    return docs
      .map(strip)
      .filter((k) => !seen.has(k.keyId) && seen.add(k.keyId))
      .map(({ privatePem: _p, ...pub }) => pub);
  }

  async remember(k: KeyRecord): Promise<void> {
    const { privatePem: _never, ...pub } = k;
    await this.c.updateOne({ _id: `key:${k.keyId}` }, { $setOnInsert: pub }, { upsert: true });
  }
}

export class MongoHolds implements HoldRepository {
  constructor(private readonly c: Collection<Doc<Hold>>) {}

  static of(db: Connection): MongoHolds {
    return new MongoHolds(db.collection<Doc<Hold>>('holds'));
  }

  async place(h: Hold): Promise<void> {
    await this.c.insertOne({ _id: h.id, ...h });
  }

  async release(id: string, by: string, at: number): Promise<Hold | null> {
    await this.c.updateOne({ _id: id, releasedAt: { $exists: false } }, { $set: { releasedAt: at, releasedBy: by } });
    return this.get(id);
  }

  async get(id: string): Promise<Hold | null> {
    const doc = await this.c.findOne({ _id: id });
    return doc ? strip(doc) : null;
  }

  async active(): Promise<Hold[]> {
    return (await this.c.find({ releasedAt: { $exists: false } }).toArray()).map(strip);
  }

  async all(limit: number): Promise<Hold[]> {
    return (await this.c.find({}).sort({ placedAt: -1 }).limit(limit).toArray()).map(strip);
  }
}
