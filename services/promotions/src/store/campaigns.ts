import type { Connection, Model } from 'mongoose';
import type { Outbox } from '@omnimall/service-kit';
import { nextExpiry, type CampaignRecord } from '../domain/usage';
import { model } from './models';
import { counterOf, counterPaths, OutboxDocuments, type Documents } from './usage-docs';

export type { CampaignRecord } from '../domain/usage';

/** `campaigns`: one document per campaign, its budget, use and holds (outbox, exclusive). */
export type CampaignDoc = Omit<CampaignRecord, 'id'> & { _id: string; nextExpiry: number | null };

export const campaignModel = (db: Connection): Model<CampaignDoc> =>
  model<CampaignDoc>(
    db,
    'Campaign',
    {
      _id: String,
      name: String,
      budget: Object,
      held: { type: Number, default: 0 },
      exhausted: { type: Boolean, default: false },
      ...counterPaths,
    },
    'campaigns',
  );

const toRecord = ({ _id, nextExpiry: _n, ...d }: CampaignDoc): CampaignRecord => ({
  ...counterOf(d),
  id: _id,
  name: d.name,
  budget: d.budget,
  held: d.held ?? 0,
  exhausted: d.exhausted ?? false,
});

const toFields = ({ id: _i, ...r }: CampaignRecord) => ({ ...r, nextExpiry: null });

/** A campaign's budget state, as the budget reconciler reads it. */
export interface BudgetState {
  id: string;
  exhausted: boolean;
  updatedAt: number;
}

/**
 * The campaigns: read, read-decide-write (outbox), those with holds expired by a time (the sweeper's
 * scan), and the budget states the reconciler compares with the promotions' (index `updatedAt`).
 */
export interface CampaignRepository extends Documents<CampaignRecord> {
  /** Campaigns written at or after `since`, oldest first, at most `limit`. */
  changedSince(since: number, limit: number): Promise<BudgetState[]>;
  /** The budget states of the campaigns named (unknown ids are left out). */
  states(ids: readonly string[]): Promise<BudgetState[]>;
}

const stateFields = { _id: 1, exhausted: 1, updatedAt: 1 };
const toState = (d: Pick<CampaignDoc, '_id' | 'exhausted' | 'updatedAt'>): BudgetState => ({
  id: d._id,
  exhausted: d.exhausted ?? false,
  updatedAt: d.updatedAt,
});

class CampaignDocuments extends OutboxDocuments<CampaignRecord, CampaignDoc> implements CampaignRepository {
  constructor(
    private readonly docs: Model<CampaignDoc>,
    outbox: Outbox,
  ) {
    super(docs, outbox, toRecord, toFields, nextExpiry);
  }

  async changedSince(since: number, limit: number): Promise<BudgetState[]> {
    const docs = await this.docs
      .find({ updatedAt: { $gte: since } }, stateFields)
      .sort({ updatedAt: 1 })
      .limit(limit)
      .lean<CampaignDoc[]>();
    return docs.map(toState);
  }

  async states(ids: readonly string[]): Promise<BudgetState[]> {
    if (!ids.length) return [];
    const docs = await this.docs.find({ _id: { $in: [...ids] } }, stateFields).lean<CampaignDoc[]>();
    return docs.map(toState);
  }
}

export const campaignRepository = (m: Model<CampaignDoc>, outbox: Outbox): CampaignRepository => new CampaignDocuments(m, outbox);
