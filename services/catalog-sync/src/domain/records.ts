import type { StockStatus } from '@omnimall/contracts';
import type { EditableField, LocalValues, MasterProduct } from './catalog';
import type { Restriction } from './restrictions';
import type { EvidenceStep, SyncRule } from './rules';

/**
 * The records the catalogue keeps, as the use cases read and write them. Each is one document of
 * the `catalog` database (the store maps them; its own bookkeeping fields stay in the store), and
 * each carries the id it is found by (`_id`), because the HTTP API answers them as they are.
 */

/** A master product as stored: the product plus when it was created and last changed. */
export interface StoredProduct extends MasterProduct {
  createdAt: Date;
  updatedAt: Date;
}

export interface ChannelAssignment {
  /** Assigned SKUs; null assigns every variant, present and future. */
  skus: string[] | null;
  /** Shelf prices the seller set for this channel. */
  prices: ShelfPrice[];
  since: Date;
}

export interface ShelfPrice {
  sku: string;
  currency: string;
  amountMinor: number;
}

/** Where one product is assigned (one per product, `_id` = productId). */
export interface Assignment {
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
export interface Evidence extends EvidenceRecord {
  _id: string;
  itemId: string;
}

/** One variant in one channel (`_id` = `<channel>:<sku>`). */
export interface LocalItem {
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
  /** Ids of the last EVIDENCE_KEPT evidence records, oldest first. */
  evidence: string[];
  listedSince: Date | null;
  priceSince: Date | null;
  appliedAt: Date;
  inheritedFrom: string | null;
  /** A fresh token per write: item writes are conditional on it (the store sets it). */
  writeToken?: string;
}

/**
 * What one channel may sell of a variant, as inventory last published it (projection of
 * inventory.stock-level, `_id` = `<channel>:<sku>` like the local item; kept beside the item, never in
 * it, so it neither changes the listing nor races its writes). `version` is inventory's aggregateVersion.
 */
export interface StockLevel {
  _id: string;
  channel: string;
  sku: string;
  version: number;
  available: number;
  state: StockStatus;
  /** The inventory rule that decided `available` (shared_pool, quota, embargo...). */
  rule: string;
}

/** The stock a local item's views show; absent while inventory has published none for it. */
export type ShownStock = Pick<StockLevel, 'available' | 'state'>;

/** A channel as the catalogue knows it (projection of channels.channel-changed, `_id` = code). */
export interface KnownChannel {
  _id: string;
  version: number;
  name: string;
  state: string;
  region: string;
  country: string;
  currencies: string[];
  languages: string[];
  masterChannel: string | null;
}

/** A channel's sync rules in force, and every version of every rule ever in force (traceability). */
export interface RuleSet {
  _id: string;
  rules: SyncRule[];
  history: SyncRule[];
}

export interface Conflict {
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

export interface StagedDiff {
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

export interface Refusal {
  _id: string;
  productId: string;
  channel: string;
  action: 'assignment' | 'propagation' | 'approval';
  restriction: Restriction;
  actor: string | null;
  at: Date;
}

/** A change in progress (crash recovery): the product, items or products it touches. */
export interface Intent {
  _id: string;
  kind: 'product' | 'items' | 'products';
  productId: string | null;
  itemIds: string[];
  productIds?: string[];
  createdAt: Date;
}

/** Ownership of one SKU across every seller (`_id` = the SKU): only the owning product lists, prices or declares it. */
export interface SkuClaim {
  _id: string;
  productId: string;
  claimedAt: Date;
}

/** One product, channel and SKU a bulk sync could not list, and why. */
export interface BulkFailure {
  productId: string;
  channel: string;
  sku: string;
  reason: string;
}

/** One product a restriction kept out of a channel in a bulk sync. */
export interface BulkRefusal {
  productId: string;
  channel: string;
  restriction: string;
}

/**
 * A bulk sync run as a job (`_id` = jobId): the request, who asked (the job acts with their rights),
 * how far it got (`done` products of `total`, in order), what it listed and what it could not, and
 * the lease of the instance running it (expired: another instance, or this one after a restart,
 * resumes at `done`).
 */
export interface BulkJob {
  _id: string;
  actor: { sub: string; roles: string[] };
  channels: string[];
  productIds: string[];
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  total: number;
  done: number;
  listed: number;
  lockedPath: number;
  /** The first refusals and failures (at most JOB_DETAILS_KEPT each); the counts are complete. */
  refused: BulkRefusal[];
  refusedCount: number;
  failed: BulkFailure[];
  failedCount: number;
  error: { code: string; message: string } | null;
  /** How many times a run of it started (a job that keeps crashing its runner fails). */
  attempts: number;
  lease: { owner: string; until: Date } | null;
  createdAt: Date;
  /** When a runner first took it (the start of its rate); null while queued (absent on jobs queued before it was kept). */
  startedAt?: Date | null;
  updatedAt: Date;
  finishedAt: Date | null;
}
