/**
 * Stored notifications (`notifications`), each inserted with its channels.notification event.
 * `recipientIds` is indexed so an erasure finds the notifications naming a customer, `createdAt` so
 * the pruning pass finds those past retention.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError, outboxPaths, WITHOUT_OUTBOX, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { Notification } from '../domain/notifications';

export interface NotificationRepository {
  /** Inserts the notification with its events; null when it exists already (ids derive from the cause). */
  create(notification: Notification, events: readonly OutgoingEvent[]): Promise<Notification | null>;
  /** A channel's notifications, newest first, at most 500. */
  listFor(channel: string): Promise<Notification[]>;
  /** The ids of the notifications naming the customer among their recipients. */
  namingRecipient(customerId: string): Promise<string[]>;
  /** Replaces the customer by `pseudonym` among the notification's recipients (read-decide-write). */
  replaceRecipient(id: string, customerId: string, pseudonym: string): Promise<void>;
  /** Removes the notifications created before `before`; how many. */
  pruneBefore(before: Date): Promise<number>;
}

const notificationSchema = new Schema<Notification>(
  {
    _id: String,
    channel: { type: String, index: true },
    kind: String,
    audience: String,
    language: String,
    subject: String,
    message: String,
    recipientIds: { type: [String], index: true },
    expectedBackAt: Date,
    configVersion: Number,
    causeEventId: String,
    createdAt: { type: Date, index: true },
    ...outboxPaths,
  },
  { versionKey: false },
);

export function notificationModel(db: Connection): Model<Notification> {
  return db.model<Notification>('Notification', notificationSchema, 'notifications');
}

export function notificationRepository(rt: ServiceRuntime, model: Model<Notification>): NotificationRepository {
  return {
    async create(notification, events) {
      try {
        return await rt.outbox.create(model, notification, events);
      } catch (err) {
        if (isDuplicateKeyError(err)) return null;
        throw err;
      }
    },
    listFor: (channel) => model.find({ channel }, WITHOUT_OUTBOX).sort({ createdAt: -1 }).limit(500).lean<Notification[]>().exec(),
    namingRecipient: async (customerId) =>
      (await model.find({ recipientIds: customerId }, { _id: 1 }).lean<Array<{ _id: string }>>().exec()).map((n) => n._id),
    async replaceRecipient(id, customerId, pseudonym) {
      await rt.outbox.transact(model, id, (cur) =>
        cur?.recipientIds.includes(customerId)
          ? { update: { $set: { recipientIds: cur.recipientIds.map((r) => (r === customerId ? pseudonym : r)) } }, events: [] }
          : null,
      );
    },
    pruneBefore: async (before) => (await model.deleteMany({ createdAt: { $lt: before } })).deletedCount,
  };
}
