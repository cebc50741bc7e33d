import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths } from '@omnimall/service-kit';
import type { AttributeValue, EditableField, LocalValues, Localised, MasterProduct, Variant } from '../domain/catalog';
import type { Restriction } from '../domain/restrictions';
import type { RateEntry } from '../domain/rates';
import type { EvidenceStep, SyncRule } from '../domain/rules';

/**
 * The `catalog` database. FerretDB (1.x, SQLite) answers quickly only lookups and updates by _id
 * (findById, findOneAndUpdate on _id); any other filter scans the collection. So every hot path
 * here reads and writes by _id, and the documents that others must be found from carry their ids:
 *   products      master products                    _id productId
 *   assignments   where a product is assigned        _id productId (channels, prices, items ever listed)
 *   localitems    one variant in one channel         _id `<channel>:<sku>`
 *   channels      projection of channels.channel-changed   _id channel code
 *   rulesets      a channel's sync rules             _id channel code
 *   rates         the versioned rate table           _id 'table'
 *   evidence      one propagation into one item      _id evidenceId (the item lists its last ids)
 *   conflicts, stageddiffs, refusals                 small, listed by scan
 *   journal       events of each propagation (the outbox-bearing documents)
 *   pending       intents not yet completed (crash recovery)
 * Mixed-type paths are declared `Object` and written whole under the document's lock.
 */
export interface ProductDoc extends MasterProduct {
  createdAt: Date;
  updatedAt: Date;
}

export interface ChannelAssignment {
  /** Assigned SKUs; null assigns every variant, present and future. */
  skus: string[] | null;
  /** Shelf prices the seller set for this channel. */
  prices: { sku: string; currency: string; amountMinor: number }[];
  since: Date;
}

export interface AssignmentDoc {
  _id: string;
  sellerId: string;
  channels: Record<string, ChannelAssignment>;
  /** Every local item id ever created for this product (traceability and withdrawals). */
  items: string[];
}

export interface ConflictRef {
  conflictId: string;
  base: unknown;
  master: unknown;
  masterVersion: number;
  openedAt: Date;
}

export interface EvidenceRecord {
  evidenceId: string;
  masterVersion: number;
  ruleVersions: Record<string, number>;
  at: Date;
  steps: EvidenceStep[];
}

/** Evidence of one propagation into one item, kept outside the item so items stay small. */
export interface EvidenceDoc extends EvidenceRecord {
  _id: string;
  itemId: string;
}

export interface LocalItemDoc {
  _id: string;
  channel: string;
  sku: string;
  productId: string;
  sellerId: string;
  status: 'listed' | 'withdrawn';
  statusReason: string | null;
  version: number;
  masterVersion: number;
  ruleVersions: Record<string, number>;
  synced: LocalValues;
  edits: Partial<Record<EditableField, unknown>>;
  shown: LocalValues;
  primaryCurrency: string | null;
  barredRegions: string[];
  conflicts: Partial<Record<EditableField, ConflictRef>>;
  /** Manual rule id → pending staged diff id. */
  staged: Record<string, string>;
  /** Ids of the last EVIDENCE_KEPT evidence records (collection `evidence`), oldest first. */
  evidence: string[];
  listedSince: Date | null;
  priceSince: Date | null;
  appliedAt: Date;
  inheritedFrom: string | null;
  /** A fresh token per write: writes are conditional on it (see ItemStore). */
  writeToken?: string;
}

export interface ChannelDoc {
  _id: string;
  version: number;
  name: string;
  state: string;
  region: string;
  country: string;
  currencies: string[];
  languages: string[];
  masterChannel: string | null;
  appliedEvents: string[];
}

export interface RuleSetDoc {
  _id: string;
  rules: SyncRule[];
  /** Every version of every rule ever in force, for traceability. */
  history: SyncRule[];
}

export interface RateTableDoc {
  _id: string;
  entries: RateEntry[];
}

export interface ConflictDoc {
  _id: string;
  itemId: string;
  channel: string;
  sku: string;
  productId: string;
  field: EditableField;
  status: 'open' | 'resolved';
  base: unknown;
  local: unknown;
  master: unknown;
  masterVersion: number;
  openedAt: Date;
  resolution: string | null;
  resolved: unknown;
  resolvedBy: string | null;
  resolvedAt: Date | null;
}

export interface StagedDiffDoc {
  _id: string;
  itemId: string;
  channel: string;
  sku: string;
  productId: string;
  ruleId: string;
  ruleVersion: number;
  masterVersion: number;
  status: 'pending' | 'approved' | 'rejected';
  changes: { field: string; from: unknown; to: unknown }[];
  stagedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
}

export interface RefusalDoc {
  _id: string;
  productId: string;
  channel: string;
  action: 'assignment' | 'propagation' | 'approval';
  restriction: Restriction;
  actor: string | null;
  at: Date;
}

export interface JournalDoc {
  _id: string;
  kind: string;
  createdAt: Date;
}

export interface PendingDoc {
  _id: string;
  kind: 'product' | 'items' | 'products';
  productId: string | null;
  itemIds: string[];
  productIds?: string[];
  createdAt: Date;
}

const loose = { versionKey: false, minimize: false, strict: false } as const;

export interface CatalogModels {
  Product: Model<ProductDoc>;
  Assignment: Model<AssignmentDoc>;
  LocalItem: Model<LocalItemDoc>;
  Channel: Model<ChannelDoc>;
  RuleSet: Model<RuleSetDoc>;
  RateTable: Model<RateTableDoc>;
  Conflict: Model<ConflictDoc>;
  StagedDiff: Model<StagedDiffDoc>;
  Refusal: Model<RefusalDoc>;
  Journal: Model<JournalDoc>;
  Evidence: Model<EvidenceDoc>;
  Pending: Model<PendingDoc>;
}

function model<T>(db: Connection, name: string, collection: string, paths: Record<string, unknown>): Model<T> {
  return (db.models[name] as Model<T>) ?? db.model<T>(name, new Schema<T>({ _id: String, ...paths } as never, loose), collection);
}

export function catalogModels(db: Connection): CatalogModels {
  return {
    Product: model<ProductDoc>(db, 'Product', 'products', {
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
    Assignment: model<AssignmentDoc>(db, 'Assignment', 'assignments', { sellerId: String, channels: Object, items: [String] }),
    LocalItem: model<LocalItemDoc>(db, 'LocalItem', 'localitems', {}),
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
    RuleSet: model<RuleSetDoc>(db, 'RuleSet', 'rulesets', { rules: [Object], history: [Object] }),
    RateTable: model<RateTableDoc>(db, 'RateTable', 'rates', { entries: [Object] }),
    Conflict: model<ConflictDoc>(db, 'Conflict', 'conflicts', {}),
    StagedDiff: model<StagedDiffDoc>(db, 'StagedDiff', 'stageddiffs', {}),
    Refusal: model<RefusalDoc>(db, 'Refusal', 'refusals', {}),
    Journal: model<JournalDoc>(db, 'Journal', 'journal', { kind: String, createdAt: Date, ...outboxPaths }),
    Evidence: model<EvidenceDoc>(db, 'Evidence', 'evidence', {}),
    Pending: model<PendingDoc>(db, 'Pending', 'pending', { kind: String, productId: String, itemIds: [String], createdAt: Date }),
  };
}

export type { AttributeValue, Localised, Variant };
