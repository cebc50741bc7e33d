/**
 * The `erasures` collection: one document per erasure request the monitor carried out (requestId,
 * customer id, when, how many tracked events it changed), written effect-once with the request's
 * event (the kit's applyOnce: a replay of the request writes nothing and reports a duplicate). It
 * holds ids only: the evidence that the request was honoured, none of the erased data.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, type EventContext } from '@omnimall/service-kit';

export type EffectOnce = Pick<EventContext, 'applyOnce'>;

export interface ErasureRecord {
  _id: string; // requestId
  customerId: string;
  at: number;
  trackedEventsErased: number;
}

export interface ErasureRepository {
  /** Records the erasure once for this event; false when the event was applied before. */
  recordOnce(once: EffectOnce, r: ErasureRecord): Promise<boolean>;
  get(requestId: string): Promise<ErasureRecord | null>;
}

const erasureSchema = new Schema<ErasureRecord>(
  { _id: String, customerId: String, at: Number, trackedEventsErased: Number, ...appliedEventsPath },
  { versionKey: false },
);

export class MongoErasureRepository implements ErasureRepository {
  constructor(private readonly model: Model<ErasureRecord>) {}

  /** Creates the collection's indexes. */
  async init(): Promise<void> {
    await this.model.init();
  }

  static create(db: Connection): MongoErasureRepository {
    return new MongoErasureRepository(db.model<ErasureRecord>('Erasure', erasureSchema, 'erasures'));
  }

  recordOnce(once: EffectOnce, { _id, ...fields }: ErasureRecord): Promise<boolean> {
    return once.applyOnce(this.model, { _id }, { $setOnInsert: fields }, { upsert: true });
  }

  get(requestId: string): Promise<ErasureRecord | null> {
    return this.model.findById(requestId, { appliedEvents: 0 }).lean<ErasureRecord>();
  }
}
