import type { Model } from 'mongoose';
import type { EventContext } from '@omnimall/service-kit';
import type { KnownChannel } from '../domain/records';
import { Cached } from './cached';
import type { ChannelDoc } from './models';

/** What applies a consumed event's effect once: the consumer's event context. */
export type OnceContext = Pick<EventContext, 'applyOnce'>;

/** The channels projection (channels.channel-changed, `_id` = channel code). */
export interface ChannelRepository {
  byId(code: string): Promise<KnownChannel | null>;
  /** Every known channel by code, from a table cached for a second; every change applied here drops it at once. */
  all(): Promise<Map<string, KnownChannel>>;
  /**
   * Stores `next` when it is newer than the stored channel (its `version`), once per consumed event
   * (`once`: the handler's context). Answers whether it applied.
   */
  applyChange(once: OnceContext, next: KnownChannel): Promise<boolean>;
}

export class MongoChannelRepository implements ChannelRepository {
  private readonly table: Cached<Map<string, KnownChannel>>;

  constructor(private readonly model: Model<ChannelDoc>) {
    this.table = new Cached(async () => {
      const docs = await model.find({}).lean<KnownChannel[]>();
      return new Map(docs.map((d) => [d._id, d]));
    });
  }

  byId(code: string): Promise<KnownChannel | null> {
    return this.model.findById(code).lean<KnownChannel | null>().exec();
  }

  all(): Promise<Map<string, KnownChannel>> {
    return this.table.get();
  }

  async applyChange(once: OnceContext, next: KnownChannel): Promise<boolean> {
    const { _id, ...fields } = next;
    const applied = await once.applyOnce(this.model, { _id, version: { $lt: next.version } }, { $set: fields }, { upsert: true });
    if (applied) this.table.invalidate();
    return applied;
  }
}
