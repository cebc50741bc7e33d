/**
 * The cart's refusals and collisions as evidence on platform.exception (real Kafka, FerretDB and
 * registry; identity, channels and catalog-sync simulated by their events): a banned customer's
 * change and a stale If-Match each leave exactly one record naming kind, code, subject, channel,
 * actor and versions; a request without credentials leaves none.
 */
import request from 'supertest';
import type { ExceptionRecorded } from '@omnimall/contracts';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { asCustomer, asDevice, projected, Simulator, startTestCart, type CartInstance } from './support';

let sim: Simulator;
let cart: CartInstance;
let recorder: TopicRecorder;
const uid = uniqueName('t').slice(2);
const WEB = `web-${uid}`;
const US = `us-${uid}`;
const SHOE = 'SHOE-1';
const BARRED = 'KNIFE-1';

beforeAll(async () => {
  [sim, cart, recorder] = await Promise.all([
    Simulator.start(),
    startTestCart(),
    new TopicRecorder(testKafka(), ['platform.exception']).start(),
  ]);
  const vs = await Promise.all([
    sim.channel(WEB),
    sim.channel(US, { region: 'US', country: 'US', currencies: ['USD'], allowedDataRegions: ['US'] }),
    sim.item(WEB, SHOE, { priceMinor: 5999 }),
    sim.item(WEB, BARRED, { barredRegions: ['EU'] }),
  ]);
  await projected(cart, { channel: [WEB, vs[0]], item: [WEB, SHOE, vs[2]] });
  await Promise.all([projected(cart, { channel: [US, vs[1]] }), projected(cart, { item: [WEB, BARRED, vs[3]] })]);
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), recorder?.stop()]);
});

/** The platform.exception events the cart recorded for requests of one correlation id. */
async function recordedFor(correlationId: string): Promise<ExceptionRecorded[]> {
  const all = await Promise.all(recorder.records.map((r) => cart.runtime.schemas.decode<ExceptionRecorded>(r.message.value!)));
  return all.filter((e) => e.envelope.correlationId === correlationId && e.envelope.producer === 'cart');
}

/** Waits for the one record of a correlation id, then checks that no second one follows the cart's settling. */
async function theRecordOf(correlationId: string): Promise<ExceptionRecorded> {
  const [first] = await waitFor(() => recordedFor(correlationId), `the platform.exception record of ${correlationId}`);
  await cart.runtime.exceptions.settled();
  await cart.runtime.outbox.cleanup(0);
  expect(await recordedFor(correlationId)).toHaveLength(1);
  return first;
}

describe('the cart records its refusals and collisions on platform.exception', () => {
  it("records a banned customer's cart change as a refusal of the customer on the channel, by the customer", async () => {
    const c = uniqueName('cust');
    const v = await sim.customer(c, { status: 'banned', reason: 'fraud', change: 'banned' });
    await projected(cart, { customer: [c, v] });
    const corr = uniqueName('corr');
    const res = await request(cart.app)
      .post('/cart/lines')
      .set({ ...(await asCustomer(c, WEB)), 'x-correlation-id': corr })
      .send({ sku: SHOE });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('customer_banned');

    const e = await theRecordOf(corr);
    expect(e).toMatchObject({
      kind: 'refusal',
      code: 'customer_banned',
      status: 403,
      operation: 'POST /cart/lines',
      subjectKind: 'customer',
      subjectId: c,
      channel: WEB,
      actor: c,
      actorKind: 'customer',
      detail: 'this customer account is banned',
      expectedVersion: null,
      currentVersion: null,
    });
    expect(e.envelope).toMatchObject({
      type: 'exception.refusal',
      producer: 'cart',
      aggregateId: c,
      aggregateVersion: 0,
      sourceChannel: WEB,
    });
    // references only: the ban's reason (free text identity holds) is answered to the customer, never recorded
    expect(JSON.stringify(e)).not.toContain('fraud');
  });

  it('records a stale If-Match as a collision of the cart, with the version held and the version current', async () => {
    const c = uniqueName('cust');
    const h = await asCustomer(c, WEB);
    const first = await request(cart.app).post('/cart/lines').set(h).send({ sku: SHOE });
    expect(first.status).toBe(200);
    const held = first.body.version as number;
    const second = await request(cart.app).post('/cart/lines').set(h).set('if-match', `"${held}"`).send({ sku: SHOE });
    expect(second.status).toBe(200);
    const corr = uniqueName('corr');
    const stale = await request(cart.app)
      .put(`/cart/lines/${SHOE}`)
      .set({ ...h, 'if-match': `"${held}"`, 'x-correlation-id': corr })
      .send({ quantity: 5 });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('cart_version_mismatch');

    const e = await theRecordOf(corr);
    expect(e).toMatchObject({
      kind: 'collision',
      code: 'cart_version_mismatch',
      status: 412,
      operation: 'PUT /cart/lines/:sku',
      subjectKind: 'cart',
      subjectId: c,
      channel: WEB,
      actor: c,
      actorKind: 'customer',
      expectedVersion: String(held),
      currentVersion: String(held + 1),
    });
    expect(e.envelope.type).toBe('exception.collision');
  });

  it("records an item the market bars as a refusal of the product, and a device's channel refusal as one of its cart", async () => {
    const c = uniqueName('cust');
    const barredCorr = uniqueName('corr');
    const barred = await request(cart.app)
      .post('/cart/lines')
      .set({ ...(await asCustomer(c, WEB)), 'x-correlation-id': barredCorr })
      .send({ sku: BARRED });
    expect(barred.status).toBe(451);
    expect(await theRecordOf(barredCorr)).toMatchObject({
      kind: 'refusal',
      code: 'item_barred_in_region',
      subjectKind: 'product',
      subjectId: BARRED,
      channel: WEB,
      actor: c,
    });

    const device = uniqueName('dev');
    const mismatchCorr = uniqueName('corr');
    const mismatch = await request(cart.app)
      .post('/cart/lines')
      .set({ ...(await asDevice(device, WEB)), 'x-channel-code': US, 'x-correlation-id': mismatchCorr })
      .send({ sku: SHOE });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.code).toBe('channel_mismatch');
    expect(await theRecordOf(mismatchCorr)).toMatchObject({
      kind: 'refusal',
      code: 'channel_mismatch',
      subjectKind: 'cart',
      subjectId: `device:${device}`,
      channel: US,
      actor: null,
    });
  });

  it('records nothing for a request without credentials (401)', async () => {
    const corr = uniqueName('corr');
    const res = await request(cart.app).post('/cart/lines').set('x-correlation-id', corr).send({ sku: SHOE });
    expect(res.status).toBe(401);
    // a later refusal's record arriving proves the recorder and the topic were live meanwhile
    const c = uniqueName('cust');
    const v = await sim.customer(c, { status: 'banned', reason: 'fraud', change: 'banned' });
    await projected(cart, { customer: [c, v] });
    const later = uniqueName('corr');
    await request(cart.app)
      .get('/cart')
      .set({ ...(await asCustomer(c, WEB)), 'x-correlation-id': later })
      .expect(403);
    await theRecordOf(later);
    expect(await recordedFor(corr)).toEqual([]);
  });
});
