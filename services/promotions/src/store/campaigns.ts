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

/** The campaigns: read, read-decide-write (outbox), and those with holds expired by a time (the sweeper's scan). */
export type CampaignRepository = Documents<CampaignRecord>;

export const campaignRepository = (m: Model<CampaignDoc>, outbox: Outbox): CampaignRepository =>
  new OutboxDocuments(m, outbox, toRecord, toFields, nextExpiry);
