import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { CustomerStatusChanged } from '@omnimall/contracts';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { registerCustomer, startTestIdentity } from '../../identity/test/support/harness';
import type { RunningIdentity } from '../../identity/src/main';
import { customerOn, staff, startTestPromotions, type PromotionsInstance } from './support';
import { Orders, post } from './usage-support';

/**
 * The loyalty ledger on the real stack: earning on the orders service's statuses (once per order),
 * giving back on cancellation, the expiry and tier workers, and a tier upgrade reaching identity,
 * which republishes the customer's status with it.
 */
let promo: PromotionsInstance;
let identity: RunningIdentity;
let orders: Orders;
let statuses: TopicRecorder;
let admin: Record<string, string>;
const uid = uniqueName('l').slice(2);
const DAY = 86_400_000;

const ledgerOf = async (customerId: string) =>
  (
    await request(promo.app)
      .get(`/customers/${customerId}/loyalty`)
      .set(await customerOn(customerId, 'web'))
  ).body;

beforeAll(async () => {
  [promo, identity, orders, statuses] = await Promise.all([
    startTestPromotions({ settings: { pointsTtlDays: 30, maxHoldSeconds: 86_400 * 60 } }),
    startTestIdentity(),
    Orders.start(),
    new TopicRecorder(testKafka(), ['identity.customer-status']).start(),
  ]);
  admin = await staff(`admin-${uid}`, ['admin']);
  expect(
    (
      await request(promo.app)
        .put('/loyalty/earn-rules')
        .set(admin)
        .send({ pointsPerUnit: 1, channelMultipliers: { app: 2 } })
    ).status,
  ).toBe(200);
  const tiers = {
    tiers: [
      { name: 'standard', threshold: 0 },
      { name: 'silver', threshold: 100 },
      { name: 'gold', threshold: 1000 },
    ],
    periodDays: 30,
    downgrade: 'one_step',
  };
  expect((await request(promo.app).put('/loyalty/tiers').set(admin).send(tiers)).status).toBe(200);
});

afterAll(async () => {
  await Promise.allSettled([promo?.stop(), identity?.stop(), orders?.stop(), statuses?.stop()]);
});

it('earns on a paid order once, and takes it back with the order’s usage hold when it is cancelled', async () => {
  const customer = `earn-${uid}`;
  const order = `o-${uid}-1`;
  await orders.status({ orderId: order, customerId: customer, channel: 'app', status: 'paid', totalMinor: 2550 });
  await waitFor(async () => (await ledgerOf(customer)).balance === 51, 'the earn (25.50 × 2 on app)');
  await orders.status({ orderId: order, customerId: customer, channel: 'app', status: 'paid', totalMinor: 2550 }); // replayed
  const second = `o-${uid}-2`;
  await orders.status({ orderId: second, customerId: customer, status: 'paid', totalMinor: 1000 });
  await waitFor(async () => (await ledgerOf(customer)).balance === 61, 'the second order’s earn');
  expect((await ledgerOf(customer)).entries.filter((e: { kind: string }) => e.kind === 'earn')).toHaveLength(2);

  const hold = await post(promo, '/holds', { ...(await customerOn(customer, 'web')), 'idempotency-key': randomUUID() }, { points: 20 });
  expect(hold.status).toBe(201);
  expect((await post(promo, `/holds/${hold.body.id}/commit`, admin)).status).toBe(200);
  expect((await ledgerOf(customer)).balance).toBe(41);
  await orders.status({ orderId: order, customerId: customer, channel: 'app', status: 'cancelled', usageHoldId: hold.body.id });
  await waitFor(async () => (await promo.store.holds.get(hold.body.id))?.state === 'reverted', 'the order’s hold reverted');
  const after = await waitFor(async () => {
    const l = await ledgerOf(customer);
    return l.entries.some((e: { id: string }) => e.id === `reverse:earn:${order}`) && l;
  }, 'the earn reversed');
  expect(after.balance).toBe(10); // 61 earned, 20 burnt then given back, 51 taken back
  const entry = await orders.waitFor(
    promo,
    'promotions.loyalty-entry',
    customer,
    (e) => e.entryId === `reverse:earn:${order}`,
    'the entry',
  );
  expect(entry).toMatchObject({ kind: 'reverse', points: -51, balance: 10, source: `order:${order}` });
});

it('expires points past their date (oldest lots first), never those a hold needs', async () => {
  const customer = `exp-${uid}`;
  const key = randomUUID();
  const adj = await post(
    promo,
    `/customers/${customer}/loyalty/adjustments`,
    { ...admin, 'idempotency-key': key },
    { points: 30, reason: 'welcome' },
  );
  expect(adj.status).toBe(201);
  const replay = await post(
    promo,
    `/customers/${customer}/loyalty/adjustments`,
    { ...admin, 'idempotency-key': key },
    { points: 31, reason: 'welcome' },
  );
  expect(replay.status).toBe(422);
  const h = await post(
    promo,
    '/holds',
    { ...(await customerOn(customer, 'web')), 'idempotency-key': randomUUID() },
    { points: 10, ttlSeconds: 86_400 * 40 },
  );
  expect(h.status).toBe(201);
  await promo.loyalty.tick(Date.now() + 31 * DAY);
  const l = await ledgerOf(customer);
  expect(l).toMatchObject({ balance: 10, held: 10 });
  expect(l.entries.at(-1)).toMatchObject({ kind: 'expire', points: -20, source: 'system:expiry' });
});

it('upgrades a customer’s tier at once on earning, and identity republishes their status with it; a period later it falls one step', async () => {
  const { id } = await registerCustomer(identity);
  await orders.status({ orderId: `t-${uid}`, customerId: id, status: 'paid', totalMinor: 150_000 });
  const changed = await orders.waitFor(promo, 'promotions.tier-changed', id, (t) => t.tier === 'gold', 'the upgrade');
  expect(changed).toMatchObject({ previousTier: 'standard', reason: 'upgrade', qualifyingPoints: 1500 });
  const status = await waitFor(async () => {
    const mine = statuses.where((r) => r.message.key?.toString() === id);
    const decoded = await Promise.all(mine.map((r) => identity.runtime.schemas.decode<CustomerStatusChanged>(r.message.value!)));
    return decoded.find((s) => s.loyaltyTier === 'gold');
  }, 'identity.customer-status with the tier');
  expect(status.change).toBe('tier_changed');
  expect((await identity.store.customers.get(id))!.loyaltyTier).toBe('gold');

  await promo.loyalty.tick(Date.now() + 31 * DAY);
  await orders.waitFor(promo, 'promotions.tier-changed', id, (t) => t.reason === 'downgrade', 'the downgrade');
  await waitFor(async () => (await identity.store.customers.get(id))!.loyaltyTier === 'silver', 'identity applied the downgrade');
});

it('lets a customer read only their own ledger and staff any', async () => {
  expect(
    (
      await request(promo.app)
        .get(`/customers/earn-${uid}/loyalty`)
        .set(await customerOn(`x-${uid}`, 'web'))
    ).status,
  ).toBe(403);
  expect(
    (
      await request(promo.app)
        .get(`/customers/earn-${uid}/loyalty`)
        .set(await staff(`co-${uid}`, ['compliance_officer']))
    ).status,
  ).toBe(200);
  expect(
    (
      await request(promo.app)
        .put('/loyalty/tiers')
        .set(admin)
        .send({ tiers: [{ name: 'silver', threshold: 5 }], periodDays: 1, downgrade: 'one_step' })
    ).body.code,
  ).toBe('invalid_tiers');
});
