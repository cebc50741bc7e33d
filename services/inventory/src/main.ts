import { defineService, periodicWorker, type Subscription } from '@omnimall/service-kit';
import { Configuration, Recomputer } from './application/configuration';
import { StockImports } from './application/imports';
import { PartnerStock } from './application/partner-stock';
import { StockQueries } from './application/queries';
import { ReservationService } from './application/reservations';
import { StockService } from './application/stock';
import { WorldCache } from './application/world';
import { manifest } from './events';
import { localItemIn } from './events/in/catalog.local-item';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { reservationCommandIn } from './events/in/inventory.reservation-command';
import { adjustmentIn } from './events/in/inventory.stock-adjustment';
import { partnerStockHandlers } from './events/in/partner.stock-adjustment';
import { inventoryApi } from './http';
import { guards } from './http/access';
import { inventorySettings, type InventorySettings } from './settings';
import { createStore, type InventoryStore } from './store';

export interface InventoryDeps {
  /** Overrides settings read from the environment (see settings.ts). */
  settings?: Partial<InventorySettings>;
}

/** What tests and benchmarks reach through the running inventory. */
export interface InventoryExposes {
  store: InventoryStore;
  stock: StockService;
  reservations: ReservationService;
  configuration: Configuration;
  recomputer: Recomputer;
  imports: StockImports;
}

/**
 * Composition root. Consumer groups: `inventory.projections` (channels' state and master channel,
 * the catalogue's sellers), `inventory.history` (its own adjustments into the append-only history),
 * `inventory.commands` (reservation commands from orders), `inventory.partners` (drop-ship partners'
 * stock, one topic per partner: those on the broker at start; none set up, no group). Workers:
 * `hold-sweeper` (expired holds and interrupted reservations), `stock-imports` (bulk import jobs),
 * `exception-recheck` (exceptions that expired and embargoes that ended since the last look).
 */
export const inventoryService = defineService<InventoryDeps, InventoryExposes>({
  name: 'inventory',
  port: 4006,
  events: manifest,
  async build({ runtime, deps, env, auth }) {
    const settings = { ...inventorySettings(env), ...deps.settings };
    const store = await createStore(runtime);
    const worlds = new WorldCache(store.config, settings.worldCacheMs);
    const stock = new StockService(store.stock, store.config, worlds);
    const recomputer = new Recomputer(stock, runtime.logger);
    const configuration = new Configuration(store.config, worlds, recomputer);
    const reservations = new ReservationService(store.stock, store.reservations, worlds);
    const queries = new StockQueries(store.stock, store.adjustments);
    const g = guards(auth.verifier, store.config);
    const imports = new StockImports(
      store.imports,
      stock,
      (actor, sku) => g.mayWriteSku({ sub: actor.sub, roles: [...actor.roles] }, sku),
      runtime.jobs,
    );
    const partners = new PartnerStock(runtime, store.config, stock);
    const partnerTopics = await partners.partnerTopics();

    const subscriptions: Subscription[] = [
      {
        purpose: 'projections',
        handlers: {
          'channels.channel-changed': channelChangedIn(store.config, configuration),
          'catalog.local-item': localItemIn(store.config),
        },
        dedupe: 'in-document',
      },
      // The history's own document, keyed by the event id, is the effect-once mark (a replay appends nothing).
      { purpose: 'history', handlers: { 'inventory.stock-adjustment': adjustmentIn(store.adjustments) }, dedupe: 'in-document' },
      {
        purpose: 'commands',
        handlers: {
          'inventory.reservation-command': reservationCommandIn(
            reservations,
            settings.defaultHoldSeconds * 1000,
            settings.maxHoldSeconds * 1000,
          ),
        },
        dedupe: 'inbox',
      },
      // one topic per partner: the partner a record speaks for is the topic (the operation key makes it once too)
      ...(partnerTopics.length
        ? [{ purpose: 'partners', handlers: partnerStockHandlers(partnerTopics, partners), dedupe: 'inbox' as const }]
        : []),
    ];

    let lastRecheck = Date.now();
    const runImports = async (): Promise<void> => {
      while (await imports.runOne());
    };
    const importWorker = periodicWorker('stock-imports', settings.importPollMs, runImports, runtime.logger);
    return {
      api: inventoryApi(
        {
          stock,
          queries,
          configuration,
          reservations,
          imports,
          guards: g,
          kickImports: () => void runImports().catch(() => undefined),
        },
        auth,
        { defaultHoldSeconds: settings.defaultHoldSeconds, maxHoldSeconds: settings.maxHoldSeconds },
      ),
      subscriptions,
      workers: [
        periodicWorker('hold-sweeper', settings.sweepMs, () => reservations.sweep(Date.now(), settings.staleGraceMs), runtime.logger),
        importWorker,
        periodicWorker(
          'exception-recheck',
          settings.recheckMs,
          async () => {
            const now = Date.now();
            await configuration.recheck(lastRecheck, now);
            lastRecheck = now;
          },
          runtime.logger,
        ),
      ],
      beforeStop: () => recomputer.idle(),
      exposes: { store, stock, reservations, configuration, recomputer, imports },
    };
  },
});

if (require.main === module) inventoryService.run();
