import request from 'supertest';
import { testAuth, uniqueName, waitFor, type TestAuth } from '@omnimall/service-kit/testing';
import { codeRefusal } from '../src/application/quotes';
import { createPromotion, customerOn, Simulator, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';

/**
 * POST /quotes: lines priced from the cached definitions for a channel and an instant, with a
 * channel's override, codes (unknown ones named), the reasons others did not apply, and who may ask.
 */
let sim: Simulator;
let svc: PromotionsInstance;
let auth: TestAuth;
const uid = uniqueName('q').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
const SKU = `SKU-${uid}`;
let admin: Record<string, string>;
let promoId: string;
let laterId: string;
const line = { sku: SKU, quantity: 2, unitPriceMinor: 1000 };

beforeAll(async () => {
  [sim, svc, auth] = await Promise.all([Simulator.start(), startTestPromotions(), testAuth()]);
  admin = await staff(`admin-${uid}`, ['admin']);
  await Promise.all([sim.channel(WEB), sim.channel(APP, { kind: 'mobile_app' })]);
  await waitFor(async () => (await svc.store.channels.all()).filter((c) => c.code === WEB || c.code === APP).length === 2, 'channels');
  ({ id: promoId } = await createPromotion(
    svc,
    admin,
    tenPercent({ name: `Ten ${uid}`, channels: [WEB, APP], overridable: [{ field: 'value', by: ['admin'] }] }),
  ));
  await request(svc.app).post(`/promotions/${promoId}/schedule`).query({ startNow: 'true' }).set(admin).expect(200);
  await request(svc.app)
    .put(`/promotions/${promoId}/channels/${APP}/override`)
    .set(admin)
    .send({ reward: { kind: 'percentage', percent: 50 }, reason: 'app launch' })
    .expect(200);
  ({ id: laterId } = await createPromotion(svc, admin, tenPercent({ channels: [WEB], startsAt: Date.now() + 3_600_000 })));
  await request(svc.app).post(`/promotions/${laterId}/schedule`).set(admin).expect(200);
});

afterAll(async () => {
  await auth.close();
  await svc.stop();
  await sim.stop();
});

const quote = (headers: Record<string, string>, body: object) => request(svc.app).post('/quotes').set(headers).send(body);

test('staff quote: the promotion applies with its name; the channel’s override prices the app; a later one is not_started', async () => {
  const web = await quote(admin, { channel: WEB, lines: [line] });
  expect(web.status).toBe(200);
  expect(web.body.lines[0].adjustments).toEqual([{ promotionId: promoId, name: `Ten ${uid}`, code: null, amountMinor: 200 }]);
  expect(web.body).toMatchObject({ subtotalMinor: 2000, discountMinor: 200, totalMinor: 1800 });
  expect(web.body.notApplied).toEqual(expect.arrayContaining([expect.objectContaining({ promotionId: laterId, reason: 'not_started' })]));

  const app = await quote(admin, { channel: APP, lines: [line] });
  expect(app.body.lines[0].adjustments[0]).toMatchObject({ promotionId: promoId, amountMinor: 1000 });

  const atLater = await quote(admin, { channel: WEB, lines: [line], at: Date.now() + 3_700_000 });
  expect(atLater.body.discountMinor).toBe(380); // an hour from now both stack: 200, then 10 % of the 1800 left
});

test('entered codes: unknown ones are named in notApplied', async () => {
  const res = await quote(admin, { channel: WEB, lines: [line], codes: [' nope-1 '] });
  expect(res.status).toBe(200);
  expect(res.body.notApplied).toEqual(expect.arrayContaining([{ code: 'NOPE-1', reason: 'code_unknown' }]));
});

test('a customer quotes on their login’s channel for themselves; a channel key for its channel', async () => {
  const customer = await customerOn(`cust-${uid}`, APP);
  const own = await quote(customer, { lines: [line] });
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({ channel: APP, customerId: `cust-${uid}`, discountMinor: 1000 });
  const other = await quote(customer, { customerId: 'someone-else', lines: [line] });
  expect(other.status).toBe(403);
  expect(other.body.code).toBe('customer_not_own');

  const key = await auth.issueChannelKey(WEB, { into: svc });
  const byKey = await quote({ 'x-channel-code': WEB, 'x-channel-key': key.apiKey }, { lines: [line] });
  expect(byKey.status).toBe(200);
  expect(byKey.body).toMatchObject({ channel: WEB, customerId: null, discountMinor: 200 });
});

test('refusals: no credentials, no channel, a bad key, more than 100 lines', async () => {
  expect((await quote({}, { lines: [line] })).status).toBe(401);
  const noChannel = await quote(admin, { lines: [line] });
  expect(noChannel.status).toBe(400);
  expect(noChannel.body.code).toBe('channel_required');
  expect((await quote({ 'x-channel-code': WEB, 'x-channel-key': 'wrong' }, { lines: [line] })).status).toBe(401);
  const many = await quote(admin, { channel: WEB, lines: Array.from({ length: 101 }, () => line) });
  expect(many.status).toBe(400);
  expect(many.body.code).toBe('validation_failed');
});

test('a code past its limits is code_exhausted, an inactive one code_inactive', () => {
  const code = { promotionId: promoId, limits: { total: 2, perCustomer: 1, singleUse: false }, used: 1, active: true };
  expect(codeRefusal(code, null)).toBeNull();
  expect(codeRefusal({ ...code, holds: { h1: {} } }, null)).toBe('code_exhausted');
  expect(codeRefusal({ ...code, perCustomerUsed: { c1: 1 } }, 'c1')).toBe('code_exhausted');
  expect(codeRefusal({ ...code, limits: { ...code.limits, singleUse: true } }, null)).toBe('code_exhausted');
  expect(codeRefusal({ ...code, active: false }, null)).toBe('code_inactive');
});
