import { defineService, TokenVerifier } from '@omnimall/service-kit';
import { createCatalog, type Catalog } from './application/catalog';
import { repropagateChannel } from './application/propagation';
import { RecoverySweep } from './application/recovery';
import { manifest } from './events';
import { channelChangedIn } from './events/in/channels.channel-changed';
import { buildApi } from './http';
import { createStore } from './store';

/**
 * Composition root of catalog-sync: the store on the `catalog` database, the use cases over it, the
 * channel projection (group `catalog-sync.channels`), the recovery worker and the HTTP API.
 */
export interface CatalogSyncDeps {
  /** Default: from AUTH_PUBLIC_KEY / AUTH_PUBLIC_KEY_FILE. */
  verifier?: TokenVerifier;
  /** Recovery sweep grace (ms) before an intent counts as interrupted (default 5 s). */
  recoveryGraceMs?: number;
}

/** What tests and benchmarks reach through the running service. */
export interface CatalogSyncExposes {
  catalog: Catalog;
  recovery: RecoverySweep;
}

export const catalogSyncService = defineService<CatalogSyncDeps, CatalogSyncExposes>({
  name: 'catalog-sync',
  port: 4003,
  dbName: 'catalog',
  events: manifest,
  async build({ runtime, deps }) {
    const verifier = deps.verifier ?? (await TokenVerifier.fromEnv());
    const catalog = createCatalog(runtime, await createStore(runtime));
    const recovery = new RecoverySweep(catalog, runtime.logger, deps.recoveryGraceMs);
    return {
      api: buildApi(catalog, verifier),
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
      ],
      workers: [{ name: 'recovery', start: () => recovery.start(), stop: () => recovery.stop() }],
      exposes: { catalog, recovery },
    };
  },
});

if (require.main === module) catalogSyncService.run();
