/**
 * The channel aggregate (`channels`, written through the outbox so each change commits with its
 * channels.channel-changed event) and its history: lifecycle steps (`channel_transitions`) and
 * override decisions (`config_override_log`). The history lives outside the channel document:
 * FerretDB rewrites a document whole on every update, so a growing list there would slow every write.
 */
import { Schema, type Connection, type Model, type UpdateQuery } from 'mongoose';
import { isDuplicateKeyError, outboxPaths, type OutgoingEvent, type ServiceRuntime } from '@omnimall/service-kit';
import type { Channel, OverrideLogEntry, TransitionStep } from '../domain/channel';
import { credentialStatus } from '../domain/credentials';
import type { ChannelState } from '../domain/lifecycle';
import type { PartnerChannelView } from '../domain/partner';

const Mixed = Schema.Types.Mixed;

/** A change decided on the current channel: the fields to set and the events they cause. */
export interface ChannelWrite {
  set: Partial<Channel>;
  events: readonly OutgoingEvent[];
}

export interface ChannelRepository {
  get(code: string): Promise<Channel | null>;
  /** Sorted by code, at most 1000; `codes` limits the list (a manager's scope), undefined lists all. */
  list(codes?: readonly string[]): Promise<Channel[]>;
  exists(code: string): Promise<boolean>;
  stateOf(code: string): Promise<ChannelState | null>;
  languagesOf(code: string): Promise<string[] | null>;
  overridesListOf(code: string): Promise<Channel['overrides'] | null>;
  partnerViewOf(code: string): Promise<PartnerChannelView | null>;
  codesNotRetired(): Promise<string[]>;
  /** The channels with a key whose published state is behind its state (see credentialStatus). */
  codesWithUnpublishedKeys(): Promise<string[]>;
  /** The channel holding the key `keyId`, if any. */
  ownerOfKey(keyId: string): Promise<Channel | null>;
  /** Inserts a new channel with its events; null when the code is taken. */
  create(channel: Channel, events: readonly OutgoingEvent[]): Promise<Channel | null>;
  /** Read-decide-write on one channel (see Outbox.transact): `decide` may run again, so no side effects. */
  transact(
    code: string,
    decide: (current: Channel | null) => ChannelWrite | null,
  ): Promise<{ channel: Channel | null; events: readonly OutgoingEvent[] }>;
}

export interface TransitionLog {
  add(step: TransitionStep): Promise<void>;
  /** Oldest first, at most 500. */
  listFor(channel: string): Promise<Omit<TransitionStep, '_id'>[]>;
}

export interface OverrideLog {
  add(entry: OverrideLogEntry): Promise<void>;
  /** Oldest first, at most 500. */
  listFor(channel: string): Promise<OverrideLogEntry[]>;
}

const channelSchema = new Schema<Channel>(
  {
    _id: String,
    name: String,
    kind: String,
    branding: { type: Mixed },
    country: String,
    region: String,
    languages: [String],
    currencies: [String],
    manager: { type: Mixed },
    masterChannel: { type: String, default: null },
    allowedDataRegions: [String],
    state: { type: String, index: true },
    previousState: { type: String, default: null },
    expectedBackAt: { type: Date, default: null },
    checklists: { type: Mixed },
    blockReasons: { type: [String], default: [] },
    appliedConfigVersion: { type: Number, default: null },
    configReportedAt: { type: Date, default: null },
    overrides: { type: Mixed, default: [] },
    credentials: { type: Mixed, default: [] },
    version: Number,
    createdAt: Date,
    updatedAt: Date,
    ...outboxPaths,
  },
  { versionKey: false, minimize: false },
);

const transitionSchema = new Schema<TransitionStep>(
  {
    _id: String,
    channel: { type: String, index: true },
    action: String,
    from: String,
    to: String,
    by: String,
    at: Date,
    expectedBackAt: Date,
    reason: String,
    version: Number,
  },
  { versionKey: false },
);

const overrideLogSchema = new Schema<OverrideLogEntry>(
  {
    channel: { type: String, index: true },
    key: String,
    action: String,
    value: Mixed,
    previous: Mixed,
    configVersion: Number,
    by: String,
    reason: String,
    at: Date,
  },
  { versionKey: false },
);

export function channelModels(db: Connection) {
  return {
    channels: db.model<Channel>('Channel', channelSchema, 'channels'),
    transitions: db.model<TransitionStep>('ChannelTransition', transitionSchema, 'channel_transitions'),
    overrideLog: db.model<OverrideLogEntry>('ConfigOverride', overrideLogSchema, 'config_override_log'),
  };
}

export function channelRepository(rt: ServiceRuntime, model: Model<Channel>): ChannelRepository {
  return {
    get: (code) => model.findById(code).lean<Channel>().exec(),
    list: (codes) =>
      model
        .find(codes ? { _id: { $in: [...codes] } } : {})
        .sort({ _id: 1 })
        .limit(1000)
        .lean<Channel[]>()
        .exec(),
    exists: async (code) => !!(await model.exists({ _id: code })),
    stateOf: async (code) => (await model.findById(code, { state: 1 }).lean<Pick<Channel, 'state'>>())?.state ?? null,
    languagesOf: async (code) => (await model.findById(code, { languages: 1 }).lean<Pick<Channel, 'languages'>>())?.languages ?? null,
    overridesListOf: async (code) => (await model.findById(code, { overrides: 1 }).lean<Pick<Channel, 'overrides'>>())?.overrides ?? null,
    partnerViewOf: (code) => model.findById(code, { kind: 1, state: 1, currencies: 1 }).lean<PartnerChannelView>().exec(),
    codesNotRetired: async () => (await model.find({ state: { $ne: 'retired' } }, { _id: 1 }).lean<{ _id: string }[]>()).map((c) => c._id),
    async codesWithUnpublishedKeys() {
      // few channels, few keys each: read the keys and compare here (no FerretDB-sensitive $elemMatch)
      const docs = await model.find({}, { state: 1, credentials: 1 }).lean<Array<Pick<Channel, '_id' | 'state' | 'credentials'>>>();
      return docs.filter((d) => (d.credentials ?? []).some((c) => c.published !== credentialStatus(c, d.state))).map((d) => d._id);
    },
    ownerOfKey: (keyId) => model.findOne({ 'credentials.keyId': keyId }).lean<Channel>().exec(),
    async create(channel, events) {
      try {
        return await rt.outbox.create(model, channel, events);
      } catch (err) {
        if (isDuplicateKeyError(err)) return null;
        throw err;
      }
    },
    async transact(code, decide) {
      const { doc, events } = await rt.outbox.transact(model, code, (cur) => {
        const write = decide(cur);
        return write && { update: { $set: write.set } as UpdateQuery<Channel>, events: write.events };
      });
      return { channel: doc, events };
    },
  };
}

export function transitionLog(model: Model<TransitionStep>): TransitionLog {
  return {
    add: async (step) => {
      await model.create(step);
    },
    listFor: (channel) => model.find({ channel }, { _id: 0 }).sort({ version: 1 }).limit(500).lean<Omit<TransitionStep, '_id'>[]>().exec(),
  };
}

export function overrideLog(model: Model<OverrideLogEntry>): OverrideLog {
  return {
    add: async (entry) => {
      await model.create(entry);
    },
    listFor: (channel) => model.find({ channel }, { _id: 0 }).sort({ at: 1 }).limit(500).lean<OverrideLogEntry[]>().exec(),
  };
}
