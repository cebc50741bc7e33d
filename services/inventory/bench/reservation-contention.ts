/**
 * Benchmark row `reservation-contention`: the reservations per second two inventory instances
 * sharing one database answer with p99 ≤ 50 ms while channel apps race for the same scarce units,
 * and proof that no unit was held twice (`oversold` must be 0).
 *
 * Two inventory processes on one database; a master channel selling from two warehouses and three
 * dependent channels on its pool; 20 hot SKUs. Customers logged in on the four channels reserve
 * through their channel app (a customer token bound to the channel), requests alternating between the
 * two instances: three in four reserve one unit of one SKU, one in four a unit each of two SKUs (held
 * in a fixed order, all or none). Open loop (bench/harness.ts drive) at increasing rates, STEP_SECONDS
 * each, until a request fails or a step's p99 passes 100 ms (twice the target: saturated). Each
 * step's stock is 90% of what it will ask for, so its last requests are refused (409
 * insufficient_stock, answered and counted like the holds). After each step, from every SKU's stock
 * document: oversold = Σ max(0, Σ held units − Σ on hand); each location's `reserved` against the
 * sum of the holds placed there (`reserved_mismatches`, also after the release); the units the 201
 * answers accepted that no hold carries (`units_missing`). Then the step's reservations are released
 * and, at the next step, the stock refilled (neither measured); `stray_units` are the units still
 * held after the last release by reservations that were refused or released (a hold left behind).
 * `achieved_rate` is the highest step's achieved rate whose p99 ≤ 50 ms, with that step's percentiles
 * and CPU per reservation (`inventory_a_`/`inventory_b_cpu_us_per_op`, FerretDB, Kafka, `client`).
 */
import { bearer, uniqueName } from '@omnimall/service-kit/testing';
import { benchSeconds, cpuMeter, drive, runStandalone, summarise, type BenchRow } from '../../../bench/harness';
import { benchWorld, masterWithDependents, spawnInventory, type InventoryProcess } from './harness';

export const rows = ['reservation-contention'];

const RATES = (process.env.INVENTORY_BENCH_RATES ?? '10,20,30,40,50,60,80,100,130,160,200').split(',').map(Number);
const STEP_SECONDS = benchSeconds(15);
const WARMUP = { rate: 10, seconds: 5 };
const TARGET_P99_MS = 50;
const SKUS = 20;
const CUSTOMERS_PER_CHANNEL = 100;
/** Share of a step's demand its stock covers: the rest is refused near the step's end. */
const SUPPLY = 0.9;

interface Step {
  rate: number;
  achieved: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  held: number;
  refused: number;
  errors: number;
  oversold: number;
  reserved_mismatches: number;
  /** Units the 201 answers accepted that no hold carries. */
  units_missing: number;
  /** Units still held, after the step's release, by reservations refused or released (so far in the run). */
  stray_units: number;
  cpu: Record<string, number | null>;
}

/** The lines of request `i`: one unit of one SKU, or (one in four) one unit each of two. */
const linesOf = (skus: string[], i: number): { sku: string; quantity: number }[] => {
  const a = (i * 7919) % SKUS;
  return i % 4 === 3 ? [a, (a + 1 + (i % (SKUS - 1))) % SKUS].map((k) => ({ sku: skus[k], quantity: 1 })) : [{ sku: skus[a], quantity: 1 }];
};

export async function run(): Promise<BenchRow[]> {
  const started = Date.now();
  const world = await benchWorld();
  const tag = uniqueName('r').slice(2);
  const skus = Array.from({ length: SKUS }, (_, k) => `HOT${k}-${tag}`);
  const instances: InventoryProcess[] = [];
  try {
    instances.push(...(await Promise.all([spawnInventory(world), spawnInventory(world)])));
    const [a, b] = instances;
    const { master, dependents, locations } = await masterWithDependents(world, a.url, tag, 3);
    const channels = [master, ...dependents];
    const customers = await Promise.all(
      channels.flatMap((channel) =>
        Array.from({ length: CUSTOMERS_PER_CHANNEL }, async (_, i) => ({
          channel,
          authorization: await bearer({ sub: `bench-${tag}-${channel}-${i}`, channel }),
        })),
      ),
    );
    let opN = 0;
    /** Each SKU's availability set to `unitsPerSku` (on hand = reserved + its share, half a warehouse). */
    const refill = async (unitsPerSku: number): Promise<void> => {
      for (const sku of skus) {
        const levels = ((await world.call(a.url, 'GET', `/stock/${sku}`, world.admin)).body as StockView | null)?.levels ?? {};
        const first = Math.ceil(unitsPerSku / 2);
        for (const [location, units] of [
          [locations[0], first],
          [locations[1], unitsPerSku - first],
        ] as const) {
          const quantity = (levels[location]?.reserved ?? 0) + units;
          const r = await world.call(
            a.url,
            'POST',
            `/stock/${sku}/operations`,
            { ...world.admin, 'idempotency-key': `${tag}-op-${++opN}` },
            { kind: 'set', location, bucket: 'onHand', quantity, reason: 'bench refill' },
          );
          if (r.status !== 200) throw new Error(`refill ${sku}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
    };

    /** One open-loop step: its latencies, answers, the ids it holds and the units the 201s accepted. */
    const step = async (name: string, rate: number, seconds: number) => {
      const latencies: number[] = [];
      const held: string[] = [];
      let units = 0;
      let refused = 0;
      const meter = cpuMeter(['ferretdb', 'kafka'], { inventory_a: a.child.pid, inventory_b: b.child.pid });
      const { achieved, errors } = await drive(rate, seconds, async (i) => {
        const c = customers[(i * 31) % customers.length];
        const lines = linesOf(skus, i);
        const t0 = performance.now();
        const r = await world.call(
          ((i + (i >> 2)) % 2 ? b : a).url, // alternating, two-line requests included
          'POST',
          '/reservations',
          { authorization: c.authorization, 'x-channel-code': c.channel, 'idempotency-key': `${name}-${i}` },
          { lines },
        );
        if (r.status === 201) {
          held.push(r.body.id as string);
          units += lines.length;
        } else if (r.status === 409 && r.body?.code === 'insufficient_stock') refused++;
        else throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
        latencies.push(performance.now() - t0);
      });
      return { latencies, achieved, errors, held, units, refused, cpu: meter.per(latencies.length + errors) };
    };

    /**
     * What the stock documents say: oversold units, locations whose reserved ≠ the sum of their holds,
     * and the units held by reservations other than `active` (refused or released ones).
     */
    const audit = async (active: ReadonlySet<string>) => {
      let oversold = 0;
      let mismatches = 0;
      let stray = 0;
      let activeUnits = 0;
      for (const sku of skus) {
        const r = await world.call(a.url, 'GET', `/stock/${sku}`, world.admin);
        if (r.status !== 200) throw new Error(`GET /stock/${sku}: ${r.status}`);
        const s = r.body as StockView;
        const holds = Object.values(s.holds);
        const onHand = Object.values(s.levels).reduce((n, l) => n + l.onHand, 0);
        oversold += Math.max(0, holds.reduce((n, h) => n + h.quantity, 0) - onHand);
        for (const h of holds)
          if (active.has(h.reservationId)) activeUnits += h.quantity;
          else stray += h.quantity;
        for (const [location, level] of Object.entries(s.levels))
          if (holds.reduce((n, h) => n + (h.byLocation[location] ?? 0), 0) !== level.reserved) mismatches++;
      }
      return { oversold, mismatches, stray, activeUnits };
    };

    const release = async (ids: string[]): Promise<void> => {
      const queue = [...ids];
      await Promise.all(
        Array.from({ length: 16 }, async (_, lane) => {
          for (let id = queue.shift(); id; id = queue.shift()) {
            const r = await world.call(instances[lane % 2].url, 'POST', `/reservations/${id}/release`, world.admin);
            if (r.status !== 200) throw new Error(`release ${id}: ${r.status} ${JSON.stringify(r.body)}`);
          }
        }),
      );
    };

    const demand = (rate: number, seconds: number): number => Math.floor((SUPPLY * rate * seconds * 1.25) / SKUS);
    await refill(demand(WARMUP.rate, WARMUP.seconds));
    await release((await step(`${tag}-warm`, WARMUP.rate, WARMUP.seconds)).held);

    const steps: Step[] = [];
    for (const rate of RATES) {
      await refill(demand(rate, STEP_SECONDS));
      const s = await step(`${tag}-${rate}`, rate, STEP_SECONDS);
      const check = await audit(new Set(s.held));
      await release(s.held);
      const after = await audit(new Set());
      const p = summarise('step', s.latencies);
      steps.push({
        rate,
        achieved: s.achieved,
        p50_ms: p.p50_ms,
        p95_ms: p.p95_ms,
        p99_ms: p.p99_ms,
        held: s.held.length,
        refused: s.refused,
        errors: s.errors,
        oversold: check.oversold,
        reserved_mismatches: check.mismatches + after.mismatches,
        units_missing: s.units - check.activeUnits,
        stray_units: after.stray,
        cpu: s.cpu,
      });
      // A step a little over the target may be noise (a few hundred samples): the search goes on up to saturation.
      if (s.errors || p.p99_ms > 2 * TARGET_P99_MS) break;
    }

    const passed = steps.filter((s) => !s.errors && s.p99_ms <= TARGET_P99_MS);
    const best = passed[passed.length - 1] ?? steps[0];
    return [
      {
        name: 'reservation-contention',
        target_rate: best.rate,
        achieved_rate: passed.length ? best.achieved : 0,
        p50_ms: best.p50_ms,
        p95_ms: best.p95_ms,
        p99_ms: best.p99_ms,
        samples: best.held + best.refused,
        oversold: steps.reduce((n, s) => n + s.oversold, 0),
        reserved_mismatches: steps.reduce((n, s) => n + s.reserved_mismatches, 0),
        units_missing: steps.reduce((n, s) => n + Math.abs(s.units_missing), 0),
        stray_units: steps[steps.length - 1].stray_units,
        held: best.held,
        refused: best.refused,
        errors: best.errors,
        instances: 2,
        skus: SKUS,
        channels: channels.length,
        step_s: STEP_SECONDS,
        target_p99_ms: TARGET_P99_MS,
        steps: steps.map(({ cpu, ...s }) => s), // eslint-disable-line @typescript-eslint/no-unused-vars
        duration_s: Math.round((Date.now() - started) / 100) / 10,
        ...best.cpu,
      },
    ];
  } finally {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await world.close();
  }
}

/** The parts of GET /stock/{sku} the audit reads. */
interface StockView {
  levels: Record<string, { onHand: number; reserved: number }>;
  holds: Record<string, { reservationId: string; quantity: number; byLocation: Record<string, number> }>;
}

if (require.main === module) runStandalone(run);
