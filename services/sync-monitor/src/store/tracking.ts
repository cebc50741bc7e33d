/**
 * The `exceptions` collection: one document per tracked event that needed attention (late, failed,
 * dead-lettered, escalated, or acted on by an admin), with its acks, retries, escalation and
 * remediation actions inside, and its outbox. Events that propagate in time live in memory only
 * (application/state.ts), so this collection grows with problems, not with traffic. It is written
 * only through the kit's outbox (tracked `exclusive`), so a write decides on the document as this
 * process last wrote it and the compare-and-set on `writeRev` catches another instance's write.
 * Every lookup the API makes has its index (id, correlationId, sourceChannel, occurredAt, open).
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { outboxPaths, WITHOUT_OUTBOX, withoutOutbox, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { Tracking, TrackingView } from '../domain/propagation';

/** A tracking document as stored: the domain record plus the outbox's fields. */
type TrackingDoc = Tracking & { outbox?: Record<string, unknown>; outboxCount?: number; writeRev?: number };

/** Which exceptions a list returns (each criterion has its index). */
export interface ExceptionFilter {
  correlationId?: string;
  channel?: string;
  since?: number;
  until?: number;
}

/** What a decision on an event's tracking wants written: the whole record after the change, and its events. */
export interface TrackingChange {
  next: Tracking;
  events: readonly OutgoingEvent[];
}

export interface TrackingRepository {
  /**
   * Reads the event's tracking (null when absent), lets `decide` turn it into the next record, and
   * writes it with its events if the document is still as read; otherwise decides again, so
   * `decide` may run more than once. `assumeNew`: decide on "absent" without reading first when this
   * process has no copy (most writes carry an event's first inputs). Returns the stored record
   * after the write (as read when `decide` returned null).
   */
  transact(
    id: string,
    decide: (current: Tracking | null) => TrackingChange | null | Promise<TrackingChange | null>,
    opts?: { assumeNew?: boolean },
  ): Promise<Tracking | null>;
  get(id: string): Promise<Tracking | null>;
  /** Newest first (by occurredAt), optionally the events of one correlation id or channel, and of a time range. */
  recent(limit: number, filter?: ExceptionFilter): Promise<TrackingView[]>;
  /** Open events, newest first. */
  open(limit: number): Promise<TrackingView[]>;
  /** Open events with their original record (loaded into memory at start), newest first. */
  openFull(limit: number): Promise<Tracking[]>;
  /** Id and SLA deadline of every open event. */
  openDeadlines(): Promise<Array<Pick<Tracking, '_id' | 'open' | 'slaDeadline'>>>;
  /** Ids of open events whose SLA deadline is at or before `now`, earliest deadline first. */
  overdue(now: number, limit: number): Promise<string[]>;
  countOpenEscalations(): Promise<number>;
  /** Ids of the events naming the customer (`customers`, set at ingest) and of the events those were made from. */
  idsConcerning(customerId: string): Promise<string[]>;
  /** Ids of events that occurred before `cutoff` and still keep their original record, oldest first. */
  withRawBefore(cutoff: number, limit: number): Promise<string[]>;
  /** Removes closed events that occurred before `cutoff` and have no unpublished outbox entry; returns how many. */
  removeClosedBefore(cutoff: number): Promise<number>;
}

const trackingSchema = new Schema<TrackingDoc>(
  {
    _id: String,
    topic: String,
    type: String,
    producer: String,
    aggregateId: String,
    correlationId: { type: String, index: true },
    sourceChannel: { type: String, index: true },
    occurredAt: { type: Number, index: true },
    firstSeenAt: Number,
    envelopeSeen: Boolean,
    expected: [String],
    slaMs: Number,
    slaDeadline: { type: Number, index: true },
    state: { type: String, index: true },
    open: { type: Boolean, index: true },
    acks: { type: [Object], default: [] },
    retries: { type: [Object], default: [] },
    escalation: { type: Object, default: null },
    actions: { type: [Object], default: [] },
    raw: { type: Object, default: null },
    completedAt: Number,
    customers: { type: [String], default: undefined, index: true },
    relatedEvents: { type: [String], default: undefined },
    erasedAt: Number,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);
trackingSchema.index({ 'acks.channel': 1 });

/** The collection, and the per-event collection of earlier versions dropped at start. */
const EXCEPTIONS = 'exceptions';
const LEGACY = 'propagation';

/** Lists leave out the original record (large, and never shown) and the outbox. */
const LISTED = { raw: 0, ...WITHOUT_OUTBOX };

/** The fields a write sets: the record without its _id and the outbox's fields (the kit's). */
function fieldsOf(t: Tracking): Omit<Tracking, '_id'> {
  // `t` may be the stored document as read (with the outbox's fields): withoutOutbox drops them.
  const { _id, ...rest } = withoutOutbox(t as TrackingDoc);
  void _id;
  return rest;
}

export class MongoTrackingRepository implements TrackingRepository {
  constructor(
    private readonly model: Model<TrackingDoc>,
    private readonly runtime: ServiceRuntime,
  ) {}

  /**
   * Creates the collection's indexes, and drops the `propagation` collection of earlier versions (one
   * document per event, payloads included: its history is not migrated).
   */
  async init(): Promise<void> {
    await this.model.db.dropCollection(LEGACY).catch(() => undefined); // absent: nothing to drop
    await this.model.init();
  }

  static create(db: Connection, runtime: ServiceRuntime): MongoTrackingRepository {
    const model = db.model<TrackingDoc>('Tracking', trackingSchema, EXCEPTIONS);
    runtime.outbox.track(model, { exclusive: true });
    return new MongoTrackingRepository(model, runtime);
  }

  async transact(
    id: string,
    decide: (current: Tracking | null) => TrackingChange | null | Promise<TrackingChange | null>,
    opts: { assumeNew?: boolean } = {},
  ): Promise<Tracking | null> {
    const { doc } = await this.runtime.outbox.transact(
      this.model,
      id,
      async (cur) => {
        const change = await decide(cur);
        return change && { update: { $set: fieldsOf(change.next) }, events: change.events };
      },
      opts,
    );
    return doc;
  }

  async get(id: string): Promise<Tracking | null> {
    return this.model.findById(id, WITHOUT_OUTBOX).lean<Tracking>();
  }

  async recent(limit: number, f: ExceptionFilter = {}): Promise<TrackingView[]> {
    const filter: Record<string, unknown> = {};
    if (f.correlationId !== undefined) filter.correlationId = f.correlationId;
    if (f.channel !== undefined) filter.$or = [{ sourceChannel: f.channel }, { 'acks.channel': f.channel }];
    if (f.since !== undefined || f.until !== undefined)
      filter.occurredAt = { ...(f.since !== undefined ? { $gte: f.since } : {}), ...(f.until !== undefined ? { $lt: f.until } : {}) };
    return this.model.find(filter, LISTED).sort({ occurredAt: -1 }).limit(limit).lean<TrackingView[]>();
  }

  async open(limit: number): Promise<TrackingView[]> {
    return this.model.find({ open: true }, LISTED).sort({ occurredAt: -1 }).limit(limit).lean<TrackingView[]>();
  }

  async openFull(limit: number): Promise<Tracking[]> {
    return this.model.find({ open: true }, WITHOUT_OUTBOX).sort({ occurredAt: -1 }).limit(limit).lean<Tracking[]>();
  }

  async openDeadlines(): Promise<Array<Pick<Tracking, '_id' | 'open' | 'slaDeadline'>>> {
    return this.model.find({ open: true }, { _id: 1, slaDeadline: 1, open: 1 }).lean();
  }

  async overdue(now: number, limit: number): Promise<string[]> {
    const rows = await this.model
      .find({ open: true, slaDeadline: { $lte: now } }, { _id: 1 })
      .sort({ slaDeadline: 1 })
      .limit(limit)
      .lean();
    return rows.map((r) => r._id);
  }

  countOpenEscalations(): Promise<number> {
    return this.model.countDocuments({ 'escalation.status': 'opened' });
  }

  async idsConcerning(customerId: string): Promise<string[]> {
    const rows = await this.model.find({ customers: customerId }, { _id: 1, relatedEvents: 1 }).lean();
    return [...new Set(rows.flatMap((r) => [r._id, ...(r.relatedEvents ?? [])]))];
  }

  async withRawBefore(cutoff: number, limit: number): Promise<string[]> {
    const rows = await this.model
      .find({ raw: { $ne: null }, occurredAt: { $lt: cutoff } }, { _id: 1 })
      .sort({ occurredAt: 1 })
      .limit(limit)
      .lean();
    return rows.map((r) => r._id);
  }

  async removeClosedBefore(cutoff: number): Promise<number> {
    // A direct delete is safe in this exclusive collection: a later write decided on this process's
    // copy of a removed document matches nothing (compare-and-set), and is decided again on "absent".
    // Unpublished entries (outboxCount > 0) stay until the relay or recovery published them.
    const res = await this.model.deleteMany({
      open: false,
      occurredAt: { $lt: cutoff },
      $or: [{ outboxCount: 0 }, { outboxCount: { $exists: false } }],
    });
    return res.deletedCount;
  }
}
