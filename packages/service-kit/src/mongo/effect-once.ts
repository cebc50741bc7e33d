/**
 * Effect-once for consumers: an event's effect applied at most once, by a mark in the same document as
 * the effect (applyOnce) or, for other handlers, in the inbox.
 */
import type { Connection, FilterQuery, Model, UpdateQuery } from 'mongoose';
import { Schema } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import type { WriteBatcher } from './write-batcher';

/**
 * Effect-once, in the same document as the effect: the update only matches a document whose
 * `appliedEvents` does not yet hold this eventId, and pushes the id in the same write. A
 * single-document update is atomic (MongoDB; locally the patched FerretDB, see
 * deploy/local/ferretdb/patches/0002), so two deliveries of one event can never both apply: a replay
 * matches nothing (or, for an upsert, collides on _id) and is reported as a duplicate.
 * The list keeps the last APPLIED_EVENTS_KEPT ids per document; projections also compare
 * aggregateVersion, so a replay older than that window cannot move them backwards.
 */
export const APPLIED_EVENTS_KEPT = 200;

export interface ApplyOnceOptions {
  upsert?: boolean;
}

export const appliedEventsPath = { appliedEvents: { type: [String], default: [] } };

export interface ApplyOnceHooks {
  /** Called as soon as the write is committed. */
  onCommitted?: () => void;
  /** Sends upserts through this group commit (see write-batcher.ts) instead of one by one. */
  writes?: WriteBatcher;
}

export async function applyOnce<T>(
  model: Model<T>,
  eventId: string,
  filter: FilterQuery<T>,
  update: UpdateQuery<T>,
  opts: ApplyOnceOptions = {},
  hooks: ApplyOnceHooks = {},
): Promise<boolean> {
  const push = { ...((update.$push as object) ?? {}), appliedEvents: { $each: [eventId], $slice: -APPLIED_EVENTS_KEPT } };
  const unapplied = { ...filter, appliedEvents: { $ne: eventId } } as FilterQuery<T>;
  const effect = { ...update, $push: push } as UpdateQuery<T>;
  if (opts.upsert && hooks.writes) {
    const outcome = await hooks.writes.upsertOne(model, unapplied, effect);
    hooks.onCommitted?.();
    return outcome !== 'duplicate';
  }
  try {
    const res = await model.updateOne(unapplied, effect, { upsert: opts.upsert ?? false });
    hooks.onCommitted?.();
    return res.modifiedCount + res.upsertedCount > 0;
  } catch (err) {
    if (isDuplicateKeyError(err) && opts.upsert) return false;
    throw err;
  }
}

/**
 * The inbox: for handlers whose effect is not a single-document update, a (consumer, eventId) mark,
 * checked before the handler and written after it. Such handlers must be idempotent on their own,
 * since a crash between effect and mark replays the event. The mark's _id is the pair itself
 * (inboxId), so the check is a lookup by _id: on FerretDB a query by any other field reads the whole
 * collection, and the inbox only grows.
 */
export interface InboxMark {
  _id: string;
  consumer: string;
  eventId: string;
  at: Date;
}

export function inboxId(consumer: string, eventId: string): string {
  return `${consumer}/${eventId}`;
}

const inboxSchema = new Schema<InboxMark>({ _id: String, consumer: String, eventId: String, at: Date }, { versionKey: false });

export function inboxModel(db: Connection): Model<InboxMark> {
  return (db.models.InboxMark as Model<InboxMark>) ?? db.model<InboxMark>('InboxMark', inboxSchema, 'inbox');
}
