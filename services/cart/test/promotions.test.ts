import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { PromotionNotice, PromotionReadiness, SyncApplied } from '@omnimall/contracts';
import { asCustomer, consentKept, projected, PromotionsSimulator, Simulator, SseClient, startTestCart, type CartInstance } from './support';

/**
 * Promotions on the cart against the real Kafka, FerretDB and schema registry: the promotions
 * service is simulated (its definition, lifecycle and loyalty events published on their real topics),
 * as are identity, channels and catalog-sync.
 */
let sim: Simulator;
let promos: PromotionsSimulator;
let cart: CartInstance;
let recorder: TopicRecorder;
const uid = uniqueName('p').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const OLD = `old-${uid}`;
const SHOE = 'SHOE-1';
const HAT = 'HAT-1';
const BOOT = 'BOOT-1';

beforeAll(async () => {
  [sim, promos, cart, recorder] = await Promise.all([
    Simulator.start(),
    PromotionsSimulator.start(),
    startTestCart(),
    new TopicRecorder(testKafka(), ['cart.promotion-readiness', 'cart.promotion-notice', 'sync.applied']).start(),
  ]);
  const vs = await Promise.all([
    sim.channel(WEB),
    sim.channel(APP, { kind: 'mobile_app' }),
    sim.channel(OLD, { state: 'retired' }),
    ...[WEB, APP].flatMap((ch) => [sim.item(ch, SHOE, { priceMinor: 1000 }), sim.item(ch, HAT, { priceMinor: 505 })]),
    sim.item(WEB, BOOT),
  ]);
  await Promise.all([
    projected(cart, { channel: [WEB, vs[0]] }),
    projected(cart, { channel: [APP, vs[1]] }),
    projected(cart, { channel: [OLD, vs[2]] }),
    ...[WEB, APP].flatMap((ch, i) => [
      projected(cart, { item: [ch, SHOE, vs[3 + i * 2]] }),
      projected(cart, { item: [ch, HAT, vs[4 + i * 2]] }),
    ]),
    projected(cart, { item: [WEB, BOOT, vs[7]] }),
  ]);
});

/** Waits until this instance's copy holds the promotion at `version`. */
const known = (id: string, version = 1) =>
  waitFor(() => (cart.promotions.get(id)?.version ?? 0) >= version, `promotion ${id} v${version} in the cart's copy`);

// Every test prices only its own promotions: the others are withdrawn after each.
afterEach(async () => {
  await Promise.all((await promos.withdrawAll()).map(([id, version]) => known(id, version)));
});

afterAll(async () => {
  await Promise.allSettled([cart?.stop(), sim?.stop(), promos?.stop(), recorder?.stop()]);
});

interface Offer {
  promotionId: string;
  name: string;
  amountMinor: number;
}
interface View {
  lines: { sku: string; offers: Offer[]; lineTotalMinor: number; discountedTotalMinor: number }[];
  totals: { currency: string; subtotalMinor: number; discountMinor: number; totalMinor: number }[];
  notApplied: { promotionId: string; reason: string }[];
  gifts: { sku: string; promotionId: string }[];
  pricedAt: string | null;
  loyalty: { balance: number; tier: string } | null;
}

const view = async (headers: Record<string, string>): Promise<View> => {
  const res = await request(cart.app).get('/cart').set(headers);
  expect(res.status).toBe(200);
  return res.body as View;
};

const lineOf = (v: View, sku: string) => v.lines.find((l) => l.sku === sku)!;

/** A customer on both channels with one SHOE (1000) and two HATs (505) in the cart. */
async function shopper(): Promise<{ id: string; web: Record<string, string>; app: Record<string, string> }> {
  const id = uniqueName('cust');
  const web = await asCustomer(id, WEB);
  await request(cart.app).post('/cart/lines').set(web).send({ sku: SHOE }).expect(200);
  await request(cart.app).post('/cart/lines').set(web).send({ sku: HAT, quantity: 2 }).expect(200);
  return { id, web, app: await asCustomer(id, APP) };
}

describe('promotions on the cart', () => {
  it('prices a definition delivered after its start from the start (the late start event)', async () => {
    const s = await shopper();
    const startsAt = Date.now() - 60_000;
    const id = await promos.define({ startsAt, channels: [WEB], reward: { kind: 'percentage', percent: 10 }, skus: [SHOE] });
    await known(id);
    const v = await view(s.web);
    expect(Date.parse(v.pricedAt!)).toBeGreaterThanOrEqual(startsAt);
    expect(lineOf(v, SHOE).offers).toEqual([{ promotionId: id, name: `promo ${id}`, code: null, amountMinor: 100 }]);
    expect(lineOf(v, SHOE).discountedTotalMinor).toBe(900);
    expect(lineOf(v, HAT).offers).toEqual([]);
    expect(v.totals).toEqual([{ currency: 'EUR', subtotalMinor: 2010, units: 3, discountMinor: 100, totalMinor: 1910 }]);
    expect(v.notApplied.filter((n) => n.promotionId === id)).toEqual([]);
  });

  it('prices a definition delivered ahead of its start from exactly its start, never before', async () => {
    const s = await shopper();
    const startsAt = Date.now() + 1500;
    const id = await promos.define({ startsAt, channels: [WEB], reward: { kind: 'fixed_amount', amountMinor: 50 }, skus: [HAT] });
    await known(id);
    const seen: View[] = [];
    await waitFor(
      async () => {
        const v = await view(s.web);
        seen.push(v);
        return lineOf(v, HAT).offers.length > 0;
      },
      'the offer from the start',
      10_000,
    );
    const before = seen.filter((v) => Date.parse(v.pricedAt!) < startsAt);
    const after = seen.filter((v) => Date.parse(v.pricedAt!) >= startsAt);
    expect(before.length).toBeGreaterThan(0);
    for (const v of before) {
      expect(lineOf(v, HAT).offers).toEqual([]);
      expect(v.notApplied).toContainEqual({ promotionId: id, reason: 'not_started' });
    }
    expect(after.length).toBeGreaterThan(0);
    for (const v of after) expect(lineOf(v, HAT).offers).toEqual([{ promotionId: id, name: `promo ${id}`, code: null, amountMinor: 100 }]);
    // the first view from the start shows it, within the polling step of the start
    expect(Date.parse(after[0].pricedAt!) - startsAt).toBeLessThan(1000);
  });

  it("shows a channel's exclusion on that channel only: one cart viewed from two channels", async () => {
    const s = await shopper();
    const id = await promos.define({
      startsAt: Date.now() - 1000,
      channels: null,
      reward: { kind: 'percentage', percent: 20 },
      skus: [SHOE],
      overrides: [{ channel: APP, excluded: true, reward: null, startsAt: null, endsAt: null, until: null }],
    });
    await known(id);
    const [web, app] = await Promise.all([view(s.web), view(s.app)]);
    expect(lineOf(web, SHOE).offers.map((o) => [o.promotionId, o.amountMinor])).toEqual([[id, 200]]);
    expect(lineOf(app, SHOE).offers).toEqual([]);
    expect(app.totals[0]).toMatchObject({ discountMinor: 0, totalMinor: app.totals[0].subtotalMinor });
  });

  it("prices every pushed change for the session's channel, offers included", async () => {
    const s = await shopper();
    const id = await promos.define({
      startsAt: Date.now() - 1000,
      channels: [APP],
      reward: { kind: 'percentage', percent: 10 },
      skus: [HAT],
    });
    await known(id);
    const [web, app] = await Promise.all([SseClient.open(cart.url, s.web), SseClient.open(cart.url, s.app)]);
    try {
      await request(cart.app).put(`/cart/lines/${HAT}`).set(s.web).send({ quantity: 4 }).expect(200);
      const pushed = (c: SseClient) =>
        waitFor(
          () => c.changes().find((e) => (e.data.lines as { sku: string; quantity: number }[]).some((l) => l.quantity === 4)),
          'the push',
        );
      const [onWeb, onApp] = (await Promise.all([pushed(web), pushed(app)])).map((e) => e.data.view as View);
      expect(lineOf(onApp, HAT).offers.map((o) => [o.promotionId, o.amountMinor])).toEqual([[id, 200]]);
      expect(onApp.pricedAt).not.toBeNull();
      expect(lineOf(onWeb, HAT).offers).toEqual([]);
      expect(onWeb.totals[0]).toMatchObject({ subtotalMinor: 3020, discountMinor: 0 });
    } finally {
      web.close();
      app.close();
    }
  });

  it('answers readiness per targeted channel: acknowledged, or an error with the reason', async () => {
    const ghost = `ghost-${uid}`;
    const id = await promos.define({
      startsAt: Date.now() + 60_000,
      channels: [WEB, OLD, ghost],
      reward: { kind: 'percentage', percent: 5 },
    });
    const answer = await waitFor(async () => {
      for (const r of recorder.where((x) => x.topic === 'cart.promotion-readiness')) {
        const v = await cart.runtime.schemas.decode<PromotionReadiness>(r.message.value!);
        if (v.promotionId === id) return v;
      }
      return null;
    }, `readiness of ${id}`);
    expect(answer.version).toBe(1);
    expect(answer.envelope.producer).toBe('cart');
    expect(answer.channels).toEqual([
      { channel: ghost, state: 'error', reason: 'channel_unknown' },
      { channel: OLD, state: 'error', reason: 'channel_retired' },
      { channel: WEB, state: 'acknowledged', reason: null },
    ]);
  });

  it("shows the customer's loyalty balance and tier from the ledger", async () => {
    const s = await shopper();
    expect((await view(s.web)).loyalty).toBeNull();
    await promos.loyalty(s.id, { balance: 120, tier: 'silver' }, 1);
    await promos.loyalty(s.id, { balance: 80, tier: 'silver' }, 2);
    await waitFor(async () => (await view(s.web)).loyalty?.balance === 80, 'the balance after the second entry');
    expect((await view(s.app)).loyalty).toEqual({ balance: 80, tier: 'silver' });
  });

  it("applies a promotion on the customer's tier once identity publishes it", async () => {
    const s = await shopper();
    await projected(cart, { customer: [s.id, await sim.customer(s.id, { loyaltyTier: 'basic' })] });
    const id = await promos.define({
      startsAt: Date.now() - 1000,
      channels: [WEB],
      reward: { kind: 'percentage', percent: 50 },
      condition: { field: 'customer.tier', op: 'eq', value: 'gold' },
    });
    await known(id);
    const basic = await view(s.web);
    expect(basic.lines.flatMap((l) => l.offers)).toEqual([]);
    expect(basic.notApplied).toContainEqual({ promotionId: id, reason: 'condition_false' });
    await sim.customer(s.id, { loyaltyTier: 'gold', change: 'tier_changed' });
    const gold = await waitFor(async () => {
      const v = await view(s.web);
      return v.totals[0].discountMinor > 0 ? v : null;
    }, 'the gold price');
    expect(lineOf(gold, SHOE).offers.map((o) => o.amountMinor)).toEqual([500]);
    expect(gold.totals[0]).toMatchObject({ subtotalMinor: 2010, discountMinor: 1004, totalMinor: 1006 });
  });

  it('notices the customers whose carts or wishlists hold a started promotion’s SKU, once per version', async () => {
    const [holder, wisher] = [await shopper(), await shopper()];
    await request(cart.app).post('/cart/lines').set(holder.web).send({ sku: BOOT }).expect(200);
    await request(cart.app).put(`/cart/wishlist/${BOOT}`).set(wisher.web).expect(200);
    await marketingConsent([holder.id, wisher.id], WEB);
    const id = await promos.define({
      startsAt: Date.now() - 10,
      channels: [WEB],
      reward: { kind: 'percentage', percent: 5 },
      skus: [BOOT],
    });
    const started = await promos.started(id, 1, [WEB], [BOOT]);
    const notice = await waitFor(() => cart.store.promotions.notice(`${id}:1`), 'the notice of the start');
    expect([...notice.recipients].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))).toEqual(
      [holder.id, wisher.id].sort().map((customerId) => ({ customerId, channel: WEB, skus: [BOOT] })),
    );
    expect(notice.withoutConsent).toBe(0);
    // the notice's record asks channels to tell both customers on the web channel
    const [record] = await noticeRecords(id, 1, 1);
    expect(record.key).toBe(`${id}:1:0`);
    expect(record.value).toMatchObject({
      promotionId: id,
      version: 1,
      name: `promo ${id}`,
      startsAt: started.value.startsAt,
      endsAt: null,
      channels: [WEB],
      skus: [BOOT],
      batch: 0,
      batches: 1,
    });
    expect(record.value.envelope).toMatchObject({ producer: 'cart', aggregateId: `${id}:1:0`, aggregateVersion: 1 });
    expect(record.value.envelope.correlationId).toBe(started.value.envelope.correlationId);
    expect([...record.value.customers].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))).toEqual(
      [holder.id, wisher.id].sort().map((customerId) => ({ customerId, channel: WEB })),
    );
    // a replay of the event and the same start published again notice nobody twice; the next version is its own notice
    await promos.publish(started);
    await promos.started(id, 1, [WEB], [BOOT]);
    await promos.started(id, 2, [WEB], [BOOT]);
    await waitFor(() => cart.store.promotions.notice(`${id}:2`), 'the next version noticed');
    expect(await cart.store.promotions.notice(`${id}:1`)).toEqual(notice);
    await noticeRecords(id, 2, 1);
    expect(await recordsOf(id, 1)).toHaveLength(1);
  });

  it('writes no notice record when no cart holds a started promotion’s SKU', async () => {
    const CAP = `CAP-${uid}`;
    await projected(cart, { item: [WEB, CAP, await sim.item(WEB, CAP)] });
    const id = await promos.define({ startsAt: Date.now() - 10, channels: [WEB], reward: { kind: 'percentage', percent: 5 }, skus: [CAP] });
    await promos.started(id, 1, [WEB], [CAP]);
    const notice = await waitFor(() => cart.store.promotions.notice(`${id}:1`), 'the (empty) notice of the start');
    expect(notice.recipients).toEqual([]);
    // the next version's record follows the first version's on the same partition: the first wrote none
    const s = await shopper();
    await request(cart.app).post('/cart/lines').set(s.web).send({ sku: CAP }).expect(200);
    await marketingConsent([s.id], WEB);
    await promos.started(id, 2, [WEB], [CAP]);
    const [second] = await noticeRecords(id, 2, 1);
    expect(second.value.customers).toEqual([{ customerId: s.id, channel: WEB }]);
    expect(await recordsOf(id, 1)).toEqual([]);
  });

  it('names only customers with marketing consent on the channel they are told on, and counts the others', async () => {
    const SCARF = `SCARF-${uid}`;
    await Promise.all([WEB, APP].map(async (ch) => projected(cart, { item: [ch, SCARF, await sim.item(ch, SCARF)] })));
    const [consenting, silent, withdrawn] = [await shopper(), await shopper(), await shopper()];
    for (const s of [consenting, silent, withdrawn])
      await request(cart.app).post('/cart/lines').set(s.web).send({ sku: SCARF }).expect(200);
    // `elsewhere` holds the SKU on the web channel but shops on the app too, and consented there only
    const elsewhere = { id: uniqueName('cust') };
    await request(cart.app)
      .post('/cart/lines')
      .set(await asCustomer(elsewhere.id, WEB))
      .send({ sku: SCARF })
      .expect(200);
    await request(cart.app)
      .post('/cart/lines')
      .set(await asCustomer(elsewhere.id, APP))
      .send({ sku: SHOE })
      .expect(200);
    const given = Date.now();
    await marketingConsent([consenting.id, withdrawn.id], WEB, given);
    await marketingConsent([elsewhere.id], APP, given);
    // the withdrawal, then an older grant arriving late: the newest change wins
    await sim.consent(withdrawn.id, WEB, false, given + 1);
    await consentKept(cart, withdrawn.id, WEB, given + 1);
    const late = await sim.consent(withdrawn.id, WEB, true, given - 1_000);
    await waitFor(async () => (await projectionAcks(late.value.envelope.eventId)).length > 0, 'the late grant handled');
    expect(await cart.store.consents.get(withdrawn.id, WEB)).toMatchObject({ marketing: false, changedAt: given + 1 });

    const id = await promos.define({
      startsAt: Date.now() - 10,
      channels: [WEB, APP],
      reward: { kind: 'percentage', percent: 5 },
      skus: [SCARF],
    });
    await promos.started(id, 1, [WEB, APP], [SCARF]);
    const notice = await waitFor(() => cart.store.promotions.notice(`${id}:1`), 'the notice of the start');
    expect([...notice.recipients].sort((a, b) => (a.customerId < b.customerId ? -1 : 1))).toEqual(
      [
        { customerId: consenting.id, channel: WEB, skus: [SCARF] },
        { customerId: elsewhere.id, channel: APP, skus: [SCARF] },
      ].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)),
    );
    expect(notice.withoutConsent).toBe(2); // silent (no consent known) and withdrawn
    const [record] = await noticeRecords(id, 1, 1);
    expect(record.value.customers.map((c) => c.customerId).sort()).toEqual([consenting.id, elsewhere.id].sort());

    // an erasure removes the customer from the stored notices and its consents
    const erased = sim.dataRequestEvent(consenting.id);
    await sim.rt.publisher.publish([erased]);
    await waitFor(
      async () => !(await cart.store.promotions.notice(`${id}:1`))?.recipients.some((r) => r.customerId === consenting.id),
      'the erased customer unnamed',
    );
    await waitFor(async () => (await cart.store.consents.get(consenting.id, WEB)) === null, 'the erased customer’s consent removed');
    expect((await cart.store.promotions.notice(`${id}:1`))?.recipients).toEqual([
      { customerId: elsewhere.id, channel: APP, skus: [SCARF] },
    ]);
    // a consent change still on its way when the erasure ran does not bring one back
    const stray = await sim.consent(consenting.id, APP, true);
    await waitFor(async () => (await projectionAcks(stray.value.envelope.eventId)).length > 0, 'the stray consent handled');
    expect(await cart.store.consents.get(consenting.id, APP)).toBeNull();
  });
});

/** Publishes marketing consent of these customers on a channel and waits until the cart keeps it. */
async function marketingConsent(customerIds: string[], channel: string, changedAt = Date.now()): Promise<void> {
  for (const id of customerIds) await sim.consent(id, channel, true, changedAt);
  await Promise.all(customerIds.map((id) => consentKept(cart, id, channel, changedAt)));
}

/** The outcomes the cart's projections group acknowledged for one event (sync.applied, keyed by event id). */
async function projectionAcks(eventId: string): Promise<string[]> {
  const group = cart.consumers.projections.name;
  const records = recorder.where((r) => r.topic === 'sync.applied' && r.message.key?.toString() === eventId);
  const acks = await Promise.all(records.map((r) => cart.runtime.schemas.decode<SyncApplied>(r.message.value!)));
  return acks.filter((a) => a.consumer === group).map((a) => a.outcome);
}

/** The cart.promotion-notice records of a promotion version recorded so far. */
async function recordsOf(id: string, version: number): Promise<{ key: string; value: PromotionNotice }[]> {
  const out: { key: string; value: PromotionNotice }[] = [];
  for (const r of recorder.where((x) => x.topic === 'cart.promotion-notice')) {
    const value = await cart.runtime.schemas.decode<PromotionNotice>(r.message.value!);
    if (value.promotionId === id && value.version === version) out.push({ key: String(r.message.key), value });
  }
  return out;
}

/** The cart.promotion-notice records of a promotion version, once at least `count` (> 0) were recorded. */
const noticeRecords = (id: string, version: number, count: number) =>
  waitFor(async () => {
    const out = await recordsOf(id, version);
    return out.length >= count ? out : null;
  }, `${count} notice record(s) of ${id} v${version}`);
