import type { ServiceRuntime } from '@omnimall/service-kit';
import { channelModel, MongoChannelRepository, type ChannelRepository } from './channels';
import { decisionModel, MongoDecisionRepository, type DecisionRepository } from './decisions';
import { MongoPromotionRepository, promotionModel, type PromotionRepository } from './promotions';

export type { ChannelInfo, ChannelRepository } from './channels';
export type { DecisionRepository } from './decisions';
export type { PromotionRepository } from './promotions';

/** The promotions database, one repository per aggregate (store/<aggregate>.ts; models.ts the shared model helper). */
export interface PromotionsStore {
  promotions: PromotionRepository;
  decisions: DecisionRepository;
  channels: ChannelRepository;
}

/**
 * Builds the repositories on the runtime's database. Promotions are tracked by the outbox `exclusive`
 * (nothing writes them except through it), and indexed by their next due instant (the lifecycle worker's look).
 */
export async function createStore(runtime: Pick<ServiceRuntime, 'db' | 'outbox'>): Promise<PromotionsStore> {
  const promotions = promotionModel(runtime.db);
  const decisions = decisionModel(runtime.db);
  runtime.outbox.track(promotions, { exclusive: true });
  runtime.outbox.track(decisions);
  await Promise.all([
    promotions.collection.createIndex({ nextDue: 1 }),
    decisions.collection.createIndex({ promotionId: 1, decidedAt: -1 }),
    decisions.collection.createIndex({ channel: 1, decidedAt: -1 }),
  ]);
  return {
    promotions: new MongoPromotionRepository(promotions, runtime.outbox),
    decisions: new MongoDecisionRepository(decisions, runtime.outbox),
    channels: new MongoChannelRepository(channelModel(runtime.db)),
  };
}
