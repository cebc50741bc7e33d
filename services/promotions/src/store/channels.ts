import type { Connection, Model } from 'mongoose';
import { appliedEventsPath, type EventContext } from '@omnimall/service-kit';
import { model } from './models';

/** A channel as promotions needs it: which exist and trade (the targets of a promotion for every channel). */
export interface ChannelInfo {
  code: string;
  kind: string;
  state: string;
}

/** `channels`: projection of channels.channel-changed  _id channel code. */
export type ChannelDoc = Omit<ChannelInfo, 'code'> & { _id: string; aggregateVersion: number; appliedEvents: string[] };

export interface ChannelRepository {
  project(ctx: Pick<EventContext, 'applyOnce'>, info: ChannelInfo, version: number): Promise<void>;
  all(): Promise<ChannelInfo[]>;
  /** One channel, or null when promotions never heard of it. */
  get(code: string): Promise<ChannelInfo | null>;
}

/** Channel states in which a channel prices promotions (the targets of a promotion naming no channels). */
export const TRADING_STATES: readonly string[] = ['active', 'maintenance', 'onboarding'];

export function channelModel(db: Connection): Model<ChannelDoc> {
  return model<ChannelDoc>(
    db,
    'Channel',
    { _id: String, kind: String, state: String, aggregateVersion: Number, ...appliedEventsPath },
    'channels',
  );
}

export class MongoChannelRepository implements ChannelRepository {
  constructor(private readonly model: Model<ChannelDoc>) {}

  async project(ctx: Pick<EventContext, 'applyOnce'>, info: ChannelInfo, version: number): Promise<void> {
    await ctx.applyOnce(
      this.model,
      { _id: info.code, aggregateVersion: { $lt: version } },
      { $set: { kind: info.kind, state: info.state, aggregateVersion: version } },
      { upsert: true },
    );
  }

  async get(code: string): Promise<ChannelInfo | null> {
    const d = await this.model.findById(code).lean();
    return d ? { code: d._id, kind: d.kind, state: d.state } : null;
  }

  async all(): Promise<ChannelInfo[]> {
    const docs = await this.model.find({}, { kind: 1, state: 1 }).lean<ChannelDoc[]>();
    return docs.map((d) => ({ code: d._id, kind: d.kind, state: d.state }));
  }
}
