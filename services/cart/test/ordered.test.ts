import request from 'supertest';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { ORDER_STATUS_DEFAULTS, testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { SyncApplied } from '@omnimall/contracts';
import { asCustomer, projected, Simulator, startTestCart, type CartInstance } from './support';
import { removeOrdered } from '../src/domain/cart';

/**
 * A confirmed order empties its cart of what it ordered (orders.order-status, from the orders service):
 * once per order, on every device, the lines added since kept.
 */
let sim: Simulator;
let orders: ServiceRuntime;
let cart: CartInstance;
let acks: TopicRecorder;
const uid = uniqueName('o').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;

beforeAll(async () => {
  [sim, cart, orders, acks] = await Promise.all([
    Simulator.start(),
    startTestCart(),
    ServiceRuntime.start({ config: testConfig('orders-sim'), produces: ['orders.order-status'] }),
    new TopicRecorder(testKafka(), ['sync.applied']).start(),
  ]);
  const vs = await Promise.all([
    sim.channel(WEB),
    sim.channel(APP, { kind: 'mobile_app' }),
    sim.item(WEB, 'MUG'),
    sim.item(WEB, 'CUP'),
    sim.item(APP, 'MUG'),
  ]);
  await Promise.all([projected(cart, { channel: [WEB, vs[0]] }), projected(cart, { channel: [APP, vs[1]] })]);
  await Promise.all([
    projected(cart, { item: [WEB, 'MUG', vs[2]] }),
    projected(cart, { item: [WEB, 'CUP', vs[3]] }),
    projected(cart, { item: [APP, 'MUG', vs[4]] }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), orders?.stop(), acks?.stop()]);
});

const status = (orderId: string, customerId: string, cartVersion: number, orderState: 'confirmed' | 'pending', version = 1) =>
  newEvent(
    'orders.order-status',
    { type: 'order.placed', producer: 'orders', aggregateId: orderId, aggregateVersion: version, sourceChannel: WEB },
    {
      orderId,
      customerId,
      channel: WEB,
      status: 'placed',
      occurredAt: Date.now(),
      totalMinor: 2000,
      currency: 'EUR',
      promotionIds: [],
      usageHoldId: null,
      ...ORDER_STATUS_DEFAULTS,
      orderState,
      paymentState: 'authorised',
      fulfilmentState: 'unfulfilled',
      cartId: customerId,
      cartVersion,
      lines: [{ sku: 'MUG', quantity: 2, unitPriceMinor: 1000, totalMinor: 2000 }],
      version,
    },
  );

it('removes a confirmed order’s units from the cart once, keeps what was added since, and tells every device', async () => {
  const c = uniqueName('cust');
  const [onWeb, onApp] = await Promise.all([asCustomer(c, WEB), asCustomer(c, APP)]);
  await request(cart.app).post('/cart/lines').set(onApp).send({ sku: 'MUG', quantity: 3 }).expect(200);
  await request(cart.app).post('/cart/lines').set(onWeb).send({ sku: 'CUP', quantity: 1 }).expect(200);
  // a pending order (not confirmed) takes nothing
  await orders.publisher.publish([status(`ord-${uid}-0`, c, 2, 'pending')]);
  const confirmed = status(`ord-${uid}-1`, c, 2, 'confirmed');
  await orders.publisher.publish([confirmed]);
  const after = await waitFor(async () => {
    const r = await request(cart.app).get('/cart').set(onWeb);
    const mug = r.body.lines.find((l: { sku: string }) => l.sku === 'MUG');
    return mug?.quantity === 1 && r.body;
  }, 'the ordered mugs gone');
  expect(after.lines.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity])).toEqual([
    ['MUG', 1],
    ['CUP', 1],
  ]);
  // the same confirmation again (a replay) and a later status of the same order take nothing more
  const later = status(`ord-${uid}-1`, c, 2, 'confirmed', 2);
  await orders.publisher.publish([confirmed, later]);
  const ackOf = async (eventId: string) => {
    const all = await Promise.all(acks.records.map((r) => cart.runtime.schemas.decode<SyncApplied>(r.message.value!)));
    return all.filter((a) => a.ackedEventId === eventId && a.consumer.startsWith('cart.orders'));
  };
  const handled = await waitFor(async () => {
    const [first, second] = await Promise.all([ackOf(confirmed.value.envelope.eventId), ackOf(later.value.envelope.eventId)]);
    return first.length >= 2 && second.length >= 1 && [...first, ...second];
  }, 'the replay and the later status handled');
  expect(handled.map((a) => a.outcome).sort()).toEqual(['applied', 'skipped_duplicate', 'skipped_duplicate']);
  expect((await cart.store.carts.get(c))!.lines.find((l) => l.sku === 'MUG')?.quantity).toBe(1);
  const view = await request(cart.app).get('/cart').set(onApp);
  expect(view.body.lines.find((l: { sku: string }) => l.sku === 'MUG').quantity).toBe(1);
});

it('the rule: ordered units leave, a line ordered whole goes, the wishlist stays, nothing ordered changes nothing', () => {
  const cartState = {
    lines: [
      { sku: 'A', quantity: 2, channel: 'web', addedAt: 1 },
      { sku: 'B', quantity: 1, channel: 'app', addedAt: 2 },
    ],
    wishlist: ['W'],
    version: 4,
  };
  expect(
    removeOrdered(cartState, [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 1 },
    ]),
  ).toEqual({
    state: { lines: [{ sku: 'A', quantity: 1, channel: 'web', addedAt: 1 }], wishlist: ['W'], version: 5 },
    change: 'ordered',
  });
  expect(removeOrdered(cartState, [{ sku: 'Z', quantity: 1 }])).toBeNull();
});
