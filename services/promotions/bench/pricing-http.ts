/**
 * Benchmark row `pricing-http@200`: the quote API (POST /quotes) for a 10-line cart at 200 requests/s,
 * open loop, for BENCH_SECONDS (default 20) after 3 s of warm-up, against one promotions process on
 * loopback. The customers are channel apps' customers (a bearer token bound to the channel), so each
 * quote checks the token, reads the customer's tier (the ledger, one database read) and prices the
 * lines from the in-memory definitions: 20 live promotions on the channel (catalogue and cart level,
 * conditions on SKU, category, quantity and subtotal, every reward kind, stack / best deal / stop).
 * Also reported: the CPU per quote of the promotions process, FerretDB and this process.
 */
import { join } from 'node:path';
import { bearer, testGroups, testTokens, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { cpuMeter, drive, runStandalone, summarise, type BenchRow } from '../../../bench/harness';
import { jsonClient, spawnService } from '../../../bench/service-process';
import { Simulator, staff } from '../test/support';

export const rows = ['pricing-http@200'];

const RATE = 200;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = 3;
const CUSTOMERS = 500;
const TARGET_P99_MS = 50;
const CATEGORIES = ['kitchen', 'garden', 'toys', 'books'];

/** 20 live promotions of every kind (ids and SKUs of this run). */
function promotions(uid: string, channel: string): Record<string, unknown>[] {
  const sku = (i: number) => `Q-${uid}-${i}`;
  const base = { startsAt: Date.now() - 60_000, endsAt: null, channels: [channel] };
  const rewards = [
    { reward: { kind: 'percentage', percent: 10 } },
    { reward: { kind: 'fixed_amount', amountMinor: 150 }, allocation: { kind: 'across_lines' } },
    { reward: { kind: 'buy_x_get_y', buy: 2, get: 1, percent: 100 } },
    { reward: { kind: 'fixed_price', priceMinor: 999 }, allocation: { kind: 'each_line', maxQuantity: 2 } },
    { reward: { kind: 'free_gift', sku: `GIFT-${uid}` }, allocation: { kind: 'once' } },
  ];
  const conditions = [
    { field: 'line.sku', op: 'in', value: [sku(0), sku(1), sku(2)] },
    { field: 'line.category', op: 'eq', value: CATEGORIES[1] },
    { field: 'line.quantity', op: 'gte', value: 2 },
    { field: 'cart.subtotalMinor', op: 'gte', value: 5000 },
  ];
  // every fourth a catalogue promotion (a unit price change: percentage on each line)
  return Array.from({ length: 20 }, (_, i) => ({
    ...base,
    name: `bench ${i}`,
    level: i % 4 === 0 ? 'catalogue' : 'cart',
    priority: i,
    stacking: (['stack', 'best_deal', 'stack', 'stop'] as const)[i % 4],
    condition: conditions[i % conditions.length],
    ...(i % 4 === 0 ? { reward: { kind: 'percentage', percent: 5 }, allocation: { kind: 'each_line' } } : rewards[i % rewards.length]),
  }));
}

export async function run(): Promise<BenchRow[]> {
  const uid = uniqueName('pq').slice(3);
  const channel = `web-${uid}`;
  const [{ publicKey }, sim, admin] = await Promise.all([testTokens(), Simulator.start(), staff('bench-admin', ['admin'])]);
  const svc = await spawnService({
    service: 'promotions',
    script: join(__dirname, 'promotions-process.ts'),
    dbName: uniqueName('bench_promotions'),
    groups: testGroups(),
    publicKey,
  });
  const http = jsonClient(64);
  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    http.call(svc.url, method, path, headers, body);
  try {
    await sim.channel(channel);
    for (const p of promotions(uid, channel)) {
      const made = await call('POST', '/promotions', admin, p);
      if (made.status !== 201) throw new Error(`create: ${made.status} ${JSON.stringify(made.body)}`);
      const scheduled = await call('POST', `/promotions/${made.body.id}/schedule?startNow=true`, admin);
      if (scheduled.status !== 200) throw new Error(`schedule: ${scheduled.status} ${JSON.stringify(scheduled.body)}`);
    }
    const tokens = await Promise.all(Array.from({ length: CUSTOMERS }, (_, i) => bearer({ sub: `bench-${uid}-${i}`, channel })));
    const lines = Array.from({ length: 10 }, (_, i) => ({
      sku: `Q-${uid}-${i}`,
      quantity: 1 + (i % 3),
      unitPriceMinor: 500 + 250 * i,
      category: CATEGORIES[i % CATEGORIES.length],
    }));
    // why quotes failed: "<status> <code>" or the request error
    const failures: Record<string, number> = {};
    const quote = async (i: number): Promise<number> => {
      const t0 = performance.now();
      const r = await call('POST', '/quotes', { authorization: tokens[i % CUSTOMERS] }, { lines }).catch((err: Error) => ({
        status: 0,
        body: { code: err.message },
      }));
      if (r.status !== 200) {
        const why = `${r.status} ${String(r.body?.code)}`;
        failures[why] = (failures[why] ?? 0) + 1;
        throw new Error(why);
      }
      return performance.now() - t0;
    };
    // every promotion is in the quote cache before the load starts
    await waitFor(async () => {
      const r = await call('POST', '/quotes', admin, { channel, lines });
      return (
        r.status === 200 &&
        r.body.notApplied.length + r.body.lines.filter((l: { adjustments: unknown[] }) => l.adjustments.length).length > 0
      );
    }, 'the promotions in the quote cache');
    await drive(RATE, WARMUP_SECONDS, async (i) => void (await quote(i)));
    const meter = cpuMeter(['ferretdb'], { promotions: svc.child.pid });
    const latencies: number[] = [];
    const { achieved, errors } = await drive(RATE, SECONDS, async (i) => void latencies.push(await quote(i)));
    const row = summarise(`pricing-http@${RATE}`, latencies, { target_rate: RATE, achieved_rate: achieved });
    return [
      {
        ...row,
        errors,
        ...(errors ? { failures: JSON.stringify(failures) } : {}),
        lines: lines.length,
        promotions: 20,
        target_p99_ms: TARGET_P99_MS,
        met: errors === 0 && achieved >= RATE * 0.95 && row.p99_ms <= TARGET_P99_MS,
        ...meter.per(latencies.length + errors),
      },
    ];
  } finally {
    http.close();
    await Promise.allSettled([svc.stop(), sim.stop()]);
  }
}

if (require.main === module) runStandalone(run);
