/**
 * cart-cross-channel-push: two cart instances (child processes, one database). Each of 200
 * customers holds an SSE session on instance B (mobile app channel); writes are made on the web
 * channel through instance A at 100 writes/s for 20 s. A sample is the time from sending the write
 * to A until B's session received the change (it can only get there through Kafka).
 * Target: p99 <= 100 ms. Also reported: the push leg alone (event occurredAt, stamped under the
 * cart write just before commit, to receipt on B). CPU per write over the measured part:
 * `cart_a_`/`cart_b_cpu_us_per_op` (the writing and the pushing instance), FerretDB's, Kafka's and
 * this process's (`client`).
 */
import { Agent, request } from 'node:http';
import { bearer, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { SseClient } from '../test/support';
import { benchWorld, openLoop, percentiles, spawnCart, type BenchRow } from './harness';
import { cpuMeter, runStandalone } from '../../../bench/harness';

const RATE = Number(process.env.CART_BENCH_RATE ?? 100);
const SECONDS = Number(process.env.CART_BENCH_SECONDS ?? process.env.BENCH_SECONDS ?? 20);
const CUSTOMERS = 200;
const SKUS = Array.from({ length: 10 }, (_, i) => `SKU-${i}`);

export async function run(): Promise<BenchRow[]> {
  const world = await benchWorld();
  const uid = uniqueName('x').slice(2);
  const [WEB, APP] = [`web-${uid}`, `app-${uid}`];
  const [a, b] = await Promise.all([spawnCart(world), spawnCart(world)]);
  const sessions: SseClient[] = [];
  try {
    await world.seed([WEB, APP], SKUS);
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => `push-${uid}-${i}`);
    // Each customer logged in on both channels: streams on the app (its token), writes on the web (its token).
    const [appTokens, tokens] = await Promise.all(
      [APP, WEB].map((channel) => Promise.all(customers.map((sub) => bearer({ sub, channel })))),
    );
    const sent = new Map<string, number[]>(customers.map((c) => [c, []]));
    const endToEnd: number[] = [];
    const pushLeg: number[] = [];
    let measuring = false;
    for (let i = 0; i < CUSTOMERS; i++) {
      const s = await SseClient.open(b.url, { authorization: appTokens[i], 'x-channel-code': APP });
      s.onEvent((e) => {
        if (e.event !== 'cart-changed') return;
        const at = performance.now();
        const queue = sent.get(e.data.cartId as string);
        const t = queue?.shift();
        if (!measuring || t === undefined) return;
        endToEnd.push(at - t);
        pushLeg.push(Date.now() - (e.data.occurredAt as number));
      });
      sessions.push(s);
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const { hostname, port } = new URL(a.url);
    const write = (i: number): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const c = i % CUSTOMERS;
        const body = JSON.stringify({ sku: SKUS[Math.floor(i / CUSTOMERS) % SKUS.length], quantity: 1 });
        sent.get(customers[c])!.push(performance.now());
        const req = request(
          {
            agent,
            hostname,
            port,
            method: 'POST',
            path: '/cart/lines',
            headers: {
              authorization: tokens[c],
              'x-channel-code': WEB,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    await openLoop(RATE, 2000, (i) => write(i + 1_000_000)); // warm-up
    await waitFor(() => [...sent.values()].every((q) => q.length === 0), 'warm-up pushes drained', 30000, 50).catch(() => undefined);
    sent.forEach((q) => (q.length = 0));
    measuring = true;
    const meter = cpuMeter(['ferretdb', 'kafka'], { cart_a: a.child.pid, cart_b: b.child.pid });
    const { latencies: writeLatencies, errors, unfinished, elapsedMs } = await openLoop(RATE, SECONDS * 1000, write);
    const cpu = meter.per(writeLatencies.length);
    const expected = writeLatencies.length - unfinished;
    await waitFor(() => endToEnd.length >= expected, 'every push received', 20000, 50).catch(() => undefined);
    agent.destroy();
    const e2e = percentiles(endToEnd);
    const leg = percentiles(pushLeg);
    const writes = percentiles(writeLatencies);
    return [
      {
        name: 'cart-cross-channel-push',
        target_rate: RATE,
        achieved_rate: Number((expected / (elapsedMs / 1000)).toFixed(1)),
        ...e2e,
        samples: endToEnd.length,
        writes_ok: expected,
        writes_unfinished: unfinished,
        write_errors: errors,
        pushes_missing: Math.max(0, expected - endToEnd.length),
        push_leg_p50_ms: leg.p50_ms,
        push_leg_p99_ms: leg.p99_ms,
        write_p99_ms: writes.p99_ms,
        sessions: CUSTOMERS,
        target_p99_ms: 100,
        ...cpu,
      },
    ];
  } finally {
    sessions.forEach((s) => s.close());
    await Promise.all([a.stop(), b.stop()]);
    await world.close();
  }
}

if (require.main === module) runStandalone(run);
