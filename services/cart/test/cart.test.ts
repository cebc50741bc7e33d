import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { CartChanged } from '@omnimall/contracts';
import { WriteConflictError } from '@omnimall/service-kit';
import { MAX_LINE_QUANTITY } from '../src/domain/cart';
import { asCustomer, asDevice, customerToken, projected, rawCollection, Simulator, startTestCart, type CartInstance } from './support';

/** The cart against the real Kafka, FerretDB and schema registry, with identity, channels and catalog-sync simulated by their events. */
let sim: Simulator;
let cart: CartInstance;
let recorder: TopicRecorder;
const uid = uniqueName('t').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const US = `us-${uid}`;
const SHOE = 'SHOE-1';
const HAT = 'HAT-1';
const APP_ONLY = 'APP-ONLY';
const BARRED = 'KNIFE-1';
const GONE = 'GONE-1';

beforeAll(async () => {
  [sim, cart, recorder] = await Promise.all([
    Simulator.start(),
    startTestCart(),
    new TopicRecorder(testKafka(), ['cart.cart-changed']).start(),
  ]);
  const vs = await Promise.all([
    sim.channel(WEB),
    sim.channel(APP, { kind: 'mobile_app', currencies: ['EUR'] }),
    sim.channel(US, { region: 'US', country: 'US', currencies: ['USD'], allowedDataRegions: ['US'] }),
    sim.item(WEB, SHOE, { priceMinor: 5999 }),
    sim.item(APP, SHOE, { priceMinor: 5499 }),
    sim.item(WEB, HAT, { priceMinor: 1500 }),
    sim.item(APP, HAT, { priceMinor: 1500 }),
    sim.item(APP, APP_ONLY, { priceMinor: 100 }),
    sim.item(WEB, BARRED, { barredRegions: ['EU'] }),
    sim.item(WEB, GONE, { status: 'withdrawn', priceMinor: null, currency: null }),
  ]);
  await projected(cart, { channel: [WEB, vs[0]], item: [WEB, GONE, vs[9]] });
  await Promise.all([
    projected(cart, { channel: [APP, vs[1]] }),
    projected(cart, { channel: [US, vs[2]] }),
    projected(cart, { item: [APP, APP_ONLY, vs[7]] }),
    projected(cart, { item: [WEB, BARRED, vs[8]] }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), recorder?.stop()]);
});

const customer = () => uniqueName('cust');
/** A customer's credentials: on a channel (a token bound to it, confirmed by x-channel-code), or bound to none. */
const as =
  (sub: string) =>
  async (channel?: string): Promise<Record<string, string>> =>
    channel ? asCustomer(sub, channel) : { authorization: await customerToken(sub, null) };
/** The CartChanged events of one cart, once each: delivery is at least once, consumers dedupe by eventId as these do. */
const changesOf = async (cartId: string): Promise<CartChanged[]> => {
  const all = await Promise.all(
    recorder.where((r) => r.message.key?.toString() === cartId).map((r) => cart.runtime.schemas.decode<CartChanged>(r.message.value!)),
  );
  return all.filter((e, i) => all.findIndex((x) => x.envelope.eventId === e.envelope.eventId) === i);
};

describe('one global cart per customer', () => {
  it('serves its OpenAPI document', async () => {
    const res = await request(cart.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/cart', '/cart/lines', '/cart/lines/{sku}', '/cart/wishlist/{sku}', '/cart/stream']),
    );
  });

  it('keeps lines added on one channel and prices every line for the channel it is viewed on, flagging what that channel does not sell', async () => {
    const c = customer();
    const h = as(c);
    const a = await request(cart.app)
      .post('/cart/lines')
      .set(await h(APP))
      .send({ sku: SHOE, quantity: 2 });
    expect(a.status).toBe(200);
    expect(a.headers.etag).toBe('"1"');
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(APP))
      .send({ sku: APP_ONLY })
      .expect(200);
    await request(cart.app)
      .put(`/cart/wishlist/${HAT}`)
      .set(await h(APP))
      .expect(200);

    const web = await request(cart.app)
      .get('/cart')
      .set(await h(WEB));
    expect(web.status).toBe(200);
    expect(web.headers.etag).toBe('"3"');
    expect(web.body).toMatchObject({
      cartId: c,
      customerId: c,
      version: 3,
      channel: WEB,
      wishlist: [HAT],
      unavailableLines: 1,
      totals: [{ currency: 'EUR', subtotalMinor: 2 * 5999, units: 2 }],
    });
    expect(web.body.lines).toEqual([
      expect.objectContaining({
        sku: SHOE,
        quantity: 2,
        channel: APP,
        available: true,
        unitPriceMinor: 5999,
        lineTotalMinor: 11998,
        addedAt: expect.any(String),
      }),
      expect.objectContaining({
        sku: APP_ONLY,
        quantity: 1,
        channel: APP,
        available: false,
        reason: 'not_listed_on_channel',
        lineTotalMinor: null,
      }),
    ]);
    const app = await request(cart.app)
      .get('/cart')
      .set(await h(APP));
    expect(app.body.lines.map((l: { unitPriceMinor: number }) => l.unitPriceMinor)).toEqual([5499, 100]);

    const events = await waitFor(async () => ((await changesOf(c)).length >= 3 ? changesOf(c) : null), 'three CartChanged events');
    expect(events.map((e) => [e.version, e.change, e.envelope.sourceChannel])).toEqual([
      [1, 'line_added', APP],
      [2, 'line_added', APP],
      [3, 'wishlist_changed', APP],
    ]);
    expect(events[2]).toMatchObject({ cartId: c, customerId: c, wishlist: [HAT] });
    expect(events[2].lines.map((l) => [l.sku, l.quantity, l.channel])).toEqual([
      [SHOE, 2, APP],
      [APP_ONLY, 1, APP],
    ]);
  });

  it('updates, removes and clears, each change emitted', async () => {
    const c = customer();
    const h = as(c);
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: SHOE, quantity: 1 })
      .expect(200);
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: HAT, quantity: 1 })
      .expect(200);
    expect(
      (
        await request(cart.app)
          .put(`/cart/lines/${SHOE}`)
          .set(await h(WEB))
          .send({ quantity: 4 })
      ).body.lines[0],
    ).toMatchObject({ sku: SHOE, quantity: 4 });
    expect(
      (
        await request(cart.app)
          .delete(`/cart/lines/${HAT}`)
          .set(await h(WEB))
      ).body.lines,
    ).toHaveLength(1);
    const cleared = await request(cart.app)
      .delete('/cart')
      .set(await h(WEB));
    expect(cleared.body).toMatchObject({ version: 5, lines: [], wishlist: [] });
    const events = await waitFor(async () => ((await changesOf(c)).length >= 5 ? changesOf(c) : null), 'five CartChanged events');
    expect(events.map((e) => e.change)).toEqual(['line_added', 'line_added', 'line_updated', 'line_removed', 'cleared']);
  });

  it('answers bad input with 4xx codes, never 5xx', async () => {
    const h = as(customer());
    const add = async (headers: Record<string, string>, body: object) => request(cart.app).post('/cart/lines').set(headers).send(body);
    expect((await request(cart.app).get('/cart')).body.code).toBe('token_missing');
    // A token bound to no channel proves none: a change needs one.
    expect((await add(await h(), { sku: SHOE })).body.code).toBe('channel_credentials_missing');
    const bad = await add(await h(WEB), { sku: 'no spaces', quantity: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    expect((await add(await h(WEB), { sku: SHOE, quantity: MAX_LINE_QUANTITY + 1 })).status).toBe(400);
    expect((await request(cart.app).get('/cart').set({ authorization: 'Bearer nope' })).status).toBe(401);
    expect((await add(await h('Bad Code!'), { sku: SHOE })).body.code).toBe('channel_code_invalid');
    expect((await add({ ...(await h(WEB)), 'if-match': 'abc' }, { sku: SHOE })).body.code).toBe('if_match_invalid');
    expect((await add(await h(WEB), { sku: 'NOT-LISTED' })).body).toMatchObject({
      code: 'item_not_sold_on_channel',
      hint: expect.any(String),
    });
  });
});

describe('concurrency', () => {
  it('loses no update when two channels write the same cart at once', async () => {
    const c = customer();
    const h = as(c);
    const N = 15;
    const [onWeb, onApp] = [await h(WEB), await h(APP)];
    const writer = (headers: Record<string, string>) =>
      Array.from({ length: N }, () => request(cart.app).post('/cart/lines').set(headers).send({ sku: SHOE, quantity: 1 }));
    const [web, app] = await Promise.all([
      Promise.all(writer(onWeb)),
      Promise.all([...writer(onApp), request(cart.app).put(`/cart/wishlist/${HAT}`).set(onApp)]),
    ]);
    expect([...web, ...app].map((r) => r.status).every((s) => s === 200)).toBe(true);
    const res = await request(cart.app)
      .get('/cart')
      .set(await h());
    expect(res.body.lines).toEqual([expect.objectContaining({ sku: SHOE, quantity: 2 * N })]);
    expect(res.body.wishlist).toEqual([HAT]);
    expect(res.body.version).toBe(2 * N + 1);
    expect(new Set([...web, ...app].map((r) => r.headers.etag)).size).toBe(2 * N + 1);
  });

  it('checks If-Match against the current version: of two writers holding the same view one wins, the other gets 412', async () => {
    const h = as(customer());
    const first = await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: SHOE });
    const etag = first.headers.etag;
    const [a, b] = await Promise.all([
      request(cart.app)
        .put(`/cart/lines/${SHOE}`)
        .set(await h(WEB))
        .set('if-match', etag)
        .send({ quantity: 3 }),
      request(cart.app)
        .put(`/cart/lines/${SHOE}`)
        .set(await h(APP))
        .set('if-match', etag)
        .send({ quantity: 5 }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const lost = a.status === 412 ? a : b;
    expect(lost.body).toMatchObject({
      code: 'cart_version_mismatch',
      details: { expected: 1, current: 2 },
      hint: expect.stringMatching(/If-Match/),
    });
    const won = a.status === 200 ? a : b;
    expect(won.headers.etag).toBe('"2"');
    expect(
      (
        await request(cart.app)
          .get('/cart')
          .set(await h())
      ).body.lines[0].quantity,
    ).toBe(a.status === 200 ? 3 : 5);
  });

  it('answers 503 cart_busy, not 500, when the cart keeps changing under the write', async () => {
    const c = customer();
    // The outbox gives up with WriteConflictError after its rounds of read-decide-write all lost to
    // other writers (the kit's outbox test provokes that for real); here, what the client sees of it.
    const spy = jest.spyOn(cart.runtime.outbox, 'transact').mockRejectedValueOnce(new WriteConflictError(`carts:${c}`, 20));
    try {
      const res = await request(cart.app)
        .post('/cart/lines')
        .set(await as(c)(WEB))
        .send({ sku: SHOE });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'cart_busy', hint: expect.any(String) });
    } finally {
      spy.mockRestore();
    }
    await request(cart.app)
      .post('/cart/lines')
      .set(await as(c)(WEB))
      .send({ sku: SHOE })
      .expect(200);
  });
});

describe('gating from the projections', () => {
  it('refuses banned and suspended customers, and lets them back when reinstated', async () => {
    const c = customer();
    const h = as(c);
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: SHOE })
      .expect(200);
    const v1 = await sim.customer(c, { status: 'banned', reason: 'fraud', change: 'banned' });
    await projected(cart, { customer: [c, v1] });
    const banned = await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: SHOE });
    expect(banned.status).toBe(403);
    expect(banned.body).toMatchObject({ code: 'customer_banned', hint: expect.any(String) });
    expect(
      (
        await request(cart.app)
          .get('/cart')
          .set(await h(WEB))
      ).body.code,
    ).toBe('customer_banned');

    const until = Date.now() + 3600_000;
    const v2 = await sim.customer(c, { status: 'suspended', until, change: 'suspended' });
    await projected(cart, { customer: [c, v2] });
    const suspended = await request(cart.app)
      .put(`/cart/wishlist/${HAT}`)
      .set(await h(WEB));
    expect(suspended.status).toBe(403);
    expect(suspended.body).toMatchObject({ code: 'customer_suspended', details: { until: new Date(until).toISOString() } });

    // An older event arriving late does not move the projection back.
    await sim.customer(c, { status: 'active', change: 'registered' }, 1);
    const v3 = await sim.customer(c, { status: 'active', change: 'reinstated' });
    await projected(cart, { customer: [c, v3] });
    expect((await cart.store.customers.get(c))?.value.status).toBe('active');
    await request(cart.app)
      .put(`/cart/wishlist/${HAT}`)
      .set(await h(WEB))
      .expect(200);
  });

  it('refuses changes on channels that are not active (naming the state and when they are back) yet reads a cart in maintenance, refuses blocked channels naming why, and unknown ones with 404', async () => {
    const h = as(customer());
    const code = `maint-${uid}`;
    const back = Date.now() + 7200_000;
    const v1 = await sim.channel(code, { state: 'maintenance', previousState: 'active', expectedBackAt: back, change: 'transitioned' });
    await projected(cart, { channel: [code, v1] });
    const res = await request(cart.app)
      .post('/cart/lines')
      .set(await h(code))
      .send({ sku: SHOE });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'channel_not_active',
      details: { state: 'maintenance', expectedBackAt: new Date(back).toISOString() },
      hint: expect.stringContaining(new Date(back).toISOString()),
    });
    // the customer was told the cart is kept safe: reading it works, with a notice that changes wait
    const read = await request(cart.app)
      .get('/cart')
      .set(await h(code));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      channel: code,
      notice: { code: 'channel_not_active', state: 'maintenance', expectedBackAt: new Date(back).toISOString() },
    });
    expect(read.headers.etag).toBeDefined();
    expect(
      (
        await request(cart.app)
          .delete('/cart')
          .set(await h(code))
      ).body.code,
    ).toBe('channel_not_active');

    const v2 = await sim.channel(code, { state: 'active', blockReasons: ['outdated_branding'], change: 'blocked' });
    await projected(cart, { channel: [code, v2] });
    const blocked = await request(cart.app)
      .get('/cart')
      .set(await h(code));
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ code: 'channel_blocked', details: { blockReasons: ['outdated_branding'] } });

    const unknown = await request(cart.app)
      .get('/cart')
      .set(await h(`nowhere-${uid}`));
    expect([unknown.status, unknown.body.code, unknown.body.details]).toEqual([404, 'channel_not_found', { channel: `nowhere-${uid}` }]);
  });

  it('refuses items barred in the channel market (451) and flags them when already in the cart', async () => {
    const h = as(customer());
    const res = await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: BARRED });
    expect(res.status).toBe(451);
    expect(res.body).toMatchObject({ code: 'item_barred_in_region', details: { region: 'EU' } });
    // Listed on APP, later barred where WEB sells: the line stays, flagged.
    const sku = `LATE-${uid}`;
    const [va, vw] = await Promise.all([sim.item(APP, sku), sim.item(WEB, sku, { barredRegions: ['EU'] })]);
    await Promise.all([projected(cart, { item: [APP, sku, va] }), projected(cart, { item: [WEB, sku, vw] })]);
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(APP))
      .send({ sku })
      .expect(200);
    await request(cart.app)
      .post('/cart/lines')
      .set(await h(APP))
      .send({ sku: HAT })
      .expect(200);
    const web = await request(cart.app)
      .get('/cart')
      .set(await h(WEB));
    expect(web.body.lines.map((l: { sku: string; reason: string | null }) => [l.sku, l.reason])).toEqual([
      [sku, 'barred_in_region'],
      [HAT, null],
    ]);
    // A withdrawn listing is flagged with its own reason.
    const gone = await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: GONE });
    expect(gone.body).toMatchObject({ code: 'item_not_sold_on_channel', details: { reason: 'withdrawn_on_channel' } });
  });

  it('keeps a customer cart away from a channel that may not receive the customer data region', async () => {
    const c = customer();
    const v = await sim.customer(c, { dataRegion: 'EU' });
    await projected(cart, { customer: [c, v] });
    const h = as(c);
    const res = await request(cart.app)
      .get('/cart')
      .set(await h(US));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'data_region_not_allowed',
      details: { dataRegion: 'EU', allowedDataRegions: ['US'] },
      hint: expect.any(String),
    });
    await request(cart.app)
      .get('/cart')
      .set(await h(WEB))
      .expect(200);
  });
});

describe('anonymous device carts', () => {
  it('merge into the customer cart on IdentityLinked: quantities summed up to the cap, wishlist united; replays change nothing', async () => {
    const c = customer();
    const device = uniqueName('dev');
    const h = as(c);
    const d = await asDevice(device, APP);
    await request(cart.app).post('/cart/lines').set(d).send({ sku: SHOE, quantity: 60 }).expect(200);
    await request(cart.app).post('/cart/lines').set(d).send({ sku: APP_ONLY, quantity: 2 }).expect(200);
    await request(cart.app).put(`/cart/wishlist/${HAT}`).set(d).expect(200);
    const anon = await request(cart.app).get('/cart').set(d);
    expect(anon.body).toMatchObject({ cartId: `device:${device}`, customerId: null, version: 3 });

    await request(cart.app)
      .post('/cart/lines')
      .set(await h(WEB))
      .send({ sku: SHOE, quantity: 50 })
      .expect(200);
    await request(cart.app)
      .put(`/cart/wishlist/${SHOE}`)
      .set(await h(WEB))
      .expect(200);

    const linked = sim.linkedEvent(c, device, APP);
    await sim.rt.publisher.publish([linked]);
    const merged = await waitFor(async () => {
      const r = await request(cart.app)
        .get('/cart')
        .set(await h(WEB));
      return r.body.version === 3 && r.body;
    }, 'the device cart merged');
    expect(merged.lines.map((l: { sku: string; quantity: number; channel: string }) => [l.sku, l.quantity, l.channel])).toEqual([
      [SHOE, MAX_LINE_QUANTITY, WEB],
      [APP_ONLY, 2, APP],
    ]);
    expect(merged.wishlist).toEqual([SHOE, HAT]);
    const device1 = await request(cart.app).get('/cart').set(d);
    expect(device1.body).toMatchObject({ version: 4, lines: [], wishlist: [] });
    await waitFor(async () => (await cart.store.carts.get(`device:${device}`))?.pendingMerge === null, 'the merge settled');

    // The same event again (a replay), and a consumer starting over: nothing is summed twice.
    await sim.rt.publisher.publish([linked, sim.linkedEvent(c, device, APP)]);
    const marker = uniqueName('m');
    await request(cart.app)
      .put(`/cart/wishlist/${marker}`)
      .set(await h(WEB))
      .expect(200);
    const events = await waitFor(async () => {
      const e = await changesOf(c);
      return e.some((x) => x.wishlist.includes(marker)) && e;
    }, 'the marker change');
    expect(events.filter((e) => e.change === 'merged')).toHaveLength(1);
    const after = await request(cart.app)
      .get('/cart')
      .set(await h());
    expect(after.body).toMatchObject({
      version: 4,
      lines: [expect.objectContaining({ quantity: MAX_LINE_QUANTITY }), expect.objectContaining({ quantity: 2 })],
    });
    const deviceEvents = await changesOf(`device:${device}`);
    expect(deviceEvents.map((e) => e.change)).toEqual(['line_added', 'line_added', 'wishlist_changed', 'cleared']);
  });

  it('finishes a merge that stopped between taking the device cart and giving it to the customer', async () => {
    const c = customer();
    const device = uniqueName('dev');
    const id = `device:${device}`;
    // The state a crash after step 1 leaves: device emptied, content parked in pendingMerge.
    await rawCollection(cart, 'carts').insertOne({
      _id: id,
      customerId: null,
      lines: [],
      wishlist: ['W'],
      version: 2,
      mergedSources: [],
      pendingMerge: { into: c, lines: [{ sku: SHOE, quantity: 3, channel: APP, addedAt: 1 }], wishlist: ['W'], sourceVersion: 2 },
    });
    await sim.rt.publisher.publish([sim.linkedEvent(c, device, APP)]);
    await waitFor(async () => (await cart.store.carts.get(id))?.pendingMerge === null, 'the merge settled');
    const res = await request(cart.app)
      .get('/cart')
      .set(await as(c)());
    expect(res.body).toMatchObject({ version: 1, lines: [expect.objectContaining({ sku: SHOE, quantity: 3 })] });
  });

  it('merges a customer into another on CustomerMerged', async () => {
    const [src, dst] = [customer(), customer()];
    await request(cart.app)
      .post('/cart/lines')
      .set(await as(src)(WEB))
      .send({ sku: HAT, quantity: 2 })
      .expect(200);
    await request(cart.app)
      .post('/cart/lines')
      .set(await as(dst)(APP))
      .send({ sku: HAT, quantity: 1 })
      .expect(200);
    await sim.rt.publisher.publish([sim.mergedEvent(src, dst)]);
    const merged = await waitFor(async () => {
      const r = await request(cart.app)
        .get('/cart')
        .set(await as(dst)());
      return r.body.version === 2 && r.body;
    }, 'customer carts merged');
    expect(merged.lines).toEqual([expect.objectContaining({ sku: HAT, quantity: 3, channel: APP })]);
    expect(
      (
        await request(cart.app)
          .get('/cart')
          .set(await as(src)())
      ).body.lines,
    ).toEqual([]);
  });
});
