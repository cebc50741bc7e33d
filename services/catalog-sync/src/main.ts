import type { Server } from 'node:http';
import type { Express } from 'express';
import { createHttpApp, loadPlatformConfig, ServiceRuntime, TokenVerifier, type PlatformConfig } from '@omnimall/service-kit';
import { catalogModels } from './store/models';
import { CatalogContext } from './application/context';
import { RecoverySweep } from './application/recovery';
import { buildApi } from './http/routes';
import { channelChangedHandler } from './events/channel-changed';
import { PRODUCED_TOPICS } from './events/outgoing';

/** Composition root: runtime (db, registry, producer, outbox), the channel projection consumer, recovery, HTTP. */
export interface CatalogSyncDeps {
  verifier?: TokenVerifier;
  /** Recovery sweep grace (ms) before an intent counts as interrupted. */
  recoveryGraceMs?: number;
  /** Consumer group of the channel projection (tests give each instance its own). */
  channelsGroup?: string;
  /** A new channel-projection group reads the channel topic from its beginning (default); tests start at its end. */
  channelsFromBeginning?: boolean;
}

export interface CatalogSync {
  runtime: ServiceRuntime;
  ctx: CatalogContext;
  app: Express;
  server: Server;
  recovery: RecoverySweep;
  stop(): Promise<void>;
}

export async function startCatalogSync(config: PlatformConfig, deps: CatalogSyncDeps = {}): Promise<CatalogSync> {
  const verifier = deps.verifier ?? (await TokenVerifier.fromEnv());
  const runtime = await ServiceRuntime.start({ config, produces: [...PRODUCED_TOPICS] });
  try {
    const models = catalogModels(runtime.db);
    runtime.outbox.track(models.Journal);
    await Promise.all(Object.values(models).map((m) => m.createCollection().catch(() => undefined)));
    const ctx = new CatalogContext(runtime, models);
    await runtime.consume({
      group: deps.channelsGroup ?? 'catalog-sync.channels',
      dedupe: 'in-document',
      fromBeginning: deps.channelsFromBeginning ?? true,
      handlers: { 'channels.channel-changed': channelChangedHandler(ctx) },
    });
    const recovery = new RecoverySweep(ctx, runtime.logger, deps.recoveryGraceMs);
    recovery.start();
    const app = createHttpApp({
      service: config.service,
      logger: runtime.logger,
      metrics: runtime.metrics,
      api: buildApi(ctx, verifier),
      readiness: () => runtime.readiness(),
    });
    const server = await runtime.listen(app);
    return {
      runtime,
      ctx,
      app,
      server,
      recovery,
      stop: async () => {
        await recovery.stop();
        await runtime.stop();
      },
    };
  } catch (err) {
    await runtime.stop();
    throw err;
  }
}

if (require.main === module) {
  const config = loadPlatformConfig('catalog-sync', 4003, process.env, { dbName: process.env.MONGO_DB ?? 'catalog' });
  startCatalogSync(config)
    .then((svc) => {
      const shutdown = (): void => {
        svc.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    })
    .catch((err) => {
      console.error(`catalog-sync failed to start: ${String(err)}`);
      process.exit(1);
    });
}
