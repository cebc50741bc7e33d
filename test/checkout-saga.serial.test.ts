/**
 * The checkout saga against the real stack: orders, inventory and promotions as services on the real
 * Kafka and FerretDB, talking only through their command topics; the payment provider the built-in
 * test PSP over HTTP. Serial (run alone, after the parallel suites): every inventory and promotions
 * instance of another suite would answer the shared command topics from its own database.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { testGroups, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { signWebhook } from '../services/orders/src/payments/http-provider';
import { startTestPsp } from '../services/orders/src/payments/test-psp';
import type { OrderStatusChanged } from '@omnimall/contracts';
import {
  cartKnown,
  customerOn,
  setStock,
  Simulator,
  staff,
  startTestInventory,
  startTestOrders,
  startTestPromotions,
  type InventoryInstance,
  type OrdersInstance,
  type PromotionsInstance,
} from './checkout-support';

let sim: Simulator;
let inv: InventoryInstance;
let promos: PromotionsInstance;
let ord: OrdersInstance;
let recorder: TopicRecorder;
let admin: Record<string, string>;
const uid = uniqueName('co').slice(3);
const WEB = `web-${uid}`;
const MOBILE = `app-${uid}`;
const WH = `wh-${uid}`;
let n = 0;

const address = { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };

/** A customer with a cart of `lines` (SKU → quantity, stocked `stock` each), known to orders. */
async function shopper(
  lines: Record<string, number>,
  stock = 10,
  at: OrdersInstance = ord,
): Promise<{ customerId: string; skus: string[] }> {
  const customerId = `cu-${uid}-${++n}`;
  const skus = Object.keys(lines).map((s) => `${s}-${uid}-${n}`);
  await Promise.all(skus.map((sku) => setStock(inv, admin, sku, WH, stock)));
  await Promise.all(skus.flatMap((sku) => [sim.item(WEB, sku, 1500), sim.item(MOBILE, sku, 1500)]));
  await sim.customer(customerId);
  await sim.cart(
    customerId,
    1,
    skus.map((sku, i) => ({ sku, quantity: Object.values(lines)[i], channel: MOBILE })),
  );
  await cartKnown(at, customerId, 1);
  await waitFor(
    async () => (await at.store.projections.items.readMany(skus.map((s) => `${WEB}:${s}`))).size === skus.length,
    'items projected',
  );
  await waitFor(async () => (await at.store.projections.channels.get(WEB)) !== null, 'the channel projected');
  return { customerId, skus };
}

const checkout = async (
  customerId: string,
  token: string,
  key = randomUUID(),
  over: Record<string, unknown> = {},
  at: OrdersInstance = ord,
) =>
  request(at.app)
    .post('/checkouts')
    .set(await customerOn(customerId, WEB))
    .set('idempotency-key', key)
    .send({ cartVersion: 1, address, shipping: 'standard', paymentMethod: { token }, ...over });

const stockOf = async (sku: string) => (await inv.store.stock.get(sku))!.levels[WH];

async function statuses(orderId: string): Promise<OrderStatusChanged[]> {
  const mine = recorder.where((r) => r.topic === 'orders.order-status' && r.message.key?.toString() === orderId);
  return Promise.all(mine.map((r) => ord.runtime.schemas.decode<OrderStatusChanged>(r.message.value!)));
}

beforeAll(async () => {
  [sim, inv, promos, ord, recorder] = await Promise.all([
    Simulator.start(),
    startTestInventory(),
    startTestPromotions(),
    startTestOrders(),
    new TopicRecorder(testKafka(), ['orders.order-status']).start(),
  ]);
  admin = await staff(`admin-${uid}`, ['admin']);
  ord.psp!.setWebhookUrl(`${ord.url}/payments/webhooks`);
  await Promise.all([sim.channel(WEB), sim.channel(MOBILE, { kind: 'mobile' })]);
  await waitFor(async () => (await inv.store.config.channel(WEB)) !== null, 'inventory knows the channel');
  await waitFor(async () => (await ord.store.projections.channels.get(WEB)) !== null, 'orders knows the channel');
  const loc = await request(inv.app)
    .put(`/locations/${WH}`)
    .set(admin)
    .send({ name: 'wh', kind: 'warehouse', address: { line1: '1 St', city: 'Berlin', postalCode: '10115', country: 'DE' } });
  expect(loc.status).toBe(200);
  expect((await request(inv.app).put(`/channels/${WEB}/locations/${WH}`).set(admin).send({ priority: 1 })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([ord?.stop(), inv?.stop(), promos?.stop(), sim?.stop(), recorder?.stop()]);
});

it('confirms an order on another channel than the cart’s: stock reserved then committed, payment authorised then captured, every channel told', async () => {
  const { customerId, skus } = await shopper({ A: 2, B: 1 });
  const res = await checkout(customerId, 'tok_approve');
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ state: 'confirmed', channel: WEB, customerId, cartVersion: 1, steward: `channel-manager:${WEB}` });
  expect(res.body.price).toMatchObject({ currency: 'EUR', subtotalMinor: 4500, totalMinor: 4500 });
  expect(res.body.lines.map((l: { addedOn: string }) => l.addedOn)).toEqual([MOBILE, MOBILE]);
  expect(res.headers.location).toBe(`/orders/${res.body.id}`);
  const id = res.body.id as string;
  const done = await waitFor(async () => {
    const o = await ord.store.orders.get(id);
    return o?.saga.state === 'done' && o;
  }, 'the saga done');
  expect(done.payment.state).toBe('captured');
  expect(done.saga.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'reserve:done',
    'authorise:done',
    'commit_stock:done',
    'capture:done',
  ]);
  expect(await stockOf(skus[0])).toMatchObject({ onHand: 8, reserved: 0 });
  expect(ord.psp!.payments().get(id)).toMatchObject({ state: 'captured', amountMinor: 4500 });
  const told = await waitFor(async () => {
    const s = await statuses(id);
    return s.some((e) => e.status === 'paid') && s;
  }, 'the paid status');
  expect(told[0]).toMatchObject({
    status: 'placed',
    orderState: 'confirmed',
    paymentState: 'authorised',
    cartId: customerId,
    cartVersion: 1,
    totalMinor: 4500,
  });
  expect(told[0].lines).toEqual([
    { sku: skus[0], quantity: 2, unitPriceMinor: 1500, totalMinor: 3000 },
    { sku: skus[1], quantity: 1, unitPriceMinor: 1500, totalMinor: 1500 },
  ]);

  // the history is the customer's on every channel; another customer is refused
  const mine = await request(ord.app)
    .get('/orders')
    .set(await customerOn(customerId, MOBILE));
  expect(mine.status).toBe(200);
  expect(mine.body.map((o: { id: string }) => o.id)).toEqual([id]);
  const other = await request(ord.app)
    .get(`/orders/${id}`)
    .set(await customerOn(`someone-${uid}`, WEB));
  expect(other.status).toBe(403);
  expect(other.body.code).toBe('not_order_owner');
  const foreignManager = await request(ord.app)
    .get(`/orders/${id}`)
    .set(await staff(`m-${uid}`, ['channel_manager'], [MOBILE]));
  expect(foreignManager.status).toBe(403);
  expect(
    (
      await request(ord.app)
        .get(`/orders/${id}`)
        .set(await staff(`m2-${uid}`, ['channel_manager'], [WEB]))
    ).status,
  ).toBe(200);
});

it('declined payment: nothing is kept — the reservation released, the order cancelled, the customer told what to do', async () => {
  const { customerId, skus } = await shopper({ D: 3 });
  const res = await checkout(customerId, 'tok_decline');
  expect(res.status).toBe(402);
  expect(res.body).toMatchObject({ code: 'payment_declined', details: { remediation: 'use_another_payment_method' } });
  expect(res.body.hint).toMatch(/payment method/);
  const id = res.body.details.orderId as string;
  const o = await waitFor(async () => {
    const cur = await ord.store.orders.get(id);
    return cur?.saga.state === 'failed' && cur;
  }, 'the saga compensated');
  expect(o).toMatchObject({ state: 'cancelled', payment: { state: 'failed' } });
  expect(o.saga.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['reserve:done', 'authorise:failed', 'release_stock:done']);
  await waitFor(async () => (await stockOf(skus[0])).reserved === 0, 'the stock released');
  expect(await stockOf(skus[0])).toMatchObject({ onHand: 10, reserved: 0 });
  // the cart version is free again: a new checkout (another key) with a good card confirms
  const again = await checkout(customerId, 'tok_approve');
  expect(again.status).toBe(201);
});

it('a payment that times out is compensated by the sweeper, and the late approval voided', async () => {
  const { customerId, skus } = await shopper({ T: 1 });
  const res = await checkout(customerId, 'tok_timeout');
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'payment_timed_out', details: { remediation: 'retry' } });
  const id = res.body.details.orderId as string;
  const o = await waitFor(
    async () => {
      const cur = await ord.store.orders.get(id);
      return cur?.saga.state === 'failed' && cur;
    },
    'the saga compensated',
    15_000,
  );
  expect(o.state).toBe('cancelled');
  expect(o.saga.steps.find((s) => s.name === 'void')?.state).toBe('done');
  await waitFor(async () => ord.psp!.payments().get(id)?.state === 'voided', 'the late approval voided', 15_000);
  await waitFor(async () => (await stockOf(skus[0])).reserved === 0, 'the stock released');
});

it('the same checkout sent twice at once makes one order; the same key with another body is refused', async () => {
  const { customerId } = await shopper({ C: 1 });
  const key = randomUUID();
  const [a, b] = await Promise.all([checkout(customerId, 'tok_approve', key), checkout(customerId, 'tok_approve', key)]);
  const ids = [a, b].map((r) => r.body.id ?? r.body.details?.orderId);
  expect(ids[0]).toBe(ids[1]);
  expect([a.status, b.status].sort()).toEqual(expect.arrayContaining([201]));
  expect([a.status, b.status].every((s) => s === 201 || s === 409 || s === 200)).toBe(true);
  expect(await ord.store.orders.find({ customerId }, 10)).toHaveLength(1);
  const reused = await checkout(customerId, 'tok_approve', key, { shipping: 'express' });
  expect(reused.status).toBe(422);
  expect(reused.body.code).toBe('idempotency_key_reused');
  const replay = await checkout(customerId, 'tok_approve', key);
  expect(replay.status).toBe(200);
  expect(replay.body.id).toBe(ids[0]);
  // two devices, two keys, one cart version: one order
  const second = await checkout(customerId, 'tok_approve');
  expect(second.status).toBe(409);
  expect(second.body).toMatchObject({ code: 'cart_already_ordered', details: { orderId: ids[0] } });
});

it('a channel switched to maintenance refuses the checkout with the channel’s message, and stock is untouched', async () => {
  const { customerId, skus } = await shopper({ M: 1 });
  const back = Date.now() + 3_600_000;
  await sim.channel(WEB, { state: 'maintenance', expectedBackAt: back });
  await waitFor(async () => (await ord.store.projections.channels.get(WEB))?.value.state === 'maintenance', 'maintenance projected');
  try {
    const res = await checkout(customerId, 'tok_approve');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'channel_in_maintenance',
      details: { remediation: 'retry', expectedBackAt: new Date(back).toISOString() },
    });
    expect(res.body.hint).toMatch(/another channel/);
    expect(await stockOf(skus[0])).toMatchObject({ reserved: 0 });
  } finally {
    await sim.channel(WEB);
    await waitFor(async () => (await ord.store.projections.channels.get(WEB))?.value.state === 'active', 'active again');
  }
});

it('refuses bad input with a code and a hint, never a 5xx', async () => {
  const { customerId } = await shopper({ V: 1 });
  const noKey = await request(ord.app)
    .post('/checkouts')
    .set(await customerOn(customerId, WEB))
    .send({ address, shipping: 'standard', paymentMethod: { token: 'tok_approve' } });
  expect(noKey.status).toBe(400);
  expect(noKey.body.code).toBe('idempotency_key_required');
  const badShipping = await checkout(customerId, 'tok_approve', randomUUID(), { shipping: 'teleport' });
  expect(badShipping.status).toBe(422);
  expect(badShipping.body.code).toBe('shipping_unknown');
  const stale = await checkout(customerId, 'tok_approve', randomUUID(), { cartVersion: 7 });
  expect(stale.status).toBe(409);
  expect(stale.body.code).toBe('cart_changed');
  const staffCheckout = await request(ord.app).post('/checkouts').set(admin).set('idempotency-key', randomUUID()).send({});
  expect(staffCheckout.status).toBe(403);
  const unsigned = await request(ord.app)
    .post('/payments/webhooks')
    .send({ eventId: 'e', paymentId: 'p', state: 'captured', amountMinor: 1, occurredAt: 1 });
  expect(unsigned.status).toBe(400);
  expect(unsigned.body.code).toBe('webhook_signature_invalid');
});

it('cancellation gives the stock back and refunds; a refused transition names the allowed moves', async () => {
  const { customerId, skus } = await shopper({ X: 2 });
  const res = await checkout(customerId, 'tok_approve');
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  await waitFor(async () => (await ord.store.orders.get(id))?.saga.state === 'done', 'the saga done');
  expect(await stockOf(skus[0])).toMatchObject({ onHand: 8 });
  const cancelled = await request(ord.app)
    .post(`/orders/${id}/cancel`)
    .set(await customerOn(customerId, MOBILE))
    .send({});
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toMatchObject({ state: 'cancelled', payment: { state: 'refunded' } });
  await waitFor(async () => (await stockOf(skus[0])).onHand === 10, 'the stock returned');
  const again = await request(ord.app).post(`/orders/${id}/cancel`).set(admin).send({});
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ code: 'transition_refused', details: { field: 'order', from: 'cancelled', allowed: [] } });
  const s = await waitFor(async () => {
    const all = await statuses(id);
    return all.some((e) => e.status === 'cancelled') && all;
  }, 'the cancelled status');
  expect(s.at(-1)).toMatchObject({ status: 'cancelled', orderState: 'cancelled' });
});

it('a code and loyalty points: the hold names the code’s promotion, the order is priced with both, usage and points committed', async () => {
  const { customerId } = await shopper({ P: 2 });
  const created = await request(promos.app)
    .post('/promotions')
    .set(admin)
    .send({
      name: `code ${uid}`,
      level: 'cart',
      startsAt: Date.now() - 1000,
      endsAt: null,
      channels: [WEB],
      code: true,
      reward: { kind: 'percentage', percent: 10 },
    });
  expect(created.status).toBe(201);
  const promotionId = created.body.id as string;
  expect((await request(promos.app).post(`/promotions/${promotionId}/schedule`).query({ startNow: 'true' }).set(admin)).status).toBe(200);
  const code = `SAVE${uid}`
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 30);
  expect(
    (
      await request(promos.app)
        .post(`/promotions/${promotionId}/codes`)
        .set(admin)
        .send({ codes: [code] })
    ).status,
  ).toBe(201);
  const credited = await request(promos.app)
    .post(`/customers/${customerId}/loyalty/adjustments`)
    .set(admin)
    .set('idempotency-key', randomUUID())
    .send({ points: 500, reason: 'test credit' });
  expect(credited.status).toBe(201);
  await waitFor(
    async () => (await ord.store.projections.promotions.get(promotionId))?.value.published !== null,
    'the definition at orders',
  );

  const res = await checkout(customerId, 'tok_approve', randomUUID(), { codes: [code.toLowerCase()], points: 200 });
  expect(res.status).toBe(201);
  // 2 × 1500 = 3000, 10 % off with the code = 2700, 200 points worth 1 each = 2500
  expect(res.body.price).toMatchObject({
    subtotalMinor: 3000,
    discountMinor: 300,
    points: 200,
    pointsMinor: 200,
    totalMinor: 2500,
    codes: [{ code, promotionId }],
    promotionIds: [promotionId],
  });
  expect(res.body.payment.amountMinor).toBe(2500);
  const id = res.body.id as string;
  const done = await waitFor(async () => {
    const o = await ord.store.orders.get(id);
    return o?.saga.state === 'done' && o;
  }, 'the saga done');
  expect(done.saga.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'reserve:done',
    'hold_usage:done',
    'authorise:done',
    'commit_stock:done',
    'commit_usage:done',
    'capture:done',
  ]);
  expect((await promos.store.holds.get(id))?.state).toBe('committed');
  const ledger = await request(promos.app).get(`/customers/${customerId}/loyalty`).set(admin);
  expect(ledger.body.balance).toBe(300);
  expect(ord.psp!.payments().get(id)).toMatchObject({ state: 'captured', amountMinor: 2500 });
});

it('orders killed between the reservation and the authorisation: a new process resumes the saga from its log and confirms once', async () => {
  // the first process's provider takes the authorisation and never answers (the process dies meanwhile)
  const held: ServerResponse[] = [];
  const blackHole = createServer((req, res) => {
    if (req.method === 'POST') return void held.push(res);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'payment_unknown' }));
  });
  await new Promise<void>((ok) => blackHole.listen(0, '127.0.0.1', ok));
  const psp = await startTestPsp({ secret: 'resume-secret' });
  const groups = testGroups();
  const first = await startTestOrders({
    groups,
    settings: {
      pspUrl: `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`,
      pspSecret: 'x',
      paymentTimeoutMs: 60_000,
      // it dies before its sweeper would take the saga on: a new process must
      sweepMs: 600_000,
      waitMs: 500,
      paymentMs: 1500,
    },
  });
  let second: OrdersInstance | null = null;
  try {
    await sim.channel(WEB); // the new process's groups start at the end: it hears the channel from now on
    const { customerId, skus } = await shopper({ K: 1 }, 10, first);
    const res = await checkout(customerId, 'tok_approve', randomUUID(), {}, first);
    expect(res.status).toBe(202); // still deciding: the authorisation hangs
    const id = res.body.id as string;
    await waitFor(async () => held.length === 1, 'the authorisation under way');
    expect((await first.store.orders.get(id))!.saga.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
      'reserve:done',
      'authorise:running',
    ]);
    await first.stop();
    for (const r of held) r.socket?.destroy();
    blackHole.close();

    second = await startTestOrders({
      dbName: first.runtime.config.dbName,
      groups,
      settings: { pspUrl: psp.url, pspSecret: 'resume-secret', paymentMs: 1500 },
    });
    const done = await waitFor(
      async () => {
        const o = await second!.store.orders.get(id);
        return o?.saga.state === 'done' && o;
      },
      'the saga resumed and done',
      20_000,
    );
    expect(done.state).toBe('confirmed');
    expect(done.saga.steps.find((s) => s.name === 'authorise')).toMatchObject({ state: 'done', attempts: 2 });
    expect(psp.payments().get(id)).toMatchObject({ state: 'captured', amountMinor: 1500 });
    expect(await stockOf(skus[0])).toMatchObject({ onHand: 9, reserved: 0 });
    const placed = (await statuses(id)).filter((s) => s.status === 'placed');
    expect(placed).toHaveLength(1);
  } finally {
    await Promise.allSettled([second?.stop(), psp.close()]);
  }
});

it('provider webhooks: each event applied once (tok_twice delivers every one twice), never backwards, signed or refused', async () => {
  const { customerId } = await shopper({ W: 1 });
  const res = await checkout(customerId, 'tok_twice');
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  // the PSP delivers authorised and captured, each twice: every event id is kept once
  const o = await waitFor(async () => {
    const cur = await ord.store.orders.get(id);
    return cur?.saga.state === 'done' && cur.payment.webhookEvents.length >= 2 && cur;
  }, 'the webhooks received');
  expect(new Set(o.payment.webhookEvents).size).toBe(o.payment.webhookEvents.length);
  expect(o.payment.state).toBe('captured');
  const send = async (body: Record<string, unknown>, at = Date.now()) => {
    const raw = JSON.stringify(body);
    return request(ord.app)
      .post('/payments/webhooks')
      .set('content-type', 'application/json')
      .set('psp-signature', signWebhook(ord.pspSecret, raw, at))
      .send(raw);
  };
  const backwards = { eventId: `late-${uid}`, paymentId: id, state: 'authorised', amountMinor: 1500, occurredAt: Date.now() };
  expect((await send(backwards)).body).toMatchObject({ outcome: 'ignored' });
  expect((await send(backwards)).body).toMatchObject({ outcome: 'duplicate' });
  const refund = { eventId: `refund-${uid}`, paymentId: id, state: 'refunded', amountMinor: 1500, occurredAt: Date.now() };
  expect((await send(refund)).body).toMatchObject({ outcome: 'applied' });
  expect((await ord.store.orders.get(id))!.payment.state).toBe('refunded');
  const stale = await send({ ...refund, eventId: `stale-${uid}` }, Date.now() - 3_600_000);
  expect(stale.status).toBe(400);
  expect(stale.body.code).toBe('webhook_signature_invalid');
});

it('a partner’s reports move the fulfilment (its own order id kept), a delivered order completes, a late report changes nothing', async () => {
  const { customerId } = await shopper({ Q: 1 });
  const res = await checkout(customerId, 'tok_approve');
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  await waitFor(async () => (await ord.store.orders.get(id))?.saga.state === 'done', 'the saga done');
  await sim.partnerStatus(id, customerId, WEB, `P-${uid}`, 'shipped');
  await waitFor(async () => (await ord.store.orders.get(id))?.fulfilment.state === 'partially', 'shipped');
  await sim.partnerStatus(id, customerId, WEB, `P-${uid}`, 'delivered');
  const delivered = await waitFor(async () => {
    const o = await ord.store.orders.get(id);
    return o?.fulfilment.state === 'fulfilled' && o.fulfilment.lastPartnerStatus === 'delivered' && o;
  }, 'delivered');
  expect(delivered).toMatchObject({ state: 'completed', fulfilment: { partnerOrderId: `P-${uid}` } });
  // a late "shipped" after "delivered": the table refuses it, the order stays as it is
  await sim.partnerStatus(id, customerId, WEB, `P-${uid}`, 'shipped');
  await waitFor(async () => (await ord.store.orders.get(id))?.fulfilment.lastPartnerStatus === 'shipped', 'the late report seen');
  expect((await ord.store.orders.get(id))!.fulfilment.state).toBe('fulfilled');
  const told = await waitFor(async () => {
    const s = await statuses(id);
    return s.some((e) => e.status === 'delivered') && s;
  }, 'the delivered status');
  expect(told.find((e) => e.status === 'delivered')).toMatchObject({
    orderState: 'completed',
    fulfilmentState: 'fulfilled',
    partnerOrderId: `P-${uid}`,
  });
  // staff move fulfilment too, within the table: a return gives the stock back
  const returned = await request(ord.app).post(`/orders/${id}/fulfilment`).set(admin).send({ state: 'returned' });
  expect(returned.status).toBe(200);
  expect(returned.body).toMatchObject({ fulfilment: { state: 'returned' }, payment: { state: 'refunded' } });
  const wrong = await request(ord.app).post(`/orders/${id}/fulfilment`).set(admin).send({ state: 'fulfilled' });
  expect(wrong.status).toBe(409);
  expect(wrong.body.details).toMatchObject({ field: 'fulfilment', from: 'returned', allowed: [] });
});
