/**
 * Benchmark row `catalog-bulk-sync`: 10,000 master products synced into 5 channels (50,000 local
 * items) through POST /bulk-sync, in jobs of 1,000 products each, one after the other: each is
 * submitted (202) and its job polled (GET /bulk-sync/jobs/{id}, every 20 ms) until it succeeded. The
 * products are seeded first with insertMany (`seed_s`, not part of the row's time; they claim their
 * SKUs on first use, in the job). `total_s` is the wall time of the jobs: SKUs claimed, assignments
 * and local items written (insertMany in chunks of 500 products), evidence recorded, and every
 * catalog.local-item and evidence event acknowledged by Kafka before the job's slice counts as done.
 * Target: total_s ≤ 60.
 * Bounded: after BENCH_BUDGET_S (default 120 s) no further request starts; the row then reports
 * `completed_products` < `products`, `complete: false`, and `projected_total_s` at the measured rate.
 * BENCH_PRODUCTS=<n> runs a smaller row (its name says how many).
 */
import { summarise, type BenchRow, runStandalone } from '../../../bench/harness';
import { startBenchStack, type BenchStack } from '../test/support/bench-stack';
import { benchProduct } from './bench-products';

export const rows = ['catalog-bulk-sync'];
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 10_000);
const CHANNELS = 5;
const SLICE = 1000;
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 120);

export async function run(): Promise<BenchRow[]> {
  const stack = await startBenchStack();
  try {
    const codes = await stack.channels(CHANNELS);
    const sellerId = `bench-seller-${stack.tag}`;
    const seller = await stack.token({ sub: sellerId, roles: ['seller'] });
    const ids = Array.from({ length: PRODUCTS }, (_, i) => `bulk-${stack.tag}-${i}`);
    const seedStart = performance.now();
    const now = new Date();
    for (let i = 0; i < ids.length; i += 1000) {
      await stack.svc.catalog.products.createMany(ids.slice(i, i + 1000).map((id, j) => benchProduct(id, sellerId, i + j, now)));
    }
    const seedS = (performance.now() - seedStart) / 1000;
    const t0 = performance.now();
    const slices: number[] = [];
    let listed = 0;
    let done = 0;
    let lockedPath = 0;
    let failed = 0;
    for (let i = 0; i < ids.length; i += SLICE) {
      if (performance.now() - t0 > BUDGET_S * 1000) break;
      const s0 = performance.now();
      const job = await syncJob(stack, seller, codes, ids.slice(i, i + SLICE));
      slices.push(performance.now() - s0);
      listed += job.listed;
      lockedPath += job.lockedPath;
      failed += job.failedCount;
      done += Math.min(SLICE, ids.length - i);
    }
    const ms = performance.now() - t0;
    const name = PRODUCTS === 10_000 ? 'catalog-bulk-sync' : `catalog-bulk-sync@${PRODUCTS}`;
    const round2 = (x: number): number => Math.round(x * 100) / 100;
    return [
      summarise(name, slices, {
        total_s: round2(ms / 1000),
        target_s: 60,
        complete: done === PRODUCTS,
        products: PRODUCTS,
        completed_products: done,
        projected_total_s: round2((ms / 1000) * (PRODUCTS / Math.max(done, 1))),
        channels: CHANNELS,
        local_items: listed,
        items_per_s: Math.round(listed / (ms / 1000)),
        slice_products: SLICE,
        seed_s: round2(seedS),
        locked_path: lockedPath,
        failed,
      }),
    ];
  } finally {
    await stack.stop();
  }
}

interface JobView {
  id: string;
  state: string;
  listed: number;
  lockedPath: number;
  failedCount: number;
  error: unknown;
}

/** Submits one bulk sync job and waits for it to finish; throws unless it succeeded. */
async function syncJob(stack: BenchStack, seller: string, channels: string[], productIds: string[]): Promise<JobView> {
  const res = await stack.call('POST', '/bulk-sync', { channels, productIds }, seller);
  if (res.status !== 202) throw new Error(`bulk sync refused: ${JSON.stringify(res.body).slice(0, 500)}`);
  const location = res.headers.get('location');
  for (;;) {
    const job = (await stack.call('GET', location ?? `/bulk-sync/jobs/${res.body.id}`, undefined, seller)).body as JobView;
    if (job.state === 'succeeded') return job;
    if (job.state === 'failed') throw new Error(`bulk sync job failed: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

if (require.main === module) runStandalone(run);
