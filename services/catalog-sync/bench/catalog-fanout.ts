/**
 * Benchmark row `catalog-fanout`: one master change applied to 20 local catalogues.
 *
 * A product with one variant is assigned to 20 channels (five markets: EUR, USD, JPY, KWD and a
 * two-currency channel, so every change converts, applies tax and rounds). Then 50 sequential
 * master changes (a new net price each). Latency of a change = from sending the master write to the
 * last of its 20 local items written: the write request returns only after the last local apply, so
 * the request's round trip is that latency. `events_p99_ms` adds the trip to Kafka: until the last of
 * the 20 catalog.local-item events of the change has been consumed. Target: p99 ≤ 200 ms.
 */
import { testKafka } from '@omnimall/service-kit/testing';
import { summarise, type BenchRow, runStandalone } from '../../../bench/harness';
import { startBenchStack } from '../test/support/bench-stack';

export const rows = ['catalog-fanout'];
const CHANGES = Number(process.env.BENCH_SAMPLES ?? 50);
const CHANNELS = 20;
const BUDGET_MS = 55_000;

export async function run(): Promise<BenchRow[]> {
  const stack = await startBenchStack();
  const kafka = testKafka(); // the admin principal on the local secured Kafka
  const consumer = kafka.consumer({ groupId: `bench-fanout-${stack.tag}` });
  try {
    const codes = await stack.channels(CHANNELS);
    const seller = await stack.token({ sub: `bench-seller-${stack.tag}`, roles: ['seller'] });
    const id = `fan-${stack.tag}`;
    const product = (amountMinor: number) => ({
      defaultLocale: 'en',
      title: { en: 'Bench shoe', de: 'Bench-Schuh' },
      description: { en: 'Fan-out benchmark' },
      category: 'shoes',
      attributes: { weight: { value: 0.8, unit: 'kg' } },
      variants: [{ sku: `${id}-1`, attributes: {}, price: { amountMinor, currency: 'EUR' } }],
      restrictions: [],
    });
    const created = await stack.call('POST', '/products', { id, ...product(10000) }, seller);
    if (created.status !== 201) throw new Error(`product not created: ${JSON.stringify(created.body)}`);
    for (const c of codes) {
      const r = await stack.call('POST', `/channels/${c}/assignments`, { productId: id }, seller);
      if (r.status !== 200) throw new Error(`assignment failed: ${JSON.stringify(r.body)}`);
    }

    // Arrival of each master version's 20 local-item events.
    const arrivals = new Map<number, number[]>();
    await consumer.connect();
    await consumer.subscribe({ topics: ['catalog.local-item'], fromBeginning: false });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.key?.toString().endsWith(`:${id}-1`)) return;
        const v = (await stack.svc.runtime.schemas.decode<{ masterVersion: number }>(message.value!)).masterVersion;
        arrivals.set(v, [...(arrivals.get(v) ?? []), Date.now()]);
      },
    });
    await joined;

    const latencies: number[] = [];
    const starts = new Map<number, number>();
    const deadline = Date.now() + BUDGET_MS;
    for (let i = 0; i < CHANGES && Date.now() < deadline; i++) {
      const t0 = performance.now();
      const wall = Date.now();
      const r = await stack.call('PUT', `/products/${id}`, product(10000 + (i + 1) * 137), seller);
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`master change failed: ${JSON.stringify(r.body)}`);
      const updated = r.body.propagation.items.filter((x: { outcome: string }) => x.outcome === 'updated').length;
      if (updated !== CHANNELS) throw new Error(`change ${i} updated ${updated} of ${CHANNELS} local items`);
      starts.set(r.body.product.version, wall);
      latencies.push(ms);
    }
    const eventDeadline = Date.now() + 10_000;
    while ([...starts.keys()].some((v) => (arrivals.get(v)?.length ?? 0) < CHANNELS) && Date.now() < eventDeadline)
      await new Promise((r) => setTimeout(r, 50));
    const eventLatencies = [...starts]
      .filter(([v]) => (arrivals.get(v)?.length ?? 0) >= CHANNELS)
      .map(([v, t]) => Math.max(...arrivals.get(v)!) - t);
    const ev = summarise('events', eventLatencies);
    return [
      summarise('catalog-fanout', latencies, {
        channels: CHANNELS,
        local_items_per_change: CHANNELS,
        events_p50_ms: ev.p50_ms,
        events_p99_ms: ev.p99_ms,
        events_complete: eventLatencies.length,
        target_p99_ms: 200,
      }),
    ];
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await stack.stop();
  }
}

if (require.main === module) runStandalone(run);
