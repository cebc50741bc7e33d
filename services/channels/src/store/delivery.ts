/**
 * Partner webhook endpoints (`webhook_endpoints`) and deliveries (`deliveries`, one per event and
 * endpoint, `<sourceEventId>:<endpointId>`, so a replayed event inserts nothing new). A delivery's
 * outcome is written together with its channels.partner-delivery ack through the outbox, and the
 * same write removes its sealed secret part. `subjects` (indexed) finds the deliveries naming a
 * customer for an erasure; `createdAt` (indexed) the ended ones past retention.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import {
  isDuplicateKeyError,
  outboxPaths,
  WITHOUT_OUTBOX,
  withOutbox,
  type OutboxEntry,
  type OutgoingEvent,
  type ServiceRuntime,
} from '@omnimall/service-kit';
import type { Delivery, DeliveryStatus, Endpoint } from '../domain/delivery';

export interface EndpointRepository {
  create(endpoint: Endpoint): Promise<Endpoint>;
  /** A channel's endpoints, oldest first. */
  listFor(channel: string): Promise<Endpoint[]>;
  get(id: string): Promise<Endpoint | null>;
  active(): Promise<Endpoint[]>;
  /** How many active endpoints the channel has. */
  countActive(channel: string): Promise<number>;
  /** False when the channel has no such endpoint. */
  deactivate(channel: string, id: string): Promise<boolean>;
}

/** Where a pending delivery stands in the worker's list. */
export interface PendingDelivery {
  _id: string;
  endpointId: string;
  nextAttemptAt: Date;
  createdAt: Date;
}

export type DeliveryListing = Omit<Delivery, 'body' | 'sealed' | 'subjects'>;

export interface DeliveryRepository {
  /** False when the delivery exists already. */
  insert(delivery: Delivery): Promise<boolean>;
  get(id: string): Promise<Delivery | null>;
  /** Every pending delivery. On FerretDB this reads the whole collection, delivered ones included. */
  pending(): Promise<PendingDelivery[]>;
  /** The ids of one endpoint's pending deliveries. */
  pendingOf(endpointId: string): Promise<string[]>;
  /** A failed attempt: when to try again. */
  reschedule(id: string, attempt: Pick<Delivery, 'attempts' | 'nextAttemptAt' | 'lastError' | 'httpStatus'>): Promise<void>;
  /**
   * The outcome with its ack event, written directly: the caller holds the delivery's lock
   * (`lockKey`). The ack goes out on the fast path; the outbox's recovery poll covers a failure there.
   */
  complete(
    id: string,
    outcome: { status: Exclude<DeliveryStatus, 'pending'> } & Pick<Delivery, 'attempts' | 'httpStatus' | 'lastError' | 'completedAt'>,
    ack: OutgoingEvent,
  ): Promise<void>;
  /** The deliveries naming the customer (`subjects`), with their bodies. */
  namingSubject(customerId: string): Promise<Array<Pick<Delivery, '_id' | 'body' | 'sealed' | 'subjects' | 'status'>>>;
  /** Rewrites a delivery's clear body and subjects and drops its sealed part (an erasure). */
  pseudonymise(id: string, patch: Pick<Delivery, 'body' | 'subjects'>): Promise<void>;
  /** Removes ended (delivered or failed) deliveries created before `before`; how many. */
  pruneEnded(before: Date): Promise<number>;
  /** A channel's deliveries without their bodies, newest first, at most 500. */
  listFor(channel: string, status?: DeliveryStatus): Promise<DeliveryListing[]>;
  /** The key of the delivery's lock (DocumentLocks), shared with the outbox's writes of it. */
  lockKey(id: string): string;
}

const endpointSchema = new Schema<Endpoint>(
  {
    _id: String,
    channel: { type: String, index: true },
    url: String,
    events: [String],
    secret: String,
    active: Boolean,
    createdAt: Date,
    createdBy: String,
  },
  { versionKey: false },
);

const deliverySchema = new Schema<Delivery>(
  {
    _id: String,
    channel: { type: String, index: true },
    endpointId: { type: String, index: true },
    eventType: String,
    sourceEventId: String,
    sourceOccurredAt: Date,
    body: String,
    sealed: { type: String, default: null },
    subjects: { type: [String], index: true, default: [] },
    status: { type: String, index: true },
    attempts: Number,
    nextAttemptAt: Date,
    lastError: String,
    httpStatus: Number,
    createdAt: { type: Date, index: true },
    completedAt: Date,
    ...outboxPaths,
  },
  { versionKey: false },
);

export function deliveryModels(db: Connection) {
  return {
    endpoints: db.model<Endpoint>('WebhookEndpoint', endpointSchema, 'webhook_endpoints'),
    deliveries: db.model<Delivery>('Delivery', deliverySchema, 'deliveries'),
  };
}

export function endpointRepository(model: Model<Endpoint>): EndpointRepository {
  return {
    create: async (endpoint) => (await model.create(endpoint)).toObject<Endpoint>(),
    listFor: (channel) => model.find({ channel }).sort({ createdAt: 1 }).lean<Endpoint[]>().exec(),
    get: (id) => model.findById(id).lean<Endpoint>().exec(),
    active: () => model.find({ active: true }).lean<Endpoint[]>().exec(),
    countActive: (channel) => model.countDocuments({ channel, active: true }).exec(),
    deactivate: async (channel, id) => (await model.updateOne({ _id: id, channel }, { $set: { active: false } })).matchedCount > 0,
  };
}

export function deliveryRepository(rt: ServiceRuntime, model: Model<Delivery>): DeliveryRepository {
  return {
    async insert(delivery) {
      try {
        await model.create(delivery);
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    get: (id) => model.findById(id).lean<Delivery>().exec(),
    pending: () => model.find({ status: 'pending' }, { endpointId: 1, nextAttemptAt: 1, createdAt: 1 }).lean<PendingDelivery[]>().exec(),
    pendingOf: async (endpointId) =>
      (await model.find({ endpointId, status: 'pending' }, { _id: 1 }).lean<Array<{ _id: string }>>().exec()).map((d) => d._id),
    async reschedule(id, { attempts, nextAttemptAt, lastError, httpStatus }) {
      await model.updateOne({ _id: id }, { $set: { attempts, nextAttemptAt, lastError, httpStatus } });
    },
    async complete(id, outcome, ack) {
      const doc = await model
        .findOneAndUpdate({ _id: id }, withOutbox<Delivery>({ $set: outcome, $unset: { sealed: 1 } }, [ack]), { new: true })
        .lean<{ outbox?: Record<string, OutboxEntry> }>();
      const eventId = ack.value.envelope.eventId;
      const entry = doc?.outbox?.[eventId];
      // Fast path for this write's own event only; the recovery poll covers a failure here.
      if (entry) void rt.outbox.dispatch(model, { _id: id, outbox: { [eventId]: entry } }).catch(() => undefined);
    },
    namingSubject: (customerId) =>
      model
        .find({ subjects: customerId }, { body: 1, sealed: 1, subjects: 1, status: 1 })
        .lean<Array<Pick<Delivery, '_id' | 'body' | 'sealed' | 'subjects' | 'status'>>>()
        .exec(),
    async pseudonymise(id, { body, subjects }) {
      await model.updateOne({ _id: id }, { $set: { body, subjects }, $unset: { sealed: 1 } });
    },
    pruneEnded: async (before) =>
      (await model.deleteMany({ status: { $in: ['delivered', 'failed'] }, createdAt: { $lt: before } })).deletedCount,
    listFor: (channel, status) =>
      model
        .find({ channel, ...(status ? { status } : {}) }, { ...WITHOUT_OUTBOX, body: 0, sealed: 0, subjects: 0 })
        .sort({ createdAt: -1 })
        .limit(500)
        .lean<DeliveryListing[]>()
        .exec(),
    lockKey: (id) => rt.outbox.lockKey(model, id),
  };
}
