/**
 * A tier upgrade reaching cart and the channel apps (issue 21), across the real services: identity,
 * promotions and cart run in-process as they run (their defineService handles, test databases and
 * groups, the real Kafka, FerretDB and schema registry). Stand-ins publish only what services not
 * started here would: the channels service's channel and catalog-sync's item, and the orders
 * service's `paid` status.
 *
 * The chain: an admin configures earn rules and tiers and schedules a promotion for gold customers
 * (promotions.definition reaches cart) → a customer registered in identity has the item in their
 * cart, the promotion not applied (`condition_false`) → the order is paid → promotions earns and
 * upgrades (promotions.tier-changed, promotions.loyalty-entry) → identity applies the tier and
 * republishes identity.customer-status → cart prices the line with the gold promotion and shows the
 * ledger; a channel app's quote for the customer applies it too. The time from the order's status
 * to the first gold-priced cart view is logged.
 */
import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { projected, Simulator, startTestCart, type CartInstance } from '../services/cart/test/support';
import { registerCustomer, startTestIdentity } from '../services/identity/test/support/harness';
import type { RunningIdentity } from '../services/identity/src/main';
import { createPromotion, staff, startTestPromotions, type PromotionsInstance } from '../services/promotions/test/support';
import { Orders } from '../services/promotions/test/usage-support';

jest.setTimeout(120_000);

const uid = uniqueName('lt').slice(3);
const CHANNEL = `tier-${uid}`;
const SKU = 'TIER-SHOE-1';

let identity: RunningIdentity;
let promo: PromotionsInstance;
let cart: CartInstance;
let sim: Simulator;
let orders: Orders;
let admin: Record<string, string>;

interface View {
  lines: { sku: string; offers: { promotionId: string; amountMinor: number }[]; discountedTotalMinor: number }[];
  totals: { subtotalMinor: number; discountMinor: number; totalMinor: number }[];
  notApplied: { promotionId: string; reason: string }[];
  loyalty: { balance: number; tier: string } | null;
}

beforeAll(async () => {
  [identity, promo, cart, sim, orders] = await Promise.all([
    startTestIdentity(),
    startTestPromotions(),
    startTestCart(),
    Simulator.start(),
    Orders.start(),
  ]);
  admin = await staff(`admin-${uid}`, ['admin']);
  // the channels service's word on the channel (identity's residency rule, cart's channel) and catalog-sync's item
  const [channelVersion, itemVersion] = await Promise.all([
    sim.channel(CHANNEL, { allowedDataRegions: ['eu'] }),
    sim.item(CHANNEL, SKU, { priceMinor: 1000 }),
  ]);
  await Promise.all([
    projected(cart, { channel: [CHANNEL, channelVersion], item: [CHANNEL, SKU, itemVersion] }),
    waitFor(() => identity.store.channelRules.get(CHANNEL), 'the channel in identity'),
  ]);
  const put = (path: string, body: object) => request(promo.app).put(path).set(admin).send(body).expect(200);
  await put('/loyalty/earn-rules', { pointsPerUnit: 1 });
  const tiers = [
    { name: 'standard', threshold: 0 },
    { name: 'gold', threshold: 1000 },
  ];
  await put('/loyalty/tiers', { tiers, periodDays: 30, downgrade: 'to_qualified' });
});

afterAll(async () => {
  await Promise.allSettled([identity?.stop(), promo?.stop(), cart?.stop(), sim?.stop(), orders?.stop()]);
});

it('prices the cart with the gold promotion once the paid order upgrades the customer, and a channel app’s quote agrees', async () => {
  const customer = await registerCustomer(identity, { channel: CHANNEL });
  const shopper = { authorization: `Bearer ${customer.accessToken}`, 'x-channel-code': CHANNEL };
  await waitFor(async () => (await cart.store.customers.get(customer.id))?.value.loyaltyTier === 'standard', 'the customer in cart');
  await request(cart.app).post('/cart/lines').set(shopper).send({ sku: SKU }).expect(200);

  const { id: promotionId } = await createPromotion(promo, admin, {
    name: `Gold half ${uid}`,
    level: 'cart',
    startsAt: Date.now() + 200,
    endsAt: null,
    channels: [CHANNEL],
    condition: { field: 'customer.tier', op: 'eq', value: 'gold' },
    reward: { kind: 'percentage', percent: 50 },
  });
  await request(promo.app).post(`/promotions/${promotionId}/schedule`).query({ startNow: 'true' }).set(admin).expect(200);

  const view = async (): Promise<View> => {
    const res = await request(cart.app).get('/cart').set(shopper);
    expect(res.status).toBe(200);
    return res.body as View;
  };
  const quote = async () => {
    const res = await request(promo.app)
      .post('/quotes')
      .set(shopper)
      .send({ lines: [{ sku: SKU, quantity: 1, unitPriceMinor: 1000 }] });
    expect(res.status).toBe(200);
    return res.body as {
      lines: { adjustments: { promotionId: string; amountMinor: number }[] }[];
      notApplied: { promotionId: string; reason: string }[];
    };
  };

  // before the upgrade: known to cart and started, but the condition does not hold
  const standard = await waitFor(async () => {
    const v = await view();
    return v.notApplied.some((n) => n.promotionId === promotionId && n.reason === 'condition_false') && v;
  }, 'the promotion not applied to a standard customer');
  expect(standard.lines[0].offers).toEqual([]);
  expect(standard.totals[0]).toMatchObject({ subtotalMinor: 1000, discountMinor: 0, totalMinor: 1000 });
  expect(standard.loyalty).toBeNull();
  const standardQuote = await waitFor(async () => {
    const q = await quote();
    return q.notApplied.some((n) => n.promotionId === promotionId && n.reason === 'condition_false') && q;
  }, 'the quote of a standard customer');
  expect(standardQuote.lines[0].adjustments).toEqual([]);

  // the order is paid: 1500.00 EUR earns 1500 points, past gold's 1000
  const paidAt = Date.now();
  await orders.status({ orderId: `o-${uid}`, customerId: customer.id, channel: CHANNEL, status: 'paid', totalMinor: 150_000 });
  const gold = await waitFor(
    async () => {
      const v = await view();
      return v.totals[0].discountMinor > 0 && v;
    },
    'the gold price in the cart',
    15_000,
    10,
  );
  const elapsed = Date.now() - paidAt;
  console.log(`order paid → gold price in the cart view: ${elapsed} ms`);
  expect(gold.lines[0].offers.map((o) => [o.promotionId, o.amountMinor])).toEqual([[promotionId, 500]]);
  expect(gold.totals[0]).toMatchObject({ subtotalMinor: 1000, discountMinor: 500, totalMinor: 500 });
  expect(gold.notApplied.filter((n) => n.promotionId === promotionId)).toEqual([]);
  // the seed's 2 s: measured at 90–390 ms on the local stack under a shared load
  expect(elapsed).toBeLessThan(2000);

  // every hop on the way: promotions' upgrade, identity's standing, cart's projections of both
  const upgrade = await orders.waitFor(promo, 'promotions.tier-changed', customer.id, (t) => t.tier === 'gold', 'the upgrade');
  expect(upgrade).toMatchObject({ previousTier: 'standard', reason: 'upgrade', qualifyingPoints: 1500 });
  expect((await identity.store.customers.get(customer.id))!.loyaltyTier).toBe('gold');
  // cart's view reads its in-memory gate copy (fed by a per-instance group); the stored projection is
  // written by the shared projections group, which may apply the same event a moment later
  await waitFor(
    async () => (await cart.store.customers.get(customer.id))?.value.loyaltyTier === 'gold',
    'cart’s stored projection of the customer at gold',
  );
  const withLedger = await waitFor(async () => {
    const v = await view();
    return v.loyalty && v;
  }, 'the ledger in the cart view');
  expect(withLedger.loyalty).toEqual({ balance: 1500, tier: 'gold' });

  // the channel app's quote for the same customer reads the ledger's tier
  const goldQuote = await waitFor(async () => {
    const q = await quote();
    return q.lines[0].adjustments.some((a) => a.promotionId === promotionId) && q;
  }, 'the gold quote');
  expect(goldQuote.lines[0].adjustments.filter((a) => a.promotionId === promotionId).map((a) => a.amountMinor)).toEqual([500]);
});
