import { defineService } from '@omnimall/service-kit';
import { BulkJobWorker } from './application/bulk-jobs';
import { createCatalog, type Catalog } from './application/catalog';
import { backfillClaims } from './application/claims';
import { repropagateChannel } from './application/propagation';
import { RecoverySweep } from './application/recovery';
import { manifest } from './events';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { dataRequestIn } from './events/in/identity.data-request';
import { stockLevelIn } from './events/in/inventory.stock-level';
import { buildApi } from './http';
import { createStore } from './store';

/**
 * Composition root of catalog-sync: the store on the `catalog` database, the use cases over it, the
 * channel projection (group `catalog-sync.channels`), the stock levels its items show (group
 * `catalog-sync.stock-levels`), data requests (group `catalog-sync.data-requests`,
 * acknowledged: no customer data is held here), the recovery and bulk-job workers and the HTTP
 * API. Products stored before SKU claims existed are claimed before the API serves (once per database).
 */
export interface CatalogSyncDeps {
  /** Recovery sweep grace (ms) before an intent counts as interrupted (default 5 s). */
  recoveryGraceMs?: number;
  /** Channel × product pairs a bulk job runs per slice (progress is written after each; default 5,000). */
  bulkSlicePairs?: number;
}

/** What tests and benchmarks reach through the running service. */
export interface CatalogSyncExposes {
  catalog: Catalog;
  recovery: RecoverySweep;
  jobs: BulkJobWorker;
}

export const catalogSyncService = defineService<CatalogSyncDeps, CatalogSyncExposes>({
  name: 'catalog-sync',
  port: 4003,
  dbName: 'catalog',
  events: manifest,
  async build({ runtime, deps, auth }) {
    const catalog = createCatalog(runtime, await createStore(runtime));
    await backfillClaims(catalog, runtime.logger);
    const recovery = new RecoverySweep(catalog, runtime.logger, deps.recoveryGraceMs);
    const jobs = new BulkJobWorker(catalog, runtime.logger, { slicePairs: deps.bulkSlicePairs, progress: runtime.jobs });
    return {
      api: buildApi(catalog, auth.verifier, jobs),
      subscriptions: [
        {
          purpose: 'channels',
          dedupe: 'in-document',
          handlers: {
            'channels.channel-changed': channelChangedIn({
              channels: catalog.channels,
              repropagate: (code) => repropagateChannel(catalog, code),
            }),
          },
        },
        { purpose: 'stock-levels', dedupe: 'in-document', handlers: { 'inventory.stock-level': stockLevelIn(catalog.stock) } },
        // Erasures and exports: nothing here concerns a customer (events/in/identity.data-request.ts).
        { purpose: 'data-requests', dedupe: 'inbox', handlers: { 'identity.data-request': dataRequestIn() } },
      ],
      workers: [
        { name: 'recovery', start: () => recovery.start(), stop: () => recovery.stop() },
        { name: 'bulk-jobs', start: () => jobs.start(), stop: () => jobs.stop() },
      ],
      exposes: { catalog, recovery, jobs },
    };
  },
});

if (require.main === module) catalogSyncService.run();
