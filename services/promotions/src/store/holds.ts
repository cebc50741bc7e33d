import type { Connection, Model } from 'mongoose';
import { outboxPaths, type Outbox } from '@omnimall/service-kit';
import { model } from './models';
import { OutboxDocuments, type Documents } from './usage-docs';

export type HoldState = 'held' | 'refused' | 'released' | 'committed' | 'reverted' | 'expired';

export interface CampaignUse {
  campaignId: string;
  amountMinor: number;
}

/**
 * A usage hold: what an order (or a channel app) asked to hold — codes, campaign budgets, points —
 * and where it stands. The uses themselves are held in each code's, campaign's and ledger's
 * document; this record is written once the hold is concluded (held or refused), then on every move.
 */
export interface HoldRecord {
  id: string;
  customerId: string;
  channel: string;
  reference: string;
  /** Who asked: `staff:<id>`, `customer:<id>`, `command:<producer>`. */
  caller: string;
  /** SHA-256 of what was asked (same hold id, another request: refused). */
  requestHash: string;
  codes: string[];
  /** The promotion each held code unlocks (known once the codes are taken). */
  codePromotions: { code: string; promotionId: string }[];
  campaigns: CampaignUse[];
  points: number;
  state: HoldState;
  expiresAt: number;
  reason: string | null;
  hint: string | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** `holds`: one document per hold, _id the hold id (outbox, exclusive). */
export type HoldDoc = Omit<HoldRecord, 'id'> & { _id: string };

export interface HoldRepository extends Omit<Documents<HoldRecord>, 'due'> {
  /** Holds still `held` whose expiry passed before `before` (the sweeper's look for holds it must end). */
  expired(before: number, limit: number): Promise<HoldRecord[]>;
}

export const holdModel = (db: Connection): Model<HoldDoc> =>
  model<HoldDoc>(
    db,
    'UsageHold',
    {
      // the other fields are as the repository writes them (the model is loose)
      _id: String,
      codes: { type: Array, default: [] },
      codePromotions: { type: Array, default: [] },
      campaigns: { type: Array, default: [] },
      points: { type: Number, default: 0 },
      reason: { type: String, default: null },
      hint: { type: String, default: null },
      version: { type: Number, default: 0 },
      ...outboxPaths,
    },
    'holds',
  );

const toRecord = (d: HoldDoc): HoldRecord => {
  const { _id: id, customerId, channel, reference, caller, requestHash, state, expiresAt, createdAt, updatedAt } = d;
  const campaigns = (d.campaigns ?? []).map((c) => ({ campaignId: c.campaignId, amountMinor: c.amountMinor }));
  const codePromotions = (d.codePromotions ?? []).map((c) => ({ code: c.code, promotionId: c.promotionId }));
  const rest = {
    codes: d.codes ?? [],
    codePromotions,
    points: d.points ?? 0,
    reason: d.reason ?? null,
    hint: d.hint ?? null,
    version: d.version ?? 0,
  };
  return { id, customerId, channel, reference, caller, requestHash, state, expiresAt, createdAt, updatedAt, campaigns, ...rest };
};

const toFields = ({ id: _i, ...r }: HoldRecord): Omit<HoldDoc, '_id'> => r;

export function holdRepository(m: Model<HoldDoc>, outbox: Outbox): HoldRepository {
  const docs = new OutboxDocuments(m, outbox, toRecord, toFields);
  return {
    get: (id) => docs.get(id),
    transact: (id, decide, assumeNew) => docs.transact(id, decide, assumeNew),
    expired: (before, limit) => docs.find({ state: 'held', expiresAt: { $lt: before } }, limit),
  };
}
