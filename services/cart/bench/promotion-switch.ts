/**
 * Benchmark row `promotion-switch` (issue 21): a promotion starting at T on 5 channels, a cart open on
 * each channel; a sample is the spread between the first and the last channel's first correctly
 * priced cart view after T. Target: p99 ≤ 100 ms over 50 switches.
 *
 * Two cart processes on one database (channels alternate between them), the promotions service
 * simulated: each switch publishes a new promotion (10 % off the SKU every cart holds, on the 5
 * channels) `LEAD_MS` ahead of its start T and ending `SPAN_MS` after it, so switches never overlap.
 * From just before T, one client per channel reads its cart (GET /cart) back to back; a view is correct
 * when it shows that promotion's offer, and a view priced before T must not (counted as `early`).
 * Also reported: the lag from T to the last channel's first correct view, and its p99.
 */
import { Agent, request } from 'node:http';
import { bearer, uniqueName } from '@omnimall/service-kit/testing';
import { runStandalone, summarise } from '../../../bench/harness';
import { PromotionsSimulator } from '../test/support';
import { benchWorld, spawnCart, type BenchRow, type CartProcess } from './harness';

export const rows = ['promotion-switch'];

const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 50);
const CHANNELS = 5;
const LEAD_MS = 1500;
const SPAN_MS = 1000;
/** Polling starts this long before T (to see views priced before it). */
const BEFORE_MS = 20;
/** A channel with no correct view while the promotion runs fails the sample. */
const TIMEOUT_MS = SPAN_MS;
const TARGET_P99_MS = 100;
const SKU = 'SWITCH-1';
const round = (n: number): number => Math.round(n * 100) / 100;

interface View {
  pricedAt: string | null;
  lines: { sku: string; offers: { promotionId: string }[] }[];
}

export async function run(): Promise<BenchRow[]> {
  const started = Date.now();
  const world = await benchWorld();
  const promos = await PromotionsSimulator.start();
  const uid = uniqueName('w').slice(2);
  const channels = Array.from({ length: CHANNELS }, (_, i) => `sw${i}-${uid}`);
  const carts: CartProcess[] = await Promise.all([spawnCart(world), spawnCart(world)]);
  const agent = new Agent({ keepAlive: true, maxSockets: CHANNELS * 2 });
  try {
    await world.seed(channels, [SKU]);
    const customer = `switch-${uid}`;
    const clients = await Promise.all(
      channels.map(async (channel, i) => ({
        channel,
        url: new URL(carts[i % carts.length].url),
        headers: { authorization: await bearer({ sub: customer, channel }), 'x-channel-code': channel },
      })),
    );
    const call = (c: (typeof clients)[number], method: 'GET' | 'POST', path: string, body?: unknown): Promise<View> =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          {
            agent,
            hostname: c.url.hostname,
            port: c.url.port,
            method,
            path,
            headers: { ...c.headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text += d));
            res.on('end', () =>
              res.statusCode === 200 ? resolve(JSON.parse(text) as View) : reject(new Error(`${res.statusCode} ${text}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    // one cart (the customer's), holding the SKU, seen from every channel
    await call(clients[0], 'POST', '/cart/lines', { sku: SKU, quantity: 1 });

    const spreads: number[] = [];
    const lags: number[] = [];
    let early = 0;
    let timeouts = 0;
    let views = 0;
    for (let s = 0; s < SWITCHES; s++) {
      const T = Date.now() + LEAD_MS;
      const id = await promos.define({
        startsAt: T,
        endsAt: T + SPAN_MS,
        channels,
        reward: { kind: 'percentage', percent: 10 },
        skus: [SKU],
      });
      await new Promise((r) => setTimeout(r, T - BEFORE_MS - Date.now()));
      const firsts = await Promise.all(
        clients.map(async (c) => {
          while (Date.now() < T + TIMEOUT_MS) {
            const v = await call(c, 'GET', '/cart');
            const at = Date.now();
            views++;
            const offered = v.lines.some((l) => l.offers.some((o) => o.promotionId === id));
            const pricedAt = Date.parse(v.pricedAt ?? '');
            if (offered && pricedAt < T) early++;
            if (offered && pricedAt >= T) return at;
          }
          return null;
        }),
      );
      if (firsts.some((f) => f === null)) {
        timeouts++;
      } else {
        const times = firsts as number[];
        spreads.push(Math.max(...times) - Math.min(...times));
        lags.push(Math.max(...times) - T);
      }
      // the next switch starts once this promotion has ended
      await new Promise((r) => setTimeout(r, Math.max(0, T + SPAN_MS - Date.now())));
    }
    const row = summarise('promotion-switch', spreads);
    const lag = summarise('lag', lags);
    return [
      {
        ...row,
        max_ms: round(Math.max(...spreads)),
        channels: CHANNELS,
        cart_processes: carts.length,
        switches: SWITCHES,
        timeouts,
        early,
        views,
        lag_p50_ms: lag.p50_ms,
        lag_p99_ms: lag.p99_ms,
        target_p99_ms: TARGET_P99_MS,
        met: timeouts === 0 && early === 0 && spreads.length === SWITCHES && row.p99_ms <= TARGET_P99_MS,
        duration_s: Math.round((Date.now() - started) / 100) / 10,
      },
    ];
  } finally {
    agent.destroy();
    await Promise.allSettled([...carts.map((c) => c.stop()), promos.stop()]);
    await world.close();
  }
}

if (require.main === module) runStandalone(run);
