import { Schema, type Connection, type Model } from 'mongoose';
import { outboxPaths } from '@omnimall/service-kit';
import type { Tracking } from '../domain/propagation';

/** One document per tracked event, its acks, retries, escalation and remediation actions inside (and its outbox). */
export type TrackingDoc = Tracking & { outbox?: Record<string, unknown>; outboxCount?: number };

export interface ChannelStatusDoc {
  _id: string; // channel code
  name: string;
  kind: string;
  state: string;
  previousState: string | null;
  blockReasons: string[];
  expectedBackAt: number | null;
  version: number;
  updatedAt: number;
}

/** An entry of a channel's status feed for business users; _id makes each entry written once. */
export interface FeedEntryDoc {
  _id: string;
  channel: string;
  at: number;
  kind: 'delay' | 'recovery' | 'limitation';
  title: string;
  message: string;
  eventId: string | null;
  escalationId: string | null;
}

/** A consumer group seen acknowledging a topic: where retries go and whose lag is measured. */
export interface KnownGroupDoc {
  _id: string; // `${topic}|${group}`
  topic: string;
  group: string;
  service: string;
  firstSeenAt: number;
}

const trackingSchema = new Schema<TrackingDoc>(
  {
    _id: String,
    topic: String,
    type: String,
    producer: String,
    aggregateId: String,
    correlationId: String,
    sourceChannel: String,
    occurredAt: { type: Number, index: true },
    firstSeenAt: Number,
    envelopeSeen: Boolean,
    expected: [String],
    slaMs: Number,
    slaDeadline: Number,
    state: { type: String, index: true },
    open: { type: Boolean, index: true },
    acks: { type: [Object], default: [] },
    retries: { type: [Object], default: [] },
    escalation: { type: Object, default: null },
    actions: { type: [Object], default: [] },
    raw: { type: Object, default: null },
    completedAt: Number,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

const channelSchema = new Schema<ChannelStatusDoc>(
  {
    _id: String,
    name: String,
    kind: String,
    state: String,
    previousState: String,
    blockReasons: [String],
    expectedBackAt: Number,
    version: Number,
    updatedAt: Number,
  },
  { versionKey: false },
);

const feedSchema = new Schema<FeedEntryDoc>(
  {
    _id: String,
    channel: { type: String, index: true },
    at: Number,
    kind: String,
    title: String,
    message: String,
    eventId: String,
    escalationId: String,
  },
  { versionKey: false },
);

const groupSchema = new Schema<KnownGroupDoc>(
  { _id: String, topic: String, group: String, service: String, firstSeenAt: Number },
  { versionKey: false },
);

export interface Store {
  tracking: Model<TrackingDoc>;
  channels: Model<ChannelStatusDoc>;
  feed: Model<FeedEntryDoc>;
  groups: Model<KnownGroupDoc>;
}

export function createStore(db: Connection): Store {
  return {
    tracking: db.model<TrackingDoc>('Tracking', trackingSchema, 'propagation'),
    channels: db.model<ChannelStatusDoc>('ChannelStatus', channelSchema, 'channels'),
    feed: db.model<FeedEntryDoc>('FeedEntry', feedSchema, 'status_feed'),
    groups: db.model<KnownGroupDoc>('KnownGroup', groupSchema, 'known_groups'),
  };
}
