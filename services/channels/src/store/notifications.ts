/** Stored notifications (`notifications`), each inserted with its channels.notification event. */
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError, outboxPaths, WITHOUT_OUTBOX, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { Notification } from '../domain/notifications';

export interface NotificationRepository {
  /** Inserts the notification with its events; null when it exists already (ids derive from the cause). */
  create(notification: Notification, events: readonly OutgoingEvent[]): Promise<Notification | null>;
  /** A channel's notifications, newest first, at most 500. */
  listFor(channel: string): Promise<Notification[]>;
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
    recipientIds: [String],
    expectedBackAt: Date,
    configVersion: Number,
    causeEventId: String,
    createdAt: Date,
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
  };
}
