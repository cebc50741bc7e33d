/**
 * cart-write-http@300: 300 cart writes per second for 30 s against one cart instance over HTTP on
 * loopback, spread over 3000 customers on two channels (each write: token check, customer, channel
 * and item projections through the gate cache, the compare-and-set write with its outbox event, the publish).
 * Target: p99 <= 20 ms. CPU per write over the measured part: `cart_cpu_us_per_op` (the cart
 * process), `ferretdb_`/`kafka_cpu_us_per_op` (the local servers) and `client_cpu_us_per_op` (this
 * process, the HTTP client): what a write costs the machine, wherever it is spent.
 */
import { Agent, request } from 'node:http';
import { bearer, uniqueName } from '@omnimall/service-kit/testing';
import { benchWorld, openLoop, percentiles, spawnCart, type BenchRow } from './harness';
import { cpuMeter, runStandalone } from '../../../bench/harness';

const RATE = Number(process.env.CART_BENCH_RATE ?? 300);
const SECONDS = Number(process.env.CART_BENCH_SECONDS ?? process.env.BENCH_SECONDS ?? 30);
const WARMUP_SECONDS = 3;
const CUSTOMERS = 3000;
const SKUS = Array.from({ length: 20 }, (_, i) => `SKU-${i}`);

export async function run(): Promise<BenchRow[]> {
  const world = await benchWorld();
  const uid = uniqueName('b').slice(2);
  const channels = [`web-${uid}`, `app-${uid}`];
  const cart = await spawnCart(world);
  try {
    await world.seed(channels, SKUS);
    // Each customer logged in on both channels: one token per channel, bound to it (the channel claim).
    const tokens = await Promise.all(
      channels.map((channel) => Promise.all(Array.from({ length: CUSTOMERS }, (_, i) => bearer({ sub: `bench-${uid}-${i}`, channel })))),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const { hostname, port } = new URL(cart.url);
    // Why writes failed: "<status> <code>" from the error body, or the request error's code.
    const failures: Record<string, number> = {};
    const failed = (why: string): void => void (failures[why] = (failures[why] ?? 0) + 1);
    const write = (i: number): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ sku: SKUS[i % SKUS.length], quantity: 1 });
        const req = request(
          {
            agent,
            hostname,
            port,
            method: 'POST',
            path: '/cart/lines',
            headers: {
              authorization: tokens[i % 2][(i * 7919) % CUSTOMERS],
              'x-channel-code': channels[i % 2],
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => res.statusCode !== 200 && chunks.push(c));
            res.on('end', () => {
              if (res.statusCode !== 200) {
                let code = '';
                try {
                  code = String((JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code ?? '');
                } catch {
                  code = 'unparsed body';
                }
                failed(`${res.statusCode} ${code}`.trim());
              }
              resolve(res.statusCode === 200);
            });
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => {
          failed(err.code ?? err.message);
          reject(err);
        });
        req.end(body);
      });
    await openLoop(RATE, WARMUP_SECONDS * 1000, (i) => write(i + 1_000_000));
    for (const why of Object.keys(failures)) delete failures[why]; // the warm-up's are not counted
    const meter = cpuMeter(['ferretdb', 'kafka'], { cart: cart.child.pid });
    const { latencies, errors, unfinished, elapsedMs } = await openLoop(RATE, SECONDS * 1000, write);
    const cpu = meter.per(latencies.length);
    agent.destroy();
    return [
      {
        name: `cart-write-http@${RATE}`,
        target_rate: RATE,
        achieved_rate: Number(((latencies.length - unfinished) / (elapsedMs / 1000)).toFixed(1)),
        ...percentiles(latencies),
        samples: latencies.length,
        errors,
        failures,
        unfinished,
        duration_s: SECONDS,
        customers: CUSTOMERS,
        target_p99_ms: 20,
        ...cpu,
      },
    ];
  } finally {
    await cart.stop();
    await world.close();
  }
}

if (require.main === module) runStandalone(run);
