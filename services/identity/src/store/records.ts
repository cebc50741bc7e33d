import type { Model } from 'mongoose';
import { withoutOutbox, type Outbox, type OutgoingEvent } from '@omnimall/service-kit';
import type { DataRequest, MergeRecord } from '../domain/customer';
import type { ComplianceRecord } from '../domain/residency';

/**
 * Evidence identity keeps: merge records, compliance refusals and data-subject requests. Written
 * once and never changed; the ones announced on a topic are inserted with their events (outbox).
 * Lists come back without the outbox fields.
 */
export interface MergeRepository {
  create(record: MergeRecord): Promise<void>;
  get(id: string): Promise<MergeRecord | null>;
  /** The merges a customer took part in, as source or target. */
  involving(customerId: string): Promise<MergeRecord[]>;
  /** Replaces a merge's personal content (erasure): snapshot, free text, moved identifiers. */
  scrub(id: string, set: Pick<MergeRecord, 'sourceSnapshot' | 'reason' | 'evidenceJson' | 'movedIdentities'>): Promise<void>;
  /** Empties the snapshots of merges made before `before` (retention); how many. */
  pruneSnapshots(before: Date): Promise<number>;
}

export interface ComplianceRecordRepository {
  create(record: ComplianceRecord, events: readonly OutgoingEvent[]): Promise<void>;
  ofCustomer(customerId: string): Promise<ComplianceRecord[]>;
}

export interface DataRequestRepository {
  /** Inserts a request with the events announcing it. */
  create(request: DataRequest, events: readonly OutgoingEvent[]): Promise<void>;
  /** Inserts a request whose event went out with another write (an erasure's, with the customer's change). */
  record(request: DataRequest): Promise<void>;
  ofCustomer(customerId: string): Promise<DataRequest[]>;
}

export function mergeRepository(Merge: Model<MergeRecord>): MergeRepository {
  return {
    async create(record) {
      await Merge.create(record);
    },
    async get(id) {
      return (await Merge.findById(id).lean()) as MergeRecord | null;
    },
    async involving(customerId) {
      const found = await Merge.find({ $or: [{ sourceCustomerId: customerId }, { targetCustomerId: customerId }] }).lean();
      return found.map((m) => withoutOutbox(m) as MergeRecord);
    },
    async scrub(id, set) {
      await Merge.updateOne({ _id: id }, { $set: set });
    },
    async pruneSnapshots(before) {
      // Only snapshots not emptied yet, so a pass does not rewrite what an earlier one pruned.
      const res = await Merge.updateMany(
        { at: { $lt: before }, snapshotPrunedAt: null },
        { $set: { sourceSnapshot: {}, snapshotPrunedAt: new Date() } },
      );
      return res.modifiedCount;
    },
  };
}

export function complianceRecordRepository(Record: Model<ComplianceRecord>, outbox: Outbox): ComplianceRecordRepository {
  return {
    async create(record, events) {
      await outbox.create(Record, record, events);
    },
    async ofCustomer(customerId) {
      return (await Record.find({ customerId }).lean()).map((r) => withoutOutbox(r) as ComplianceRecord);
    },
  };
}

export function dataRequestRepository(Request: Model<DataRequest>, outbox: Outbox): DataRequestRepository {
  return {
    async create(request, events) {
      await outbox.create(Request, request, events);
    },
    async record(request) {
      await Request.create(request);
    },
    async ofCustomer(customerId) {
      return (await Request.find({ customerId }).lean()).map((r) => withoutOutbox(r) as DataRequest);
    },
  };
}
