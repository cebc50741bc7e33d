/**
 * What erasures left behind: the references (`customer:<id>`) and keyed hashes of personal identifiers
 * (`pid:<hex>`) of erased customers, so that a record naming one that arrives later is stored without
 * its payload; and the key of those hashes (random, made once per audit database).
 */
import { randomBytes } from 'node:crypto';
import type { Collection, Connection } from 'mongoose';

export interface ErasureRepository {
  /** The key of the personal identifiers' hashes (made on first use). */
  key(): Promise<Buffer>;
  /** Every reference erased so far. */
  erased(): Promise<string[]>;
  add(refs: readonly string[], requestId: string, at: number): Promise<void>;
}

type Doc = { _id: string; at?: number; requestId?: string; key?: string };

export class MongoErasures implements ErasureRepository {
  constructor(private readonly c: Collection<Doc>) {}

  static of(db: Connection): MongoErasures {
    return new MongoErasures(db.collection<Doc>('erasures'));
  }

  async key(): Promise<Buffer> {
    await this.c.updateOne({ _id: '~key' }, { $setOnInsert: { key: randomBytes(32).toString('base64') } }, { upsert: true });
    const doc = await this.c.findOne({ _id: '~key' });
    return Buffer.from(doc!.key!, 'base64');
  }

  async erased(): Promise<string[]> {
    return (await this.c.find({ _id: { $ne: '~key' } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
  }

  async add(refs: readonly string[], requestId: string, at: number): Promise<void> {
    for (const ref of refs) await this.c.updateOne({ _id: ref }, { $setOnInsert: { at, requestId } }, { upsert: true });
  }
}
