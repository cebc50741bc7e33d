import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { SyncApplied } from '@omnimall/contracts';
import { asCustomer, projected, Simulator, startTestCart, type CartInstance } from './support';

/**
 * The stock of each cart line (inventory.stock-level, projected per `<channel>:<sku>`) against the
 * real Kafka, FerretDB and schema registry, with channels, catalog-sync and inventory simulated.
 */
let sim: Simulator;
let cart: CartInstance;
let acks: TopicRecorder;
const uid = uniqueName('s').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const SHOE = 'SHOE-1';
const HAT = 'HAT-1';
const SOCK = 'SOCK-1';

beforeAll(async () => {
  [sim, cart, acks] = await Promise.all([Simulator.start(), startTestCart(), new TopicRecorder(testKafka(), ['sync.applied']).start()]);
  const vs = await Promise.all([
    sim.channel(WEB),
    sim.channel(APP, { kind: 'mobile_app' }),
    ...[WEB, APP].flatMap((ch) => [SHOE, HAT, SOCK].map((sku) => sim.item(ch, sku))),
  ]);
  await Promise.all([projected(cart, { channel: [WEB, vs[0]] }), projected(cart, { channel: [APP, vs[1]] })]);
  await Promise.all(
    [WEB, APP].flatMap((ch, i) => [SHOE, HAT, SOCK].map((sku, j) => projected(cart, { item: [ch, sku, vs[2 + i * 3 + j]] }))),
  );
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), acks?.stop()]);
});

type Line = { sku: string; channel: string; stock?: { available: number; state: string }; outOfStock: boolean };
const linesOf = async (headers: Record<string, string>): Promise<Line[]> => {
  const res = await request(cart.app).get('/cart').set(headers);
  expect(res.status).toBe(200);
  return res.body.lines as Line[];
};

/** The cart's acknowledgements of one event (sync.applied), once there are `count` of them. */
const cartAcksOf = (eventId: string, count = 1): Promise<SyncApplied[]> =>
  waitFor(async () => {
    const found = await Promise.all(acks.records.map((r) => cart.runtime.schemas.decode<SyncApplied>(r.message.value!)));
    // the projection group's acks (each instance's gate group acknowledges the same events for its cache)
    const mine = found.filter(
      (a) => a.ackedEventId === eventId && a.envelope.producer === 'cart' && a.consumer.startsWith('cart.projections'),
    );
    return mine.length >= count ? mine : null;
  }, `${count} ack(s) of ${eventId} by the cart's projections`);

describe('stock on the cart lines', () => {
  it("shows each line's stock on the channel it was added on, flags out-of-stock lines, and never moves a level back", async () => {
    const c = uniqueName('cust');
    const onApp = await asCustomer(c, APP);
    for (const sku of [SHOE, HAT, SOCK]) {
      await request(cart.app).post('/cart/lines').set(onApp).send({ sku }).expect(200);
    }
    const first = await sim.stock(APP, SHOE, { availableQuantity: 5, status: 'in_stock' });
    const shoe = await sim.stock(APP, SHOE, { availableQuantity: 7, status: 'in_stock' });
    const hat = await sim.stock(APP, HAT, { availableQuantity: 0, status: 'out_of_stock', rule: 'master_only' });
    // The web channel's levels are not the app lines' (and a level of one location is no channel total).
    const web = await sim.stock(WEB, SHOE, { availableQuantity: 0, status: 'out_of_stock' });
    const located = await sim.stock(APP, SOCK, { availableQuantity: 1, status: 'low_stock', location: 'wh-berlin' });
    await Promise.all([
      projected(cart, { stock: [APP, SHOE, shoe.value.envelope.aggregateVersion] }),
      projected(cart, { stock: [APP, HAT, hat.value.envelope.aggregateVersion] }),
      projected(cart, { stock: [WEB, SHOE, web.value.envelope.aggregateVersion] }),
      cartAcksOf(located.value.envelope.eventId).then((a) => expect(a.map((x) => x.outcome)).toEqual(['skipped_duplicate'])),
    ]);

    const expected = [
      { sku: SHOE, channel: APP, stock: { available: 7, state: 'in_stock' }, outOfStock: false },
      { sku: HAT, channel: APP, stock: { available: 0, state: 'out_of_stock' }, outOfStock: true },
      { sku: SOCK, channel: APP, outOfStock: false },
    ];
    const lines = await linesOf(onApp);
    expect(lines).toMatchObject(expected);
    expect(lines[2]).not.toHaveProperty('stock');
    // Viewed on another channel, the lines are priced for it but keep the stock of their own channel.
    expect(await linesOf(await asCustomer(c, WEB))).toMatchObject(expected);

    // A newer level replaces the old; a late older one, and a replay of the newer, change nothing.
    const back = await sim.stock(APP, HAT, { availableQuantity: 4, status: 'low_stock', rule: 'shared_pool' });
    await projected(cart, { stock: [APP, HAT, back.value.envelope.aggregateVersion] });
    const stale = await sim.stock(APP, SHOE, { availableQuantity: 99, status: 'in_stock' }, first.value.envelope.aggregateVersion);
    await sim.rt.publisher.publish([back]);
    expect((await cartAcksOf(stale.value.envelope.eventId)).map((a) => a.outcome)).toEqual(['skipped_duplicate']);
    expect((await cartAcksOf(back.value.envelope.eventId, 2)).map((a) => a.outcome)).toEqual(['applied', 'skipped_duplicate']);
    expect(await cart.store.stock.get(`${APP}:${HAT}`)).toEqual({
      value: { available: 4, state: 'low_stock', rule: 'shared_pool' },
      version: back.value.envelope.aggregateVersion,
    });
    expect(await linesOf(onApp)).toMatchObject([
      { sku: SHOE, stock: { available: 7, state: 'in_stock' }, outOfStock: false },
      { sku: HAT, stock: { available: 4, state: 'low_stock' }, outOfStock: false },
      { sku: SOCK, outOfStock: false },
    ]);
  });
});
