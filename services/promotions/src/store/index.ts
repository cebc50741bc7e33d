import type { ServiceRuntime } from '@omnimall/service-kit';
import { campaignModel, campaignRepository, type CampaignRepository } from './campaigns';
import { channelModel, MongoChannelRepository, type ChannelRepository } from './channels';
import { codeModel, codeRepository, type CodeRepository } from './codes';
import { decisionModel, MongoDecisionRepository, type DecisionRepository } from './decisions';
import { holdModel, holdRepository, type HoldRepository } from './holds';
import {
  ledgerModel,
  ledgerRepository,
  MongoLoyaltyConfig,
  MongoTiers,
  type LedgerRepository,
  type LoyaltyConfigRepository,
} from './ledgers';
import { MongoPromotionRepository, promotionModel, type PromotionRepository } from './promotions';

export type { ChannelInfo, ChannelRepository } from './channels';
export type { DecisionRepository } from './decisions';
export type { PromotionRepository } from './promotions';
export type { CampaignRepository } from './campaigns';
export type { CodeRepository } from './codes';
export type { HoldRecord, HoldRepository } from './holds';
export type { LedgerRepository, LoyaltyConfigRepository } from './ledgers';

/** The promotions database, one repository per aggregate (store/<aggregate>.ts; models.ts the shared model helper). */
export interface PromotionsStore {
  promotions: PromotionRepository;
  decisions: DecisionRepository;
  channels: ChannelRepository;
  codes: CodeRepository;
  campaigns: CampaignRepository;
  holds: HoldRepository;
  ledgers: LedgerRepository;
  /** The tier of a customer's ledger alone (quotes). */
  tiers: Pick<MongoTiers, 'tierOf'>;
  loyaltyConfig: LoyaltyConfigRepository;
}

/**
 * Builds the repositories on the runtime's database. Promotions are tracked by the outbox `exclusive`
 * (nothing writes them except through it), and indexed by their next due instant (the lifecycle worker's look),
 * their campaign and their last write (the budget reconciler's looks). Codes, campaigns, holds and ledgers are
 * tracked `exclusive` too; the first three and ledgers are indexed by their next expiry (the hold sweeper's and
 * loyalty worker's looks), campaigns also by their last write, holds by state and expiry.
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<PromotionsStore> {
  const promotions = promotionModel(runtime.db);
  const decisions = decisionModel(runtime.db);
  runtime.outbox.track(promotions, { exclusive: true });
  runtime.outbox.track(decisions);
  const exclusive = { exclusive: true };
  const usage = {
    codes: runtime.outbox.track(codeModel(runtime.db), exclusive),
    campaigns: runtime.outbox.track(campaignModel(runtime.db), exclusive),
    ledgers: runtime.outbox.track(ledgerModel(runtime.db), exclusive),
  };
  const holds = runtime.outbox.track(holdModel(runtime.db), exclusive);
  await Promise.all([
    ...[usage.codes.collection, usage.campaigns.collection, usage.ledgers.collection].map((c) => c.createIndex({ nextExpiry: 1 })),
    holds.collection.createIndex({ state: 1, expiresAt: 1 }),
    usage.campaigns.collection.createIndex({ updatedAt: 1 }),
    promotions.collection.createIndex({ nextDue: 1 }),
    promotions.collection.createIndex({ 'definition.campaignId': 1 }),
    promotions.collection.createIndex({ updatedAt: 1 }),
    decisions.collection.createIndex({ promotionId: 1, decidedAt: -1 }),
    decisions.collection.createIndex({ channel: 1, decidedAt: -1 }),
  ]);
  return {
    promotions: new MongoPromotionRepository(promotions, runtime.outbox),
    decisions: new MongoDecisionRepository(decisions, runtime.outbox),
    channels: new MongoChannelRepository(channelModel(runtime.db)),
    codes: codeRepository(usage.codes, runtime.outbox),
    campaigns: campaignRepository(usage.campaigns, runtime.outbox),
    holds: holdRepository(holds, runtime.outbox),
    ledgers: ledgerRepository(usage.ledgers, runtime.outbox),
    tiers: new MongoTiers(usage.ledgers),
    loyaltyConfig: MongoLoyaltyConfig.of(runtime.db),
  };
}
