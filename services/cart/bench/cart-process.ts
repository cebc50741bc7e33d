/**
 * One cart instance in its own process, for the benchmarks (so the load generator does not share
 * the server's event loop). Configured by the environment the bench sets: MONGO_DB, INSTANCE_ID,
 * AUTH_PUBLIC_KEY, CART_GROUP_PREFIX. Prints one JSON line with its URL once it is serving.
 */
import { loadPlatformConfig, TokenVerifier } from '@omnimall/service-kit';
import { startCart } from '../src/main';

async function main(): Promise<void> {
  const config = loadPlatformConfig('cart', 0, { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
  const cart = await startCart(config, {
    verifier: await TokenVerifier.fromEnv(),
    groupPrefix: process.env.CART_GROUP_PREFIX,
    fromBeginning: false,
  });
  process.stdout.write(`${JSON.stringify({ url: cart.url, instanceId: config.instanceId })}\n`);
  const stop = (): void => void cart.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
