import type { Connection, Model } from 'mongoose';
import { outboxPaths, type OutgoingEvent, type Outbox } from '@omnimall/service-kit';
import type { PromotionRecord, Status } from '../domain/promotions';
import { model } from './models';

/** `promotions`: one document per promotion (the aggregate; written only through the outbox)  _id promotionId. */
export type PromotionDoc = Omit<PromotionRecord, 'id'> & { _id: string };

export type PromotionChange = { record: PromotionRecord; events: readonly OutgoingEvent[] } | null;

export interface PromotionRepository {
  get(id: string): Promise<PromotionRecord | null>;
  /** Read-decide-write on one promotion (compare-and-set; `decide` may run again, so no side effects). */
  transact(id: string, decide: (current: PromotionRecord | null) => PromotionChange): Promise<PromotionRecord | null>;
  /** Promotions by status and (optionally) a channel they name (a promotion for every channel matches any). */
  list(filter: { status?: Status; channel?: string }, limit: number): Promise<PromotionRecord[]>;
  /** Ids of promotions with something due at or before `now` (the lifecycle worker's look). */
  due(now: number, limit: number): Promise<string[]>;
  /** Scheduled and live promotions (the quote cache). */
  published(): Promise<PromotionRecord[]>;
  /** Ids of the promotions of a campaign. */
  ofCampaign(campaignId: string): Promise<string[]>;
  /** Promotions naming a campaign written at or after `since`, oldest first, at most `limit` (the budget reconciler's look). */
  campaignsChangedSince(since: number, limit: number): Promise<{ campaignId: string; updatedAt: number }[]>;
  /** The budget flag of every promotion of these campaigns that a budget still changes (not ended, not withdrawn). */
  budgetFlags(campaignIds: readonly string[]): Promise<{ id: string; campaignId: string; exhausted: boolean }[]>;
}

const toRecord = (d: PromotionDoc): PromotionRecord => ({
  id: d._id,
  definition: d.definition,
  overridable: d.overridable ?? [],
  status: d.status,
  version: d.version,
  overrides: d.overrides ?? [],
  readiness: d.readiness ?? [],
  exhausted: d.exhausted ?? false,
  emitted: d.emitted ?? [],
  nextDue: d.nextDue ?? null,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  updatedBy: d.updatedBy,
  updatedAt: d.updatedAt,
});

const fields = { outbox: 0, outboxCount: 0, writeRev: 0 };

export function promotionModel(db: Connection): Model<PromotionDoc> {
  return model<PromotionDoc>(
    db,
    'Promotion',
    {
      _id: String,
      definition: Object,
      overridable: { type: Array, default: [] },
      status: String,
      version: Number,
      overrides: { type: Array, default: [] },
      readiness: { type: Array, default: [] },
      exhausted: { type: Boolean, default: false },
      emitted: { type: [String], default: [] },
      nextDue: { type: Number, default: null },
      createdBy: String,
      createdAt: Number,
      updatedBy: String,
      updatedAt: Number,
      ...outboxPaths,
    },
    'promotions',
  );
}

export class MongoPromotionRepository implements PromotionRepository {
  constructor(
    private readonly model: Model<PromotionDoc>,
    private readonly outbox: Outbox,
  ) {}

  async get(id: string): Promise<PromotionRecord | null> {
    const d = await this.model.findById(id, fields).lean<PromotionDoc>();
    return d ? toRecord(d) : null;
  }

  async transact(id: string, decide: (current: PromotionRecord | null) => PromotionChange): Promise<PromotionRecord | null> {
    const { doc } = await this.outbox.transact(this.model, id, (cur) => {
      const change = decide(cur ? toRecord(cur) : null);
      if (!change) return null;
      const { id: _ignored, ...set } = change.record;
      return { update: { $set: set }, events: change.events };
    });
    return doc ? toRecord(doc) : null;
  }

  async list(filter: { status?: Status; channel?: string }, limit: number): Promise<PromotionRecord[]> {
    const q: Record<string, unknown> = {};
    if (filter.status) q.status = filter.status;
    if (filter.channel) q.$or = [{ 'definition.channels': null }, { 'definition.channels': filter.channel }];
    const docs = await this.model.find(q, fields).sort({ createdAt: -1 }).limit(limit).lean<PromotionDoc[]>();
    return docs.map(toRecord);
  }

  async due(now: number, limit: number): Promise<string[]> {
    const docs = await this.model
      .find({ nextDue: { $ne: null, $lte: now } }, { _id: 1 })
      .limit(limit)
      .lean<{ _id: string }[]>();
    return docs.map((d) => d._id);
  }

  async published(): Promise<PromotionRecord[]> {
    const docs = await this.model.find({ status: { $in: ['scheduled', 'live'] } }, fields).lean<PromotionDoc[]>();
    return docs.map(toRecord);
  }

  async ofCampaign(campaignId: string): Promise<string[]> {
    const docs = await this.model.find({ 'definition.campaignId': campaignId }, { _id: 1 }).lean<{ _id: string }[]>();
    return docs.map((d) => d._id);
  }

  async campaignsChangedSince(since: number, limit: number): Promise<{ campaignId: string; updatedAt: number }[]> {
    const docs = await this.model
      .find({ updatedAt: { $gte: since }, 'definition.campaignId': { $ne: null } }, { 'definition.campaignId': 1, updatedAt: 1 })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .lean<Pick<PromotionDoc, 'definition' | 'updatedAt'>[]>();
    return docs.map((d) => ({ campaignId: d.definition.campaignId!, updatedAt: d.updatedAt }));
  }

  async budgetFlags(campaignIds: readonly string[]): Promise<{ id: string; campaignId: string; exhausted: boolean }[]> {
    if (!campaignIds.length) return [];
    const docs = await this.model
      .find(
        { 'definition.campaignId': { $in: [...campaignIds] }, status: { $nin: ['ended', 'withdrawn'] } },
        { 'definition.campaignId': 1, exhausted: 1 },
      )
      .lean<Pick<PromotionDoc, '_id' | 'definition' | 'exhausted'>[]>();
    return docs.map((d) => ({ id: d._id, campaignId: d.definition.campaignId!, exhausted: d.exhausted ?? false }));
  }
}
