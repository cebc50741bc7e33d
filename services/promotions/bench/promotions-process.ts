/**
 * One promotions instance in its own process, for the benchmarks (bench/service-process.ts spawns it):
 * the service as `node dist/main.js` runs it, configured by the environment the bench sets, on an
 * ephemeral port unless PORT says otherwise. Prints one JSON line with its URL once it is serving.
 */
import { runService } from '@omnimall/service-kit';
import { promotionsService } from '../src/main';

runService('promotions', () => promotionsService.start({ env: { ...process.env, PORT: process.env.PORT ?? '0' } }), {
  onStarted: (svc) => process.stdout.write(`${JSON.stringify({ url: svc.url })}\n`),
});
