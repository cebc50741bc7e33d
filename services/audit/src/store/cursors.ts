/** Where each follower of the log stands: the next index it hands over (one document per follower). */
import type { Collection, Connection } from 'mongoose';

export interface CursorRepository {
  get(name: string): Promise<number | null>;
  save(name: string, next: number): Promise<void>;
}

export class MongoCursors implements CursorRepository {
  constructor(private readonly c: Collection<{ _id: string; next: number }>) {}

  static of(db: Connection): MongoCursors {
    return new MongoCursors(db.collection<{ _id: string; next: number }>('cursors'));
  }

  async get(name: string): Promise<number | null> {
    const doc = await this.c.findOne({ _id: name });
    return doc ? doc.next : null;
  }

  async save(name: string, next: number): Promise<void> {
    await this.c.updateOne({ _id: name }, { $set: { next } }, { upsert: true });
  }
}
