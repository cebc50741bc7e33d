import type { Collection, Connection, Model } from 'mongoose';
import { outboxPaths, type Outbox } from '@omnimall/service-kit';
import { nextLotExpiry, type EarnRules, type Ledger, type TierPolicy } from '../domain/loyalty';
import { nextExpiry } from '../domain/usage';
import { model } from './models';
import { OutboxDocuments, type Documents } from './usage-docs';

export type { Ledger } from '../domain/loyalty';

/**
 * `ledgers`: one document per customer (_id the customer id) holding its entries, lots, point holds,
 * orders earned on and tier (outbox, exclusive). `nextExpiry` is the earliest of its holds' expiries,
 * its lots' and its tier review, so one scan finds every ledger the loyalty worker has work on.
 */
export type LedgerDoc = Omit<Ledger, 'customerId'> & { _id: string; nextExpiry: number | null };

/** Customers' ledgers: `get(customerId)` gives balance, held, tier and entries (null: none yet). */
export type LedgerRepository = Documents<Ledger>;

export const ledgerModel = (db: Connection): Model<LedgerDoc> =>
  model<LedgerDoc>(
    db,
    'LoyaltyLedger',
    {
      _id: String,
      balance: { type: Number, default: 0 },
      held: { type: Number, default: 0 },
      holds: { type: Object, default: {} },
      lots: { type: Array, default: [] },
      entries: { type: Array, default: [] },
      orders: { type: Object, default: {} },
      tier: String,
      tierReviewAt: { type: Number, default: null },
      version: { type: Number, default: 0 },
      updatedAt: Number,
      nextExpiry: { type: Number, default: null },
      ...outboxPaths,
    },
    'ledgers',
  );

const toRecord = (d: LedgerDoc): Ledger => ({
  customerId: d._id,
  balance: d.balance ?? 0,
  held: d.held ?? 0,
  holds: d.holds ?? {},
  lots: d.lots ?? [],
  entries: d.entries ?? [],
  orders: d.orders ?? {},
  tier: d.tier,
  tierReviewAt: d.tierReviewAt ?? null,
  version: d.version ?? 0,
  updatedAt: d.updatedAt ?? 0,
});

const toFields = ({ customerId: _c, ...l }: Ledger) => ({ ...l, nextExpiry: null });

/** The earliest time the loyalty worker has something to do on a ledger (null: nothing). */
const dueAt = (l: Ledger): number | null => {
  const times = [nextExpiry(l), nextLotExpiry(l), l.tierReviewAt].filter((t): t is number => t !== null);
  return times.length ? Math.min(...times) : null;
};

export const ledgerRepository = (m: Model<LedgerDoc>, outbox: Outbox): LedgerRepository =>
  new OutboxDocuments(m, outbox, toRecord, toFields, dueAt);

// ---- loyalty configuration ----------------------------------------------------------------------

interface ConfigDoc {
  _id: 'earn-rules' | 'tiers';
  value: EarnRules | TierPolicy;
  updatedBy: string;
  updatedAt: number;
}

/** `loyalty_config`: the earn rules and the tier policy, each one document replaced whole by an admin. */
export interface LoyaltyConfigRepository {
  earnRules(): Promise<EarnRules | null>;
  tierPolicy(): Promise<TierPolicy | null>;
  putEarnRules(rules: EarnRules, by: string): Promise<void>;
  putTierPolicy(policy: TierPolicy, by: string): Promise<void>;
}

export class MongoLoyaltyConfig implements LoyaltyConfigRepository {
  constructor(private readonly collection: Collection<ConfigDoc>) {}

  static of(db: Connection): MongoLoyaltyConfig {
    return new MongoLoyaltyConfig(db.collection<ConfigDoc>('loyalty_config'));
  }

  private async read<T extends EarnRules | TierPolicy>(id: ConfigDoc['_id']): Promise<T | null> {
    return ((await this.collection.findOne({ _id: id }))?.value as T | undefined) ?? null;
  }

  private async put(id: ConfigDoc['_id'], value: EarnRules | TierPolicy, by: string): Promise<void> {
    await this.collection.replaceOne({ _id: id }, { value, updatedBy: by, updatedAt: Date.now() }, { upsert: true });
  }

  earnRules = (): Promise<EarnRules | null> => this.read<EarnRules>('earn-rules');
  tierPolicy = (): Promise<TierPolicy | null> => this.read<TierPolicy>('tiers');
  putEarnRules = (rules: EarnRules, by: string): Promise<void> => this.put('earn-rules', rules, by);
  putTierPolicy = (policy: TierPolicy, by: string): Promise<void> => this.put('tiers', policy, by);
}

/** Customers' tiers alone (the quote's `customer.tier`): one indexed read of one field, never the entries. */
export class MongoTiers {
  constructor(private readonly model: Model<LedgerDoc>) {}

  async tierOf(customerId: string): Promise<string | null> {
    const d = await this.model.collection.findOne({ _id: customerId } as never, { projection: { tier: 1 } });
    return (d as { tier?: string } | null)?.tier ?? null;
  }
}
