import type { Model } from 'mongoose';
import { mapLimit } from '@omnimall/service-kit';
import type { StockLevel } from '../domain/records';
import type { OnceContext } from './channels';
import type { StockLevelDoc } from './models';

/** The stock levels projection (inventory.stock-level, `_id` = `<channel>:<sku>`, the id of the local item it belongs to). */
export interface StockRepository {
  /** The levels of these items, by id (ids without one are left out); read by id, six in flight. */
  byIds(ids: readonly string[]): Promise<Map<string, StockLevel>>;
  /** Every level of a channel (a scan, like the channel's item list). */
  inChannel(channel: string): Promise<Map<string, StockLevel>>;
  /**
   * Stores `next` when it is newer than the stored level (its `version`), once per consumed event
   * (`once`: the handler's context). Answers whether it applied.
   */
  applyChange(once: OnceContext, next: StockLevel): Promise<boolean>;
}

/** What reads return: the level, without the effect-once marks. */
const SHOWN = { appliedEvents: 0 } as const;

export class MongoStockRepository implements StockRepository {
  constructor(private readonly model: Model<StockLevelDoc>) {}

  async byIds(ids: readonly string[]): Promise<Map<string, StockLevel>> {
    const out = new Map<string, StockLevel>();
    await mapLimit([...new Set(ids)], 6, async (id) => {
      const doc = await this.model.findById(id, SHOWN).lean<StockLevel | null>();
      if (doc) out.set(id, doc);
    });
    return out;
  }

  async inChannel(channel: string): Promise<Map<string, StockLevel>> {
    const docs = await this.model.find({ channel }, SHOWN).lean<StockLevel[]>();
    return new Map(docs.map((d) => [d._id, d]));
  }

  async applyChange(once: OnceContext, next: StockLevel): Promise<boolean> {
    const { _id, ...fields } = next;
    return once.applyOnce(this.model, { _id, version: { $lt: next.version } }, { $set: fields }, { upsert: true });
  }
}
