import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { createPromotion, customerOn, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';
import { Orders, post } from './usage-support';

/**
 * Codes, campaign budgets and points held, committed, released, reverted and expired on the real
 * stack: two promotions instances on one database (so two writers race for the last use), over HTTP
 * and over the orders service's commands.
 */
let a: PromotionsInstance;
let b: PromotionsInstance;
let orders: Orders;
let admin: Record<string, string>;
let promotionId: string;
const uid = uniqueName('u')
  .slice(2)
  .replace(/[^A-Za-z0-9]/g, '');
const WEB = 'web';

const createCode = async (code: string, limits: object) => {
  const res = await request(a.app)
    .post(`/promotions/${promotionId}/codes`)
    .set(admin)
    .send({ codes: [code], limits });
  expect(res.status).toBe(201);
};
const holdAs = async (svc: PromotionsInstance, customer: string, body: object, key = randomUUID()) =>
  post(svc, '/holds', { ...(await customerOn(customer, WEB)), 'idempotency-key': key }, body);

beforeAll(async () => {
  a = await startTestPromotions({ settings: { holdSweepMs: 100, holdGraceMs: 100 } });
  [b, orders] = await Promise.all([
    startTestPromotions({ dbName: a.runtime.config.dbName, settings: { holdSweepMs: 100, holdGraceMs: 100 } }),
    Orders.start(),
  ]);
  admin = await staff(`admin-${uid}`, ['admin']);
  promotionId = (await createPromotion(a, admin, tenPercent())).id;
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), orders?.stop()]);
});

it('holds a code limited to 10 exactly 10 times out of 100 concurrent holds on two instances', async () => {
  const code = `TEN${uid}`.toUpperCase().slice(0, 40);
  await createCode(code, { total: 10 });
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => holdAs(i % 2 ? a : b, `c-${uid}-${i}`, { codes: [code.toLowerCase()] })),
  );
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(10);
  expect(results.filter((r) => r.status === 409 && r.body.code === 'code_exhausted')).toHaveLength(90);
  const stored = (await a.store.codes.get(code))!;
  expect(Object.keys(stored.holds)).toHaveLength(10);
  const usage = await request(b.app).get(`/codes/${code}`).set(admin);
  expect(usage.body).toMatchObject({ used: 0, held: 10, remaining: 0 });
});

it('limits a code per customer and to a single use, and gives a use back on release', async () => {
  const single = `ONE${uid}`.toUpperCase().slice(0, 40);
  await createCode(single, { singleUse: true });
  const first = await holdAs(a, `s-${uid}`, { codes: [single] });
  expect(first.status).toBe(201);
  expect((await post(a, `/holds/${first.body.id}/commit`, await customerOn(`s-${uid}`, WEB))).body.state).toBe('committed');
  const again = await holdAs(b, `s-${uid}`, { codes: [single] });
  expect(again.body.code).toBe('code_used_by_customer');
  expect((await holdAs(b, `s2-${uid}`, { codes: [single] })).status).toBe(201);

  const twice = `TWO${uid}`.toUpperCase().slice(0, 40);
  await createCode(twice, { perCustomer: 2 });
  const h1 = await holdAs(a, `p-${uid}`, { codes: [twice] });
  expect((await holdAs(b, `p-${uid}`, { codes: [twice] })).status).toBe(201);
  expect((await holdAs(a, `p-${uid}`, { codes: [twice] })).body.code).toBe('code_used_by_customer');
  expect((await post(a, `/holds/${h1.body.id}/release`, await customerOn(`p-${uid}`, WEB))).body.state).toBe('released');
  expect((await holdAs(a, `p-${uid}`, { codes: [twice] })).status).toBe(201);

  const key = randomUUID();
  expect((await holdAs(a, `k-${uid}`, { codes: [twice] }, key)).status).toBe(201);
  expect((await holdAs(b, `k-${uid}`, { codes: [twice] }, key)).status).toBe(201); // a retry: the same hold
  expect((await holdAs(b, `k-${uid}`, { codes: [single] }, key)).status).toBe(422);
  expect((await holdAs(a, `k-${uid}`, { codes: [`NONE${uid}`.toUpperCase().slice(0, 40)] })).body.code).toBe('code_unknown');
  expect((await request(a.app).patch(`/codes/${twice}`).set(admin).send({ active: false })).status).toBe(200);
  expect((await holdAs(a, `q-${uid}`, { codes: [twice] })).body.code).toBe('code_inactive');
});

it('never spends a campaign’s amount budget past its total under concurrency, and reports exhaustion', async () => {
  const created = await request(a.app)
    .post('/campaigns')
    .set(admin)
    .send({ name: 'spring', budget: { kind: 'amount', total: 1000, perCustomer: null } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      post(
        i % 2 ? a : b,
        '/holds',
        { ...admin, 'idempotency-key': randomUUID() },
        {
          customerId: `cc-${uid}-${i}`,
          channel: WEB,
          reference: `order:${uid}-${i}`,
          campaigns: [{ campaignId: id, amountMinor: 150 }],
        },
      ),
    ),
  );
  const held = results.filter((r) => r.status === 201);
  expect(held).toHaveLength(6); // 6 × 150 = 900; a seventh would pass 1000
  expect(results.filter((r) => r.body.code === 'budget_exhausted')).toHaveLength(24);
  const fitting = await post(
    a,
    '/holds',
    { ...admin, 'idempotency-key': randomUUID() },
    {
      customerId: `cc-${uid}-last`,
      channel: WEB,
      reference: `order:${uid}-last`,
      campaigns: [{ campaignId: id, amountMinor: 100 }],
    },
  );
  for (const h of [...held, fitting]) expect((await post(b, `/holds/${h.body.id}/commit`, admin)).body.state).toBe('committed');
  const view = await request(b.app).get(`/campaigns/${id}`).set(admin);
  expect(view.body).toMatchObject({ used: 1000, held: 0, remaining: 0, exhausted: true });
  expect((await post(a, `/holds/${fitting.body.id}/revert`, admin)).status).toBe(200);
  expect((await request(a.app).get(`/campaigns/${id}`).set(admin)).body).toMatchObject({ used: 900, exhausted: false });
});

it('refuses points beyond the balance, burns them on commit and gives them back on revert', async () => {
  const customer = `pts-${uid}`;
  const me = await customerOn(customer, WEB);
  expect((await holdAs(a, customer, { points: 10 })).body.code).toBe('insufficient_points');
  expect(
    (
      await post(
        a,
        `/customers/${customer}/loyalty/adjustments`,
        { ...admin, 'idempotency-key': randomUUID() },
        { points: 100, reason: 'welcome' },
      )
    ).status,
  ).toBe(201);
  expect((await holdAs(b, customer, { points: 101 })).body.code).toBe('insufficient_points');
  const h = await holdAs(b, customer, { points: 60 });
  expect(h.status).toBe(201);
  expect((await request(a.app).get(`/customers/${customer}/loyalty`).set(me)).body).toMatchObject({
    balance: 100,
    held: 60,
    available: 40,
  });
  expect((await post(a, `/holds/${h.body.id}/commit`, me)).status).toBe(200);
  const after = (await request(a.app).get(`/customers/${customer}/loyalty`).set(me)).body;
  expect(after).toMatchObject({ balance: 40, held: 0 });
  expect(after.entries.map((e: { kind: string; points: number }) => [e.kind, e.points])).toEqual([
    ['adjust', 100],
    ['burn', -60],
  ]);
  expect((await post(a, `/holds/${h.body.id}/revert`, admin)).status).toBe(200);
  expect((await request(a.app).get(`/customers/${customer}/loyalty`).set(me)).body).toMatchObject({ balance: 100 });
  const entries = await orders.waitFor(a, 'promotions.loyalty-entry', customer, (e) => e.kind === 'reverse', 'the reverse entry');
  expect(entries).toMatchObject({ points: 60, balance: 100, source: `hold:${h.body.id}` });
});

it('holds and commits on the orders service’s commands, answering each by its command id, and refuses with the reason', async () => {
  const code = `CMD${uid}`.toUpperCase().slice(0, 40);
  await createCode(code, { total: 1 });
  const holdId = `ord-${uid}-1`;
  const held = await orders.command('hold', holdId, { customerId: `o-${uid}`, codes: [code] });
  expect(await orders.waitFor(a, 'promotions.usage', holdId, (u) => u.commandId === held && u.state === 'held', 'held')).toMatchObject({
    codes: [code],
  });
  const commit = await orders.command('commit', holdId);
  await orders.waitFor(a, 'promotions.usage', holdId, (u) => u.commandId === commit && u.state === 'committed', 'committed');
  const again = await orders.command('commit', holdId);
  await orders.waitFor(a, 'promotions.usage', holdId, (u) => u.commandId === again && u.state === 'committed', 'a retry answered');
  const refusedId = `ord-${uid}-2`;
  const refused = await orders.command('hold', refusedId, { customerId: `o2-${uid}`, codes: [code] });
  expect(
    await orders.waitFor(a, 'promotions.usage', refusedId, (u) => u.commandId === refused && u.state === 'refused', 'refused'),
  ).toMatchObject({ reason: 'code_exhausted' });
  const unknown = await orders.command('commit', `ord-${uid}-none`);
  expect(
    await orders.waitFor(a, 'promotions.usage', `ord-${uid}-none`, (u) => u.commandId === unknown, 'the unknown hold refused'),
  ).toMatchObject({ state: 'refused', reason: 'hold_not_found' });
});

it('expires a hold nobody commits and gives its use back', async () => {
  const code = `EXP${uid}`.toUpperCase().slice(0, 40);
  await createCode(code, { total: 1 });
  const h = await holdAs(a, `e-${uid}`, { codes: [code], ttlSeconds: 1 });
  expect(h.status).toBe(201);
  await waitFor(async () => (await a.store.holds.get(h.body.id))?.state === 'expired', 'the hold expired', 10_000);
  expect((await a.store.codes.get(code))!.holds).toEqual({});
  expect((await holdAs(b, `e2-${uid}`, { codes: [code] })).status).toBe(201);
});

describe('authorization', () => {
  it('refuses each route to callers who may not call it', async () => {
    const customer = await customerOn(`auth-${uid}`, WEB);
    const other = await customerOn(`auth2-${uid}`, WEB);
    const manager = await staff(`m-${uid}`, ['channel_manager'], [WEB]);
    const seller = await staff(`s-${uid}`, ['seller']);
    const code = `AUTH${uid}`.toUpperCase().slice(0, 40);
    await createCode(code, {});
    const mine = await holdAs(a, `auth-${uid}`, { codes: [code] });
    const app = () => request(a.app);
    const refused: [request.Test, number][] = [
      [
        app()
          .post(`/promotions/${promotionId}/codes`)
          .set(manager)
          .send({ codes: ['X1X'] }),
        403,
      ],
      [
        app()
          .post(`/promotions/${promotionId}/codes`)
          .send({ codes: ['X1X'] }),
        401,
      ],
      [app().get(`/codes/${code}`).set(seller), 403],
      [app().patch(`/codes/${code}`).set(customer).send({ active: false }), 403],
      [
        app()
          .post('/campaigns')
          .set(manager)
          .send({ name: 'x', budget: { kind: 'count', total: 1 } }),
        403,
      ],
      [app().get('/campaigns/x').set(customer), 403],
      [
        app()
          .post('/holds')
          .set(seller)
          .set('idempotency-key', 'k')
          .send({ codes: [code] }),
        403,
      ],
      [
        app()
          .post('/holds')
          .set('idempotency-key', 'k')
          .send({ codes: [code] }),
        401,
      ],
      [app().get(`/holds/${mine.body.id}`).set(other), 403],
      [app().post(`/holds/${mine.body.id}/commit`).set(other), 403],
      [app().post(`/holds/${mine.body.id}/release`).set(manager), 403],
      [app().post(`/holds/${mine.body.id}/revert`).set(customer), 403],
      [app().put('/loyalty/earn-rules').set(manager).send({ pointsPerUnit: 1 }), 403],
      [app().get('/loyalty/earn-rules').set(customer), 403],
      [
        app()
          .put('/loyalty/tiers')
          .set(seller)
          .send({ tiers: [{ name: 'standard', threshold: 0 }], periodDays: 1, downgrade: 'one_step' }),
        403,
      ],
      [app().get('/loyalty/tiers').set(customer), 403],
      [app().get(`/customers/auth-${uid}/loyalty`).set(other), 403],
      [
        app().post(`/customers/auth-${uid}/loyalty/adjustments`).set(manager).set('idempotency-key', 'k').send({ points: 1, reason: 'x' }),
        403,
      ],
    ];
    for (const [req, status] of refused) expect((await req).status).toBe(status);
    expect((await app().get(`/holds/${mine.body.id}`).set(customer)).status).toBe(200);
    expect((await app().get(`/customers/auth-${uid}/loyalty`).set(seller)).status).toBe(200);
  });
});
