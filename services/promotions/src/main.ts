import { defineService, type Subscription } from '@omnimall/service-kit';
import { manifest } from './events';
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
}

/** Composition root. */
export const promotionsService = defineService<PromotionsDeps, PromotionsExposes>({
  name: 'promotions',
  port: 4007,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const settings = { ...promotionsSettings(env), ...deps.settings };
    const store = await createStore(runtime);
    const g = guards(auth.verifier);
    const subscriptions: Subscription[] = [];
    return {
      api: promotionsApi({ guards: g }, auth),
      subscriptions,
      workers: [],
      exposes: { store, settings },
    };
  },
});

if (require.main === module) promotionsService.run();
