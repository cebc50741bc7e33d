import { defineService, periodicWorker, type Subscription } from '@omnimall/service-kit';
import { PublishedCache } from './application/cache';
import { DefinitionService } from './application/definitions';
import { OverrideService } from './application/overrides';
import { QuoteService } from './application/quotes';
import { manifest } from './events';
import { readinessIn } from './events/in/cart.promotion-readiness';
import { channelChangedIn } from './events/in/channels.channel-changed';
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
}

/**
 * Composition root. Consumer groups: `promotions.projections` (the channels projection: the targets of
 * a promotion for every channel), `promotions.readiness` (cart's per-channel readiness of each
 * definition version). Workers: `lifecycle` (starts, ends and lapsed overrides, from the due instants
 * in the database), `quote-cache` (the scheduled and live definitions re-read for quotes).
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
    const quotes = new QuoteService(cache);

    const subscriptions: Subscription[] = [
      { purpose: 'projections', handlers: { 'channels.channel-changed': channelChangedIn(store.channels) }, dedupe: 'in-document' },
      // readiness is a state per channel and version: applying a report twice changes nothing
      { purpose: 'readiness', handlers: { 'cart.promotion-readiness': readinessIn(definitions) }, dedupe: 'inbox' },
    ];
    return {
      api: promotionsApi({ guards: g, definitions, overrides, quotes }, auth),
      subscriptions,
      workers: [
        periodicWorker('lifecycle', settings.lifecycleMs, () => definitions.tick(Date.now()), runtime.logger),
        periodicWorker('quote-cache', settings.cacheMs, () => cache.refresh(), runtime.logger),
      ],
      exposes: { store, settings, definitions, overrides, quotes, cache },
    };
  },
});

if (require.main === module) promotionsService.run();
