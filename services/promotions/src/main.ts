import { defineService, periodicWorker, type Subscription } from '@omnimall/service-kit';
import { BudgetReconciler } from './application/budgets';
import { PublishedCache } from './application/cache';
import { CampaignService } from './application/campaigns';
import { CodeService } from './application/codes';
import { DefinitionService } from './application/definitions';
import { LoyaltyService } from './application/loyalty';
import { OverrideService } from './application/overrides';
import { CachedTiers, QuoteService } from './application/quotes';
import { HoldService } from './application/usage';
import { manifest } from './events';
import { readinessIn } from './events/in/cart.promotion-readiness';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { orderStatusIn } from './events/in/orders.order-status';
import { overrideDecisionIn } from './events/in/promotions.override-decision';
import { usageCommandIn } from './events/in/promotions.usage-command';
import { promotionsApi } from './http';
import { guards } from './http/access';
import { promotionsSettings, type PromotionsSettings } from './settings';
import { createStore, type PromotionsStore } from './store';

export interface PromotionsDeps {
  /** Overrides settings read from the environment (see settings.ts). */
  settings?: Partial<PromotionsSettings>;
}

/** What tests and benchmarks reach through the running promotions service. */
export interface PromotionsExposes {
  store: PromotionsStore;
  settings: PromotionsSettings;
  definitions: DefinitionService;
  overrides: OverrideService;
  quotes: QuoteService;
  cache: PublishedCache;
  codes: CodeService;
  campaigns: CampaignService;
  holds: HoldService;
  loyalty: LoyaltyService;
  budgets: BudgetReconciler;
}

/**
 * Composition root. Consumer groups: `promotions.projections` (the channels projection: the targets of
 * a promotion for every channel), `promotions.readiness` (cart's per-channel readiness of each
 * definition version), `promotions.evidence` (its own override decisions into their evidence documents), `promotions.usage` (orders' usage commands, answered on promotions.usage),
 * `promotions.loyalty` (orders' statuses: earn on paid, give back on cancelled or returned). Workers:
 * `lifecycle` (starts, ends and lapsed overrides, from the due instants in the database), `quote-cache`
 * (the scheduled and live definitions re-read for quotes), `hold-sweeper` (expired usage holds),
 * `loyalty` (expired lots and point holds, tier reviews), `budget-reconcile` (the promotions' `exhausted`
 * made to follow their campaign's, whatever a crash lost of the budget callback).
 */
export const promotionsService = defineService<PromotionsDeps, PromotionsExposes>({
  name: 'promotions',
  port: 4007,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const settings = { ...promotionsSettings(env), ...deps.settings };
    const store = await createStore(runtime);
    const g = guards(auth.verifier);
    const cache = new PublishedCache(store.promotions, store.channels);
    await cache.refresh();
    const definitions = new DefinitionService(store, cache, { leadMs: settings.leadMs });
    const overrides = new OverrideService(store, definitions);
    const holds = new HoldService(
      store.codes,
      store.campaigns,
      store.ledgers,
      store.holds,
      { graceMs: settings.holdGraceMs, pointsTtlMs: settings.pointsTtlDays * 86_400_000 },
      (campaignId, exhausted) => definitions.setExhausted(campaignId, exhausted),
    );
    const budgets = new BudgetReconciler(store.campaigns, store.promotions, definitions, { slackMs: 60_000, limit: 500 });
    const loyalty = new LoyaltyService(store.ledgers, store.loyaltyConfig, holds, settings, runtime.logger);
    const codes = new CodeService(store.codes, async (id) => (await store.promotions.get(id)) !== null);
    const campaigns = new CampaignService(store.campaigns);
    const quotes = new QuoteService(cache, store.codes, new CachedTiers(store.tiers, settings.tierCacheMs));

    const subscriptions: Subscription[] = [
      { purpose: 'projections', handlers: { 'channels.channel-changed': channelChangedIn(store.channels) }, dedupe: 'in-document' },
      // readiness is a state per channel and version: applying a report twice changes nothing
      { purpose: 'readiness', handlers: { 'cart.promotion-readiness': readinessIn(definitions) }, dedupe: 'inbox' },
      // the evidence of every override decision, from its event (the document, keyed by decision id, is written once)
      { purpose: 'evidence', handlers: { 'promotions.override-decision': overrideDecisionIn(store.decisions) }, dedupe: 'inbox' },
      {
        purpose: 'usage',
        handlers: {
          'promotions.usage-command': usageCommandIn(holds, settings.defaultHoldSeconds * 1000, settings.maxHoldSeconds * 1000),
        },
        dedupe: 'inbox',
      },
      // the ledger keeps the orders it earned on: a replay past the inbox earns nothing more
      { purpose: 'loyalty', handlers: { 'orders.order-status': orderStatusIn(loyalty) }, dedupe: 'inbox' },
    ];
    return {
      api: promotionsApi(
        {
          guards: g,
          definitions,
          overrides,
          quotes,
          codes,
          campaigns,
          holds,
          loyalty,
          holdLimits: { defaultHoldSeconds: settings.defaultHoldSeconds, maxHoldSeconds: settings.maxHoldSeconds },
        },
        auth,
      ),
      subscriptions,
      workers: [
        periodicWorker('lifecycle', settings.lifecycleMs, () => definitions.tick(Date.now()), runtime.logger),
        periodicWorker('quote-cache', settings.cacheMs, () => cache.refresh(), runtime.logger),
        periodicWorker('hold-sweeper', settings.holdSweepMs, () => holds.sweep(Date.now()), runtime.logger),
        periodicWorker('loyalty', settings.loyaltyMs, () => loyalty.tick(Date.now()), runtime.logger),
        periodicWorker('budget-reconcile', settings.budgetReconcileMs, () => budgets.tick(Date.now()), runtime.logger),
      ],
      exposes: { store, settings, definitions, overrides, quotes, cache, codes, campaigns, holds, loyalty, budgets },
    };
  },
});

if (require.main === module) promotionsService.run();
