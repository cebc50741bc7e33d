import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { CartChanged, SyncApplied } from '@omnimall/contracts';
import { DAY_MS } from '../src/domain/privacy';
import {
  asCustomer,
  asDevice,
  projected,
  rawCollection,
  Simulator,
  SseClient,
  startTestCart,
  ticketFor,
  type CartInstance,
} from './support';

/**
 * What the cart keeps of a person: identity's erasure empties and pseudonymises a customer's carts
 * (effect-once, acknowledged) and ends their streams; anonymous device carts are kept only for the
 * retention period. Against the real Kafka, FerretDB and registry, identity simulated by its events.
 */
let sim: Simulator;
let cart: CartInstance;
let recorder: TopicRecorder;
const uid = uniqueName('v').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const SHOE = 'SHOE-1';
const HAT = 'HAT-1';
const streams: SseClient[] = [];

beforeAll(async () => {
  [sim, cart, recorder] = await Promise.all([
    Simulator.start(),
    startTestCart(),
    new TopicRecorder(testKafka(), ['cart.cart-changed', 'sync.applied']).start(),
  ]);
  const vs = await Promise.all([sim.channel(WEB), sim.channel(APP), sim.item(WEB, SHOE), sim.item(APP, SHOE), sim.item(WEB, HAT)]);
  await projected(cart, { channel: [WEB, vs[0]], item: [WEB, HAT, vs[4]] });
  await projected(cart, { channel: [APP, vs[1]], item: [APP, SHOE, vs[3]] });
  await projected(cart, { item: [WEB, SHOE, vs[2]] });
});

afterAll(async () => {
  streams.forEach((s) => s.close());
  await Promise.allSettled([cart?.stop(), sim?.stop(), recorder?.stop()]);
});

const decoded = async <T>(topic: string, key: string): Promise<T[]> =>
  Promise.all(
    recorder
      .where((r) => r.topic === topic && r.message.key?.toString() === key)
      .map((r) => cart.runtime.schemas.decode<T>(r.message.value!)),
  );

/** The outcomes the cart's privacy group acknowledged for one event. */
const privacyAcks = async (eventId: string): Promise<string[]> => {
  const group = cart.consumers.privacy.name;
  return (await decoded<SyncApplied>('sync.applied', eventId)).filter((a) => a.consumer === group).map((a) => a.outcome);
};

const add = async (headers: Record<string, string>, sku: string, quantity = 1) =>
  request(cart.app).post('/cart/lines').set(headers).send({ sku, quantity });

describe('erasure (identity.data-request)', () => {
  it('empties and pseudonymises the customer cart, its wishlist and the device carts merged into it, ends its streams, once and acknowledged', async () => {
    const c = uniqueName('cust');
    const device = uniqueName('dev');
    const deviceCart = `device:${device}`;
    const me = await asCustomer(c, WEB);
    expect((await add(await asDevice(device, APP), SHOE, 2)).status).toBe(200);
    await sim.rt.publisher.publish([sim.linkedEvent(c, device, APP)]);
    await waitFor(
      async () => (await cart.store.carts.get(c))?.mergedSources.some((m) => m.source === deviceCart),
      'the device cart merged',
    );
    expect((await add(me, HAT)).status).toBe(200);
    await request(cart.app).put(`/cart/wishlist/${SHOE}`).set(me).expect(200);
    const stream = await SseClient.open(cart.url, me);
    streams.push(stream);
    await ticketFor(cart.url, me);

    const erasure = sim.dataRequestEvent(c);
    await sim.rt.publisher.publish([erasure]);
    const erased = await waitFor(async () => {
      const doc = await cart.store.carts.get(c);
      return doc?.erasedAt !== null && doc;
    }, 'the customer cart erased');
    expect(erased).toMatchObject({ lines: [], wishlist: [], mergedSources: [], pendingMerge: null, version: 4 });
    expect(await cart.store.carts.get(deviceCart)).toMatchObject({ lines: [], wishlist: [], erasedAt: expect.any(Number) });
    expect(await rawCollection(cart, 'stream_tickets').countDocuments({ cartId: c })).toBe(0);

    // Consumers of cart.cart-changed converge on the empty cart: the last event says so.
    const events = await waitFor(async () => {
      const all = await decoded<CartChanged>('cart.cart-changed', c);
      return all.some((e) => e.version === 4) && all;
    }, 'the erasure published');
    expect(events.find((e) => e.version === 4)).toMatchObject({ change: 'cleared', lines: [], wishlist: [], customerId: c });

    // Every instance ends the customer's streams with the gate's code.
    await waitFor(() => stream.endedAt, 'the stream ended');
    expect(stream.find('customer_erased')?.data).toMatchObject({ code: 'customer_erased' });

    await waitFor(async () => (await privacyAcks(erasure.value.envelope.eventId)).includes('applied'), 'the erasure acknowledged');
    // A redelivery changes nothing and is acknowledged as a duplicate.
    await sim.rt.publisher.publish([erasure]);
    await waitFor(async () => (await privacyAcks(erasure.value.envelope.eventId)).includes('skipped_duplicate'), 'the replay acknowledged');
    expect((await cart.store.carts.get(c))?.version).toBe(4);

    // The device is anonymous again: its cart starts afresh, its version still growing.
    const again = await add(await asDevice(device, APP), SHOE);
    expect(again.status).toBe(200);
    // Versions: added (1), taken by the merge (2), erased with nothing left (still 2), added again (3).
    expect(again.body).toMatchObject({ version: 3, lines: [expect.objectContaining({ sku: SHOE, quantity: 1 })] });
    expect((await cart.store.carts.get(deviceCart))?.erasedAt).toBeNull();
  });

  it('drops a merge that arrives after the erasure, and refuses writes to the erased cart before identity’s status arrives', async () => {
    const c = uniqueName('cust');
    const device = uniqueName('dev');
    expect((await add(await asDevice(device, APP), SHOE, 3)).status).toBe(200);
    await sim.rt.publisher.publish([sim.dataRequestEvent(c)]);
    await waitFor(async () => (await cart.store.carts.get(c))?.erasedAt, 'the tombstone written');

    // The merge group is behind the erasure's: the device was linked just before the erasure.
    await sim.rt.publisher.publish([sim.linkedEvent(c, device, APP)]);
    await waitFor(async () => {
      const d = await cart.store.carts.get(`device:${device}`);
      return d && d.lines.length === 0 && d.pendingMerge === null;
    }, 'the device cart taken and the merge settled');
    expect(await cart.store.carts.get(c)).toMatchObject({ lines: [], wishlist: [], version: 0, mergedSources: [] });

    // The customer projection still says active; the cart itself refuses.
    const refused = await add(await asCustomer(c, WEB), HAT);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'customer_erased', hint: expect.any(String) });
  });

  it('leaves the cart as it is on an export request, and acknowledges it', async () => {
    const c = uniqueName('cust');
    const me = await asCustomer(c, WEB);
    expect((await add(me, HAT)).status).toBe(200);
    const exportRequest = sim.dataRequestEvent(c, 'export');
    await sim.rt.publisher.publish([exportRequest]);
    await waitFor(async () => (await privacyAcks(exportRequest.value.envelope.eventId)).includes('applied'), 'the export acknowledged');
    expect(await cart.store.carts.get(c)).toMatchObject({ version: 1, erasedAt: null, lines: [expect.objectContaining({ sku: HAT })] });
  });
});

describe('device cart retention', () => {
  it('removes device carts untouched for the retention period and erased ones; keeps customers’ carts, unpublished events and merges in flight', async () => {
    const [stale, fresh, unpublished, merging, erased] = ['stale', 'fresh', 'unpub', 'merging', 'erased'].map(
      (n) => `device:${uniqueName(n)}`,
    );
    const c = uniqueName('cust');
    for (const id of [stale, fresh, unpublished, merging, erased])
      expect((await add(await asDevice(id.slice(7), APP), SHOE)).status).toBe(200);
    expect((await add(await asCustomer(c, WEB), HAT)).status).toBe(200);
    // Published entries leave their documents at the outbox's cleanup pass (run now rather than waited for).
    await waitFor(async () => {
      await cart.runtime.outbox.cleanup(0);
      return (await rawCollection(cart, 'carts').countDocuments({ outboxCount: { $gt: 0 } })) === 0;
    }, 'every event published and cleaned up');

    // Time passes behind the service's back: 31 days for every cart but `fresh`.
    const longAgo = Date.now() - 31 * DAY_MS;
    const carts = rawCollection(cart, 'carts');
    await carts.updateMany({ _id: { $in: [stale, unpublished, merging, erased, c] } }, { $set: { updatedAt: longAgo } });
    await carts.updateOne({ _id: unpublished }, { $set: { outboxCount: 1 } });
    await carts.updateOne({ _id: merging }, { $set: { pendingMerge: { into: c, lines: [], wishlist: [], sourceVersion: 2 } } });
    await carts.updateOne({ _id: erased }, { $set: { updatedAt: Date.now(), erasedAt: Date.now() } });

    expect(await cart.retention.prune()).toBeGreaterThanOrEqual(2);
    const left = new Set((await carts.find({ _id: { $in: [stale, fresh, unpublished, merging, erased, c] } }).toArray()).map((d) => d._id));
    expect([...left].sort()).toEqual([fresh, unpublished, merging, c].sort());

    // The device comes back: a new, empty cart.
    const back = await add(await asDevice(stale.slice(7), APP), SHOE, 2);
    expect(back.body).toMatchObject({ version: 1, lines: [expect.objectContaining({ quantity: 2 })] });
  });
});
