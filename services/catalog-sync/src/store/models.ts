import { Schema, type Collection, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths } from '@omnimall/service-kit';
import type {
  Assignment,
  BulkJob,
  Conflict,
  Evidence,
  Intent,
  KnownChannel,
  LocalItem,
  Refusal,
  RuleSet,
  SkuClaim,
  StagedDiff,
  StockLevel,
  StoredProduct,
} from '../domain/records';
import type { RateEntry } from '../domain/rates';

/**
 * The `catalog` database. FerretDB (1.x, SQLite) answers quickly only lookups and updates by _id
 * (findById, findOneAndUpdate on _id); any other filter scans the collection. So every hot path
 * reads and writes by _id, and the documents that others must be found from carry their ids:
 *   products      master products                    _id productId
 *   assignments   where a product is assigned        _id productId (channels, prices, items ever listed)
 *   localitems    one variant in one channel         _id `<channel>:<sku>`
 *   channels      projection of channels.channel-changed   _id channel code
 *   stocklevels   projection of inventory.stock-level      _id `<channel>:<sku>` (the item's id)
 *   rulesets      a channel's sync rules             _id channel code
 *   rates         the versioned rate table           _id 'table'
 *   evidence      one propagation into one item      _id evidenceId (the item lists its last ids)
 *   conflicts, stageddiffs, refusals                 small, listed by scan
 *   journal       events of each change (the outbox-bearing documents)
 *   pending       intents not yet completed (crash recovery)
 *   skuclaims     which product owns each SKU   _id SKU (unique: one owner across every seller)
 *   bulkjobs      bulk sync jobs and their progress   _id jobId (few: finished ones are pruned)
 * Mixed-type paths are declared `Object` and written whole under the document's lock.
 */

/** A channel as stored: the record plus the ids of the events applied to it (effect-once marks). */
export interface ChannelDoc extends KnownChannel {
  appliedEvents: string[];
}

/** A stock level as stored: the record plus its effect-once marks. */
export interface StockLevelDoc extends StockLevel {
  appliedEvents: string[];
}

/** Rule sets and the rate table carry a revision for their compare-and-set. */
export type Revised<T> = T & { rev?: number };

export interface RateTableDoc {
  _id: string;
  entries: RateEntry[];
}

export interface JournalDoc {
  _id: string;
  kind: string;
  createdAt: Date;
}

const loose = { versionKey: false, minimize: false, strict: false } as const;

export interface CatalogModels {
  Product: Model<StoredProduct>;
  Assignment: Model<Assignment>;
  LocalItem: Model<LocalItem>;
  Channel: Model<ChannelDoc>;
  StockLevel: Model<StockLevelDoc>;
  RuleSet: Model<Revised<RuleSet>>;
  RateTable: Model<Revised<RateTableDoc>>;
  Conflict: Model<Conflict>;
  StagedDiff: Model<StagedDiff>;
  Refusal: Model<Refusal>;
  Journal: Model<JournalDoc>;
  Evidence: Model<Evidence>;
  Pending: Model<Intent>;
  SkuClaim: Model<SkuClaim>;
  BulkJob: Model<BulkJob>;
}

function model<T>(db: Connection, name: string, collection: string, paths: Record<string, unknown>): Model<T> {
  // The paths are a plain object (mixed paths as `Object`), which mongoose's SchemaDefinition<T>
  // cannot check against T; the documents are typed by T where they are read and written.
  return (db.models[name] as Model<T>) ?? db.model<T>(name, new Schema<T>({ _id: String, ...paths } as never, loose), collection);
}

export function catalogModels(db: Connection): CatalogModels {
  return {
    Product: model<StoredProduct>(db, 'Product', 'products', {
      sellerId: String,
      version: Number,
      defaultLocale: String,
      title: Object,
      description: Object,
      category: String,
      attributes: Object,
      variants: [Object],
      restrictions: [Object],
      createdAt: Date,
      updatedAt: Date,
    }),
    Assignment: model<Assignment>(db, 'Assignment', 'assignments', { sellerId: String, channels: Object, items: [String] }),
    LocalItem: model<LocalItem>(db, 'LocalItem', 'localitems', {}),
    Channel: model<ChannelDoc>(db, 'Channel', 'channels', {
      version: Number,
      name: String,
      state: String,
      region: String,
      country: String,
      currencies: [String],
      languages: [String],
      masterChannel: String,
      ...appliedEventsPath,
    }),
    StockLevel: model<StockLevelDoc>(db, 'StockLevel', 'stocklevels', {
      channel: String,
      sku: String,
      version: Number,
      available: Number,
      state: String,
      rule: String,
      ...appliedEventsPath,
    }),
    RuleSet: model<Revised<RuleSet>>(db, 'RuleSet', 'rulesets', { rules: [Object], history: [Object] }),
    RateTable: model<Revised<RateTableDoc>>(db, 'RateTable', 'rates', { entries: [Object] }),
    Conflict: model<Conflict>(db, 'Conflict', 'conflicts', {}),
    StagedDiff: model<StagedDiff>(db, 'StagedDiff', 'stageddiffs', {}),
    Refusal: model<Refusal>(db, 'Refusal', 'refusals', {}),
    Journal: model<JournalDoc>(db, 'Journal', 'journal', { kind: String, createdAt: Date, ...outboxPaths }),
    Evidence: model<Evidence>(db, 'Evidence', 'evidence', {}),
    Pending: model<Intent>(db, 'Pending', 'pending', { kind: String, productId: String, itemIds: [String], createdAt: Date }),
    SkuClaim: model<SkuClaim>(db, 'SkuClaim', 'skuclaims', { productId: String, claimedAt: Date }),
    BulkJob: model<BulkJob>(db, 'BulkJob', 'bulkjobs', {}),
  };
}

/** The driver's collection under a model, typed by its documents (string `_id`s), for filters the driver checks. */
export function collectionOf<T extends { _id: string }>(m: Model<T>): Collection<T> {
  return m.db.collection<T>(m.collection.collectionName); // the model's own collection object (debug hooks included)
}
