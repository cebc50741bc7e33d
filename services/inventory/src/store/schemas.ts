import { Schema, type Connection, type Model } from 'mongoose';
import { appliedEventsPath, outboxPaths } from '@omnimall/service-kit';
import type { ChannelInfo, ChannelPolicy, Exception, Placement, StockRecord } from '../domain/types';

/**
 * The `inventory` database. FerretDB answers quickly only lookups and updates by _id; every hot path
 * reads and writes by _id, and the few scans (the sweeper's expired holds, the recompute after a
 * configuration change) read small projections of the documents.
 *   stock          one document per SKU: levels per location, holds, quota used, what each channel
 *                  was last told (the aggregate; written only through the outbox)  _id sku
 *   reservations   one reservation (cart or order) across SKUs, with its state (outbox)  _id reservationId
 *   adjustments    append-only history, one per stock-adjustment event  _id eventId
 *   locations, links, policies, exceptions   configuration, small
 *   channels       projection of channels.channel-changed  _id channel code
 *   skus           projection of catalog.local-item (who sells the SKU)  _id sku
 *   imports        bulk import jobs and their progress  _id jobId
 */
export type StockDoc = Omit<StockRecord, 'sku'> & { _id: string; nextExpiry: number | null };

export interface ReservationLine {
  sku: string;
  quantity: number;
  backordered: number;
  /** Where the held units are reserved and what they count against the quota (recorded when held; absent on older records). */
  held?: Placement;
  /** What the commit took off on hand, per location (recorded at commit): what a return puts back. Absent before a commit. */
  shipped?: Placement;
}

export type ReservationState = 'pending' | 'held' | 'refused' | 'released' | 'committed' | 'expired' | 'returned';

export interface ReservationDoc {
  _id: string;
  channel: string;
  reference: string;
  /** Who asked: `staff:<id>`, `customer:<id>`, `command:<producer>`. */
  caller: string;
  /** SHA-256 of what was asked (same key, another request: refused). */
  requestHash: string;
  lines: ReservationLine[];
  state: ReservationState;
  expiresAt: number;
  reason: string | null;
  hint: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export interface AdjustmentDoc {
  _id: string;
  sku: string;
  sellerId: string | null;
  operation: string;
  deltas: { location: string; bucket: string; delta: number; after: number }[];
  reason: string;
  actor: string;
  actorKind: string;
  reference: string | null;
  channel: string | null;
  version: number;
  at: number;
}

export interface LocationDoc {
  _id: string;
  name: string;
  kind: 'warehouse' | 'store' | 'dropship';
  address: { line1: string; city: string; postalCode: string; country: string };
  pickup: boolean;
  partner: string | null;
  active: boolean;
  updatedAt: number;
}

export interface LinkDoc {
  _id: string;
  channel: string;
  locationId: string;
  priority: number;
}

export type PolicyDoc = ChannelPolicy & { _id: string; updatedBy: string; updatedAt: number };
export type ExceptionDoc = Omit<Exception, 'id'> & { _id: string };
export type ChannelDoc = ChannelInfo & { _id: string; aggregateVersion: number; appliedEvents: string[] };
export interface SkuDoc {
  _id: string;
  sellerId: string | null;
  channels: string[];
  appliedEvents: string[];
}

export interface ImportError {
  line: number;
  code: string;
  message: string;
}

export interface ImportLine {
  /** Line number in the uploaded file (1-based). */
  n: number;
  sku: string;
  location: string;
  quantity: number;
  reason: string;
}

export interface ImportDoc {
  _id: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  format: 'csv' | 'jsonl';
  total: number;
  done: number;
  failed: number;
  errors: ImportError[];
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** When an instance first claimed it (the start of its rate); absent while queued. */
  startedAt?: number | null;
  /** When its last line was applied. */
  finishedAt?: number | null;
  /** The parsed lines; those before `cursor` are applied (or failed). */
  lines: ImportLine[];
  cursor: number;
  /** Claimed by an instance until this time (a crashed worker's job is picked up again after it). */
  leaseUntil: number;
}

const loose = { versionKey: false, minimize: false, strict: false } as const;

export interface InventoryModels {
  Stock: Model<StockDoc>;
  Reservation: Model<ReservationDoc>;
  Adjustment: Model<AdjustmentDoc>;
  Location: Model<LocationDoc>;
  Link: Model<LinkDoc>;
  Policy: Model<PolicyDoc>;
  Exception: Model<ExceptionDoc>;
  Channel: Model<ChannelDoc>;
  Sku: Model<SkuDoc>;
  Import: Model<ImportDoc>;
}

const model = <T>(db: Connection, name: string, definition: Record<string, unknown>, collection: string, extra: object = {}): Model<T> =>
  (db.models[name] as Model<T> | undefined) ?? db.model<T>(name, new Schema(definition, { ...loose, ...extra }), collection);

export function inventoryModels(db: Connection): InventoryModels {
  return {
    Stock: model<StockDoc>(
      db,
      'Stock',
      {
        _id: String,
        sellerId: { type: String, default: null },
        version: { type: Number, default: 0 },
        levels: { type: Object, default: {} },
        holds: { type: Object, default: {} },
        quotaUsed: { type: Object, default: {} },
        published: { type: Object, default: {} },
        ops: { type: Object, default: {} },
        nextExpiry: { type: Number, default: null },
        updatedAt: Number,
        ...outboxPaths,
      },
      'stock',
    ),
    Reservation: model<ReservationDoc>(
      db,
      'Reservation',
      {
        _id: String,
        channel: String,
        reference: String,
        caller: String,
        requestHash: String,
        lines: { type: Array, default: [] },
        state: String,
        expiresAt: Number,
        reason: { type: String, default: null },
        hint: { type: String, default: null },
        createdAt: Number,
        updatedAt: Number,
        version: { type: Number, default: 0 },
        ...outboxPaths,
      },
      'reservations',
    ),
    Adjustment: model<AdjustmentDoc>(
      db,
      'Adjustment',
      {
        _id: String,
        sku: String,
        sellerId: String,
        operation: String,
        deltas: Array,
        reason: String,
        actor: String,
        actorKind: String,
        reference: String,
        channel: String,
        version: Number,
        at: Number,
      },
      'adjustments',
    ),
    Location: model<LocationDoc>(
      db,
      'Location',
      { _id: String, name: String, kind: String, address: Object, pickup: Boolean, partner: String, active: Boolean, updatedAt: Number },
      'locations',
    ),
    Link: model<LinkDoc>(db, 'Link', { _id: String, channel: String, locationId: String, priority: Number }, 'links'),
    Policy: model<PolicyDoc>(
      db,
      'Policy',
      {
        _id: String,
        source: String,
        allocation: Object,
        lowStock: Number,
        displayFloor: Number,
        backorder: Boolean,
        maxPerOrder: Number,
        updatedBy: String,
        updatedAt: Number,
      },
      'policies',
    ),
    Exception: model<ExceptionDoc>(
      db,
      'Exception',
      {
        _id: String,
        kind: String,
        sku: String,
        channel: String,
        owner: String,
        reason: String,
        expiresAt: Number,
        until: Number,
        createdAt: Number,
      },
      'exceptions',
    ),
    Channel: model<ChannelDoc>(
      db,
      'Channel',
      { _id: String, code: String, state: String, masterChannel: String, aggregateVersion: Number, ...appliedEventsPath },
      'channels',
    ),
    Sku: model<SkuDoc>(db, 'Sku', { _id: String, sellerId: String, channels: [String], ...appliedEventsPath }, 'skus'),
    Import: model<ImportDoc>(
      db,
      'Import',
      {
        _id: String,
        state: String,
        format: String,
        total: Number,
        done: Number,
        failed: Number,
        errors: Array,
        createdBy: String,
        createdAt: Number,
        updatedAt: Number,
        startedAt: Number,
        finishedAt: Number,
        lines: Array,
        cursor: Number,
        leaseUntil: Number,
      },
      'imports',
      { suppressReservedKeysWarning: true },
    ),
  };
}
