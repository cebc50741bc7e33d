import type { Model } from 'mongoose';
import type { Intent } from '../domain/records';
import { collectionOf } from './models';

/** Changes in progress (written before, removed after each change; what recovery replays). */
export interface IntentRepository {
  add(intent: Intent): Promise<void>;
  remove(id: string): Promise<void>;
  /** Every recorded intent (a scan of a collection that holds only changes in progress). */
  all(): Promise<Intent[]>;
}

export class MongoIntentRepository implements IntentRepository {
  constructor(private readonly model: Model<Intent>) {}

  async add(intent: Intent): Promise<void> {
    await collectionOf(this.model).insertOne(intent);
  }

  async remove(id: string): Promise<void> {
    await collectionOf(this.model).deleteOne({ _id: id });
  }

  all(): Promise<Intent[]> {
    return this.model.find({}).lean<Intent[]>().exec();
  }
}
