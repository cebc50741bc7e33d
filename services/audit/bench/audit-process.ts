/**
 * One audit instance in its own process, for the benchmarks (bench/service-process.ts spawns it): the
 * service configured by the environment the bench sets, on an ephemeral port unless PORT says
 * otherwise, reading only the topics of BENCH_AUDIT_TOPICS (comma-separated; others share the broker).
 * Prints one JSON line with its URL once it is serving.
 */
import { runService } from '@omnimall/service-kit';
import { auditService } from '../src/main';

const only = new Set((process.env.BENCH_AUDIT_TOPICS ?? '').split(',').filter(Boolean));

runService(
  'audit',
  () =>
    auditService.start({ env: { ...process.env, PORT: process.env.PORT ?? '0' }, deps: only.size ? { topics: (t) => only.has(t) } : {} }),
  { onStarted: (svc) => process.stdout.write(`${JSON.stringify({ url: svc.url })}\n`) },
);
