import type { Server } from 'node:http';
import {
  createHttpApp,
  loadPlatformConfig,
  ServiceRuntime,
  TokenVerifier,
  type EventConsumer,
  type PlatformConfig,
} from '@omnimall/service-kit';
import { CartService } from './cart-service';
import { mergeHandlers } from './events/merges';
import { gateCacheHandlers, projectionHandlers } from './events/projections';
import { cartApi } from './http/routes';
import { SessionHub } from './push/session-hub';
import { cartModels, type CartModels } from './store/models';
import { DEFAULT_GATE_CACHE_MS, ProjectionCache } from './store/projection-cache';

export interface CartDeps {
  /** Verifies customers' access tokens (default: AUTH_PUBLIC_KEY / AUTH_PUBLIC_KEY_FILE). */
  verifier?: TokenVerifier;
  /**
   * Prefix of the shared consumer groups (`<prefix>.projections`, `<prefix>.merge`); default `cart`.
   * Tests give each suite its own so suites with different databases do not split partitions.
   */
  groupPrefix?: string;
  /** Where the shared groups start the first time they run (default: the beginning of each topic). */
  fromBeginning?: boolean;
  /**
   * How long a gate may serve a projection after reading it from the database (ms; default
   * CART_GATE_CACHE_MS or 1000; 0 turns the gate cache off). See store/projection-cache.ts.
   */
  gateCacheMs?: number;
}

export interface CartInstance {
  runtime: ServiceRuntime;
  app: ReturnType<typeof createHttpApp>;
  server: Server;
  models: CartModels;
  hub: SessionHub;
  projections: ProjectionCache;
  /** This instance's gate-cache consumer (absent when the gate cache is off). */
  gates?: EventConsumer;
  url: string;
  stop(): Promise<void>;
}

/**
 * Composition root: the runtime (database, schemas, producer, outbox relay), the projections and
 * merge consumers shared by every instance, this instance's push consumer, and the HTTP server.
 */
export async function startCart(config: PlatformConfig, deps: CartDeps = {}): Promise<CartInstance> {
  const verifier = deps.verifier ?? (await TokenVerifier.fromEnv());
  const runtime = await ServiceRuntime.start({ config, produces: ['cart.cart-changed'] });
  try {
    const models = cartModels(runtime.db);
    runtime.outbox.track(models.Cart, { exclusive: true });
    const hub = new SessionHub(runtime.logger);
    const projections = new ProjectionCache(models, {
      ttlMs: deps.gateCacheMs ?? Number(process.env.CART_GATE_CACHE_MS ?? DEFAULT_GATE_CACHE_MS),
    });
    const carts = new CartService(models, runtime.outbox, projections);
    const app = createHttpApp({
      service: 'cart',
      logger: runtime.logger,
      metrics: runtime.metrics,
      api: cartApi(carts, hub, verifier),
      readiness: () => runtime.readiness(),
    });

    const prefix = deps.groupPrefix ?? 'cart';
    let gates: EventConsumer | undefined;
    const fromBeginning = deps.fromBeginning ?? true;
    await Promise.all([
      runtime.consume({
        group: `${prefix}.projections`,
        handlers: projectionHandlers(models, projections),
        dedupe: 'in-document',
        fromBeginning,
      }),
      // Merge handlers are idempotent on their own (mergedSources marks); the inbox saves the work of a replay.
      runtime.consume({ group: `${prefix}.merge`, handlers: mergeHandlers(runtime.outbox, models), dedupe: 'inbox', fromBeginning }),
      // Push fan-out: a group per instance, so every instance sees every change; only changes from now
      // on matter to the sessions it holds. Nothing to dedupe in the database (the hub drops stale versions).
      runtime.consume({
        group: `${prefix}.push.${config.instanceId}`,
        handlers: { 'cart.cart-changed': async (e) => void hub.deliver(e) },
        dedupe: 'in-document',
        fromBeginning: false,
        ephemeral: true,
        acknowledge: true,
      }),
      // Gate cache: a group per instance as well, so each instance sees every projection change
      // (the shared projections group gives it only some partitions). No database; its acks tell the
      // monitor when this instance started applying the change. It fetches at least every 250 ms, so
      // while it keeps up its caughtUpAt stays within about half a second of now (see projection-cache.ts).
      ...(projections.enabled
        ? [
            runtime
              .consume({
                group: `${prefix}.gates.${config.instanceId}`,
                handlers: gateCacheHandlers(projections),
                dedupe: 'in-document',
                fromBeginning: false,
                ephemeral: true,
                fetch: { minBytes: 1, maxWaitMs: 250 },
              })
              .then((consumer) => {
                gates = consumer;
                projections.caughtUpAt = () => consumer.caughtUpAt();
              }),
          ]
        : []),
    ]);

    const server = await runtime.listen(app);
    const addr = server.address();
    const url = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : String(addr);
    return {
      runtime,
      app,
      server,
      models,
      hub,
      projections,
      gates,
      url,
      stop: async () => {
        hub.closeAll();
        await runtime.stop();
      },
    };
  } catch (err) {
    await runtime.stop().catch(() => undefined);
    throw err;
  }
}

if (require.main === module) {
  const config = loadPlatformConfig('cart', 4005);
  startCart(config)
    .then((cart) => {
      const shutdown = (): void => {
        cart.runtime.logger.info('stopping');
        cart.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
