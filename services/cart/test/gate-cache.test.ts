import { testGroups, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { asCustomer, projected, rawCollection, Simulator, startTestCart, type CartInstance } from './support';

/**
 * The gate cache (store/projection-cache.ts) against the real stack. Instances A and B share a
 * database and consumer groups and keep gate entries for a minute, so a refusal seen within the test
 * can only come from the projection events, not from an entry expiring.
 */
let sim: Simulator;
let a: CartInstance;
let b: CartInstance;
let solo: CartInstance;
let short: CartInstance;
const uid = uniqueName('g').slice(2);
const WEB = `web-${uid}`;
const SKU = 'SHOE-1';
// long enough that a gate consumer's fetch round on a loaded machine (the parallel suites) stays within it
const SHORT_TTL_MS = 1000;

beforeAll(async () => {
  const shared = { dbName: uniqueName('test_cart_gates'), groups: testGroups(), gateCacheMs: 60_000 };
  [sim, a, b, solo, short] = await Promise.all([
    Simulator.start(),
    startTestCart(shared),
    startTestCart(shared),
    startTestCart({ gateCacheMs: 60_000 }),
    startTestCart({ gateCacheMs: SHORT_TTL_MS }),
  ]);
  const [vc, vi] = await Promise.all([sim.channel(WEB), sim.item(WEB, SKU)]);
  await Promise.all([a, solo, short].map((cart) => projected(cart, { channel: [WEB, vc], item: [WEB, SKU, vi] })));
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), solo?.stop(), short?.stop(), sim?.stop()]);
});

const write = async (cart: CartInstance, headers: Record<string, string>, sku = SKU) => {
  const res = await fetch(`${cart.url}/cart/lines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ sku }),
  });
  return { status: res.status, body: (await res.json()) as { code?: string } };
};

describe('gate cache', () => {
  it('serves gates from memory, and a ban reaches the gates of every instance through the events', async () => {
    const c = uniqueName('cust');
    const h = await asCustomer(c, WEB);
    expect((await write(a, h)).status).toBe(200);
    expect((await write(b, h)).status).toBe(200);
    expect(a.projections.customers.size).toBeGreaterThan(0);

    // A projection changed in the database behind the events' back is not read again while the entry lives.
    await rawCollection(a, 'customers').insertOne({ _id: c, customerId: c, status: 'banned', aggregateVersion: 0 });
    expect((await write(a, h)).status).toBe(200);

    // The event: whichever instance's projection consumer holds its partition, both refuse.
    await sim.customer(c, { status: 'banned', reason: 'fraud', change: 'banned' });
    for (const cart of [a, b]) {
      const refused = await waitFor(async () => {
        const r = await write(cart, h);
        return r.status === 403 && r.body;
      }, `the ban on instance ${cart.runtime.config.instanceId}`);
      expect(refused.code).toBe('customer_banned');
    }

    // A late, older state never moves an entry back.
    a.projections.customers.apply(
      c,
      { customerId: c, status: 'active', reason: null, until: null, dataRegion: 'EU', loyaltyTier: 'basic' },
      0,
    );
    expect((await write(a, h)).body.code).toBe('customer_banned');
  });

  it('sees a channel block and an item withdrawal on every instance', async () => {
    const code = `blk-${uid}`;
    const sku = `HAT-${uid}`;
    const [vc, vi] = await Promise.all([sim.channel(code), sim.item(WEB, sku)]);
    await projected(a, { channel: [code, vc], item: [WEB, sku, vi] });
    const sub = uniqueName('cust');
    const [h, onCode] = [await asCustomer(sub, WEB), await asCustomer(sub, code)];
    for (const cart of [a, b]) {
      expect((await write(cart, onCode)).body.code).toBe('item_not_sold_on_channel'); // channel known, cached
      expect((await write(cart, h, sku)).status).toBe(200); // item cached as sellable
    }
    await Promise.all([
      sim.channel(code, { blockReasons: ['outdated_branding'], change: 'blocked' }),
      sim.item(WEB, sku, { status: 'withdrawn' }),
    ]);
    for (const cart of [a, b]) {
      await waitFor(async () => (await write(cart, onCode)).body.code === 'channel_blocked', 'the block');
      await waitFor(async () => (await write(cart, h, sku)).body.code === 'item_not_sold_on_channel', 'the withdrawal');
    }
  });

  it('refuses at the next write once the instance has applied a suspension to its projection', async () => {
    const c = uniqueName('cust');
    const h = await asCustomer(c, WEB);
    expect((await write(solo, h)).status).toBe(200);
    const v = await sim.customer(c, { status: 'suspended', until: Date.now() + 3600_000, change: 'suspended' });
    // solo is the only member of its projection group: its consumer applied the event, so no waiting.
    await projected(solo, { customer: [c, v] });
    expect((await write(solo, h)).body.code).toBe('customer_suspended');
  });

  it(`serves gates from memory while its gate consumer keeps up, and reads the database within ${SHORT_TTL_MS} ms once it does not`, async () => {
    const c = uniqueName('cust');
    const h = await asCustomer(c, WEB);
    expect((await write(short, h)).status).toBe(200);
    // A change no event announced (written straight into the database): while the gate consumer is
    // caught up, the entry is as current as the event stream, so it is served past the TTL.
    await rawCollection(short, 'customers').insertOne({ _id: c, customerId: c, status: 'banned', aggregateVersion: 1 });
    const readAt = Date.now();
    await waitFor(() => short.consumers.gates.caughtUpAt() > readAt + 2 * SHORT_TTL_MS, 'the gate consumer caught up well past the TTL');
    expect((await write(short, h)).status).toBe(200);
    // The gate consumer stops (as when it falls behind or is rebalanced): within the TTL the gate reads the database.
    await short.consumers.gates.stop();
    const stoppedAt = Date.now();
    await waitFor(async () => (await write(short, h)).body.code === 'customer_banned', 'the refusal after the TTL', SHORT_TTL_MS + 2000);
    expect(Date.now() - stoppedAt).toBeLessThan(SHORT_TTL_MS + 2000);
  });
});
