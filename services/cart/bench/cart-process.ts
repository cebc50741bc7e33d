/**
 * One cart instance in its own process, for the benchmarks (so the load generator does not share
 * the server's event loop): the service as `node dist/main.js` runs it, configured by the
 * environment the bench sets (MONGO_DB, INSTANCE_ID, AUTH_PUBLIC_KEY, OMNIMALL_GROUP_SUFFIX,
 * OMNIMALL_START_AT), on an ephemeral port and logging errors only unless PORT / LOG_LEVEL say
 * otherwise. Prints one JSON line with its URL once it is serving; stops on SIGTERM or SIGINT.
 */
import { runService } from '@omnimall/service-kit';
import { cartService } from '../src/main';

const env = { ...process.env, PORT: process.env.PORT ?? '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' };
runService('cart', () => cartService.start({ env }), {
  onStarted: (cart) => process.stdout.write(`${JSON.stringify({ url: cart.url, instanceId: cart.config.instanceId })}\n`),
});
