/**
 * One inventory instance in its own process, for the benchmarks (the load generator and the Kafka
 * consumer timing arrivals stay off the server's event loop, and the instance's CPU can be read on
 * its own): the service as `node dist/main.js` runs it, configured by the environment the bench sets
 * (MONGO_DB, INSTANCE_ID, AUTH_PUBLIC_KEY, OMNIMALL_GROUP_SUFFIX, OMNIMALL_START_AT, KAFKA_SASL_*), on
 * an ephemeral port unless PORT says otherwise. Prints one JSON line with its URL once it is serving;
 * stops on SIGTERM or SIGINT.
 */
import { runService } from '@omnimall/service-kit';
import { inventoryService } from '../src/main';

runService('inventory', () => inventoryService.start({ env: { ...process.env, PORT: process.env.PORT ?? '0' } }), {
  onStarted: (inv) => process.stdout.write(`${JSON.stringify({ url: inv.url })}\n`),
});
