/**
 * What the crash tests on a Kafka of their own share: the broker (support/throwaway-kafka.ts; with
 * `proxy`, one that advertises the proxy's port so every service's broker traffic crosses it), every service but the audit on it, an observer of acks and of `topics` reading the broker directly, and the cart world.
 * `stop()` takes it all down in order (the proxy's held replies released first) and is safe after a
 * partial start.
 */
import { AckLog } from './acks';
import { cartWorld, type CartWorld } from './cart-fixture';
import { Omnimall } from './omnimall';
import { startStack, type Stack } from './stack';
import type { TcpProxy } from '@omnimall/service-kit/testing';
import { ThrowawayKafka } from './throwaway-kafka';

export interface CrashStack {
  kafka: ThrowawayKafka;
  stack: Stack;
  api: Omnimall;
  log: AckLog;
  world: CartWorld;
}

export async function startCrashStack(
  topics: string[],
  into: Partial<CrashStack>,
  proxy?: { proxy: TcpProxy; target: { port: number } },
): Promise<CrashStack> {
  if (proxy) await proxy.proxy.open();
  into.kafka = await ThrowawayKafka.create(proxy ? { advertisedPort: proxy.proxy.listenPort, onPort: (p) => (proxy.target.port = p) } : {});
  // The audit, which nothing waits for, is left out: its catch-up of every topic after the broker's restart
  // would take the two shared cores from the consumers whose 2 s recovery these tests measure.
  into.stack = await startStack({ env: into.kafka.env(), without: ['audit'] });
  into.api = new Omnimall(into.stack);
  into.log = await new AckLog(into.kafka.client(), topics).start();
  into.world = await cartWorld(into.api, into.stack);
  return into as CrashStack;
}

export async function stopCrashStack(s: Partial<CrashStack>, proxy?: TcpProxy): Promise<void> {
  proxy?.releaseReplies();
  await s.log?.stop();
  await s.stack?.stop();
  await s.kafka?.destroy();
  await proxy?.close();
}
