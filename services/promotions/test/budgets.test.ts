import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { createPromotion, Published, Simulator, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';
import { post } from './usage-support';

/**
 * A campaign's budget reaching its promotions on the real stack: a committed hold that uses the last
 * of it republishes the promotion exhausted (quotes stop applying it), a revert brings it back, and a
 * campaign flipped with the callback lost (a crash between the two writes) is caught by the
 * `budget-reconcile` worker of the next instance to start.
 */
let sim: Simulator;
let a: PromotionsInstance;
let b: PromotionsInstance | undefined;
let published: Published;
let admin: Record<string, string>;
const uid = uniqueName('b')
  .slice(2)
  .replace(/[^A-Za-z0-9]/g, '');
const WEB = `web-${uid}`;
const line = { sku: `SKU-${uid}`, quantity: 1, unitPriceMinor: 1000 };

beforeAll(async () => {
  // the first instance's reconciler never runs: only the budget callback moves its promotions
  [sim, a] = await Promise.all([Simulator.start(), startTestPromotions({ settings: { budgetReconcileMs: 3_600_000 } })]);
  published = await Published.start(a);
  admin = await staff(`admin-${uid}`, ['admin']);
  await sim.channel(WEB);
  await waitFor(async () => (await a.store.channels.all()).some((c) => c.code === WEB), 'channel');
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), sim?.stop(), published?.stop()]);
});

const adjusted = async (svc: PromotionsInstance, promotionId: string): Promise<boolean> => {
  const res = await request(svc.app)
    .post('/quotes')
    .set(admin)
    .send({ channel: WEB, lines: [line] });
  expect(res.status).toBe(200);
  return (res.body.lines[0].adjustments as { promotionId: string }[]).some((x) => x.promotionId === promotionId);
};

test('a count budget of 1: the committed hold exhausts the promotion, a revert restores it, a lost callback is reconciled', async () => {
  const campaign = await request(a.app)
    .post('/campaigns')
    .set(admin)
    .send({ id: `cmp-${uid}`, name: 'one use', budget: { kind: 'count', total: 1, perCustomer: null } });
  expect(campaign.status).toBe(201);
  const campaignId = campaign.body.id as string;
  const { id } = await createPromotion(a, admin, tenPercent({ name: `Budget ${uid}`, channels: [WEB], campaignId }));
  await request(a.app).post(`/promotions/${id}/schedule`).query({ startNow: 'true' }).set(admin).expect(200);
  await published.waitFor('promotions.definition', id, (d) => !d.exhausted, 'the scheduled definition');
  expect(await adjusted(a, id)).toBe(true);

  const hold = await post(
    a,
    '/holds',
    { ...admin, 'idempotency-key': randomUUID() },
    { customerId: `c-${uid}`, channel: WEB, reference: `order:${uid}`, campaigns: [{ campaignId, amountMinor: 100 }] },
  );
  expect(hold.status).toBe(201);
  expect((await post(a, `/holds/${hold.body.id}/commit`, admin)).body.state).toBe('committed');
  const spent = await published.waitFor('promotions.definition', id, (d) => d.exhausted, 'the exhausted definition');
  expect(await adjusted(a, id)).toBe(false);

  expect((await post(a, `/holds/${hold.body.id}/revert`, admin)).body.state).toBe('reverted');
  const back = await published.waitFor(
    'promotions.definition',
    id,
    (d) => !d.exhausted && d.version > spent.version,
    'the definition with its budget back',
  );
  expect(await adjusted(a, id)).toBe(true);

  // a crash between the campaign's write and the callback: the campaign says exhausted, the promotion not
  await a.store.campaigns.transact(campaignId, (cur) => ({
    record: { ...cur!, exhausted: true, version: cur!.version + 1, updatedAt: Date.now() },
    events: [],
  }));
  expect((await a.store.promotions.get(id))!.exhausted).toBe(false);
  b = await startTestPromotions({ dbName: a.runtime.config.dbName, settings: { budgetReconcileMs: 100 } });
  const reconciled = await published.waitFor(
    'promotions.definition',
    id,
    (d) => d.exhausted && d.version > back.version,
    'the definition republished by the reconciler',
  );
  expect(reconciled.promotionId).toBe(id);
  expect((await a.store.promotions.get(id))!.exhausted).toBe(true);
  await waitFor(async () => !(await adjusted(b!, id)), 'b quotes without the exhausted promotion');
  // a second pass finds nothing left to republish
  expect(await b.budgets.tick(Date.now())).toBe(0);
});
