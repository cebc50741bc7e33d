/**
 * Where a cart write's time goes: runs writes against an in-process instance with the MongoDB
 * driver's command monitoring on and prints, per database command, how many each write costs and
 * how long they take. `node --import tsx services/cart/bench/profile-write.ts`
 */
import { Agent, request } from 'node:http';
import { Collection, FindCursor } from 'mongodb';
import { bearer, testConfig, uniqueName } from '@omnimall/service-kit/testing';
import { cartService } from '../src/main';
import { benchWorld, openLoop, percentiles } from './harness';

const RATE = Number(process.env.CART_BENCH_RATE ?? 20);
const SECONDS = Number(process.env.CART_BENCH_SECONDS ?? 5);
/** Distinct customers written in turn (cart-write-http: 3000 at 300/s, i.e. each cart every 10 s). */
const CUSTOMERS = Number(process.env.CART_BENCH_CUSTOMERS ?? 500);

async function main(): Promise<void> {
  const world = await benchWorld();
  const uid = uniqueName('p').slice(2);
  const cart = await cartService.start({
    config: testConfig('cart', { dbName: world.dbName }),
    groups: world.groups,
    deps: {},
  });
  try {
    await world.seed([`web-${uid}`], ['SKU-0', 'SKU-1']);
    // Times every driver call of the collection API this service uses (wrapping the driver's prototypes).
    const byCmd = new Map<string, number[]>();
    const wrap = (proto: Record<string, unknown>, name: string, label: string): void => {
      const orig = proto[name] as (...a: unknown[]) => Promise<unknown>;
      proto[name] = async function (this: { collectionName?: string; namespace?: { collection?: string } }, ...args: unknown[]) {
        const t = performance.now();
        try {
          return await orig.apply(this, args);
        } finally {
          const coll = this.collectionName ?? this.namespace?.collection ?? '?';
          const k = `${label} ${coll}`;
          byCmd.set(k, [...(byCmd.get(k) ?? []), performance.now() - t]);
        }
      };
    };
    const proto = Collection.prototype as unknown as Record<string, unknown>;
    for (const n of ['insertOne', 'findOne', 'findOneAndUpdate', 'updateOne', 'deleteOne']) wrap(proto, n, n);
    wrap(FindCursor.prototype as unknown as Record<string, unknown>, 'toArray', 'find');
    // Customers logged in on the channel: their tokens carry it (the cart takes the channel from them).
    const tokens = await Promise.all(
      Array.from({ length: CUSTOMERS }, (_, i) => bearer({ sub: `prof-${uid}-${i}`, channel: `web-${uid}` })),
    );
    const agent = new Agent({ keepAlive: true });
    const { port } = new URL(cart.url);
    const write = (i: number): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ sku: `SKU-${i % 2}`, quantity: 1 });
        const req = request(
          {
            agent,
            hostname: '127.0.0.1',
            port,
            method: 'POST',
            path: '/cart/lines',
            headers: { authorization: tokens[i % CUSTOMERS], 'x-channel-code': `web-${uid}`, 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const { latencies } = await openLoop(RATE, SECONDS * 1000, write);
    await new Promise((r) => setTimeout(r, 500));
    agent.destroy();
    console.log('writes', latencies.length, 'latency', percentiles(latencies));
    const rows = [...byCmd].map(([cmd, d]) => ({ cmd, per_write: Number((d.length / latencies.length).toFixed(2)), ...percentiles(d) }));
    console.table(rows);
  } finally {
    await cart.stop();
    await world.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
