import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { PromotionDefinition } from '@omnimall/contracts';
import { createPromotion, Published, Simulator, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';

/**
 * Promotion definitions against the real Kafka, FerretDB and schema registry: CRUD, validation with
 * the evaluator's problems, If-Match, scheduling (the definition published with its readiness reset),
 * readiness from cart's records, and who may call each route.
 */
let sim: Simulator;
let svc: PromotionsInstance;
let pub: Published;
const uid = uniqueName('p').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
let admin: Record<string, string>;
let seller: Record<string, string>;
let webManager: Record<string, string>;
let appManager: Record<string, string>;

beforeAll(async () => {
  [sim, svc] = await Promise.all([Simulator.start(), startTestPromotions()]);
  pub = await Published.start(svc);
  [admin, seller, webManager, appManager] = await Promise.all([
    staff(`admin-${uid}`, ['admin']),
    staff(`seller-${uid}`, ['seller']),
    staff(`mgr-${uid}`, ['channel_manager'], [WEB]),
    staff(`appmgr-${uid}`, ['channel_manager'], [APP]),
  ]);
});

afterAll(async () => {
  await pub.stop();
  await svc.stop();
  await sim.stop();
});

test('a promotion is created as a draft, read, listed and replaced under If-Match', async () => {
  const created = await request(svc.app)
    .post('/promotions')
    .set(admin)
    .send(tenPercent({ channels: [WEB], overridable: [{ field: 'value', by: ['admin'] }] }));
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ status: 'draft', version: 1, channels: [WEB], reward: { kind: 'percentage', percent: 10 } });
  expect(created.headers.etag).toBe('"1"');
  const id = created.body.id as string;

  const read = await request(svc.app).get(`/promotions/${id}`).set(seller);
  expect(read.status).toBe(200);
  expect(read.body.overridable).toEqual([{ field: 'value', by: ['admin'] }]);

  const listed = await request(svc.app).get('/promotions').query({ status: 'draft', channel: WEB }).set(admin);
  expect(listed.body.promotions.map((p: { id: string }) => p.id)).toContain(id);

  const edited = await request(svc.app)
    .put(`/promotions/${id}`)
    .set(admin)
    .set('if-match', '"1"')
    .send(tenPercent({ channels: [WEB], name: 'Twenty off', reward: { kind: 'percentage', percent: 20 } }));
  expect(edited.status).toBe(200);
  expect(edited.body).toMatchObject({ version: 2, name: 'Twenty off' });

  const stale = await request(svc.app)
    .put(`/promotions/${id}`)
    .set(admin)
    .set('if-match', '"1"')
    .send(tenPercent({ channels: [WEB] }));
  expect(stale.status).toBe(412);
  expect(stale.body).toMatchObject({ code: 'version_mismatch', details: { version: 2 } });

  const noIfMatch = await request(svc.app)
    .put(`/promotions/${id}`)
    .set(admin)
    .send(tenPercent({ channels: [WEB] }));
  expect(noIfMatch.status).toBe(400);
  expect(noIfMatch.body.code).toBe('if_match_required');
});

test('a definition the evaluator cannot evaluate is refused with each problem’s path and a hint', async () => {
  const res = await request(svc.app)
    .post('/promotions')
    .set(admin)
    .send(
      tenPercent({
        reward: { kind: 'percentage', percent: 150 },
        condition: { field: 'line.colour', op: 'eq', value: 'red' },
      }),
    );
  expect(res.status).toBe(400);
  expect(res.body.code).toBe('rule_not_evaluable');
  expect(typeof res.body.hint).toBe('string');
  const paths = (res.body.details.problems as { path: string; code: string; hint: string }[]).map((p) => [p.path, p.code]);
  expect(paths).toEqual(
    expect.arrayContaining([
      ['reward.percent', 'percent_range'],
      ['condition.field', 'unknown_field'],
    ]),
  );
});

test('scheduling publishes the definition and resets readiness; cart’s records set it per channel for the current version only', async () => {
  await Promise.all([sim.channel(WEB), sim.channel(APP, { kind: 'mobile_app' })]);
  await waitFor(
    async () => (await svc.store.channels.all()).filter((c) => c.code === WEB || c.code === APP).length === 2,
    'channels projected',
  );
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB, APP], startsAt: Date.now() + 60_000 }));

  const scheduled = await request(svc.app).post(`/promotions/${id}/schedule`).set(admin);
  expect(scheduled.status).toBe(200); // 60 s ahead, the test's lead is 1 s
  expect(scheduled.body).toMatchObject({ status: 'scheduled', version: 2 });
  expect(scheduled.body.readiness.map((r: { channel: string; state: string }) => [r.channel, r.state])).toEqual([
    [WEB, 'missing'],
    [APP, 'missing'],
  ]);
  const def: PromotionDefinition = await pub.waitFor('promotions.definition', id, (d) => d.version === 2, 'definition v2 published');
  expect(JSON.parse(def.rule)).toMatchObject({ id, level: 'cart', reward: { kind: 'percentage', percent: 10 } });
  expect(def.withdrawn).toBe(false);

  await sim.readiness(id, 1, [{ channel: WEB, state: 'acknowledged' }]); // an old version: ignored
  await sim.readiness(id, 2, [
    { channel: WEB, state: 'acknowledged' },
    { channel: APP, state: 'error', reason: 'channel_unknown' },
  ]);
  const ready = await waitFor(async () => {
    const res = await request(svc.app).get(`/promotions/${id}/readiness`).set(webManager);
    return res.body.channels?.find((c: { channel: string; state: string }) => c.channel === APP && c.state === 'error') ? res.body : null;
  }, 'readiness applied');
  expect(ready.channels).toEqual([
    expect.objectContaining({ channel: WEB, state: 'acknowledged', version: 2 }),
    expect.objectContaining({ channel: APP, state: 'error', reason: 'channel_unknown', version: 2 }),
  ]);
});

test('a start closer than the lead is refused unless startNow; a withdrawal publishes withdrawn', async () => {
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB], startsAt: Date.now() + 200 }));
  const refused = await request(svc.app).post(`/promotions/${id}/schedule`).set(admin);
  expect(refused.status).toBe(409);
  expect(refused.body.code).toBe('lead_time_too_short');
  const forced = await request(svc.app).post(`/promotions/${id}/schedule`).query({ startNow: 'true' }).set(admin);
  expect(forced.body.status).toBe('scheduled');

  const withdrawn = await request(svc.app).delete(`/promotions/${id}`).set(admin);
  expect(withdrawn.status).toBe(200);
  expect(withdrawn.body.status).toBe('withdrawn');
  await pub.waitFor('promotions.definition', id, (d) => d.withdrawn, 'withdrawn definition');
  await pub.waitFor('promotions.promotion-lifecycle', id, (l) => l.phase === 'withdrawn', 'withdrawn lifecycle');
});

test('a live promotion’s start cannot move into the past; its edit is announced changed', async () => {
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB], startsAt: Date.now() + 100 }));
  await request(svc.app).post(`/promotions/${id}/schedule`).query({ startNow: 'true' }).set(admin).expect(200);
  const live = await waitFor(async () => {
    const r = await request(svc.app).get(`/promotions/${id}`).set(admin);
    return r.body.status === 'live' ? r.body : null;
  }, 'live');
  const back = await request(svc.app)
    .put(`/promotions/${id}`)
    .set(admin)
    .set('if-match', String(live.version))
    .send(tenPercent({ channels: [WEB], startsAt: live.startsAt - 60_000 }));
  expect(back.status).toBe(400);
  expect(back.body.code).toBe('starts_in_past');
  const renamed = await request(svc.app)
    .put(`/promotions/${id}`)
    .set(admin)
    .set('if-match', String(live.version))
    .send(tenPercent({ channels: [WEB], startsAt: live.startsAt, name: 'Renamed' }));
  expect(renamed.status).toBe(200);
  await pub.waitFor('promotions.promotion-lifecycle', id, (l) => l.phase === 'changed' && l.name === 'Renamed', 'changed');
});

test('authorization: writes are admins’, reads staff’s, a channel manager reads only promotions touching their channels', async () => {
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB] }));
  const body = tenPercent({ channels: [WEB] });
  expect((await request(svc.app).post('/promotions').send(body)).status).toBe(401);
  expect((await request(svc.app).post('/promotions').set(webManager).send(body)).status).toBe(403);
  expect((await request(svc.app).put(`/promotions/${id}`).set(seller).set('if-match', '1').send(body)).status).toBe(403);
  expect((await request(svc.app).post(`/promotions/${id}/schedule`).set(webManager)).status).toBe(403);
  expect((await request(svc.app).delete(`/promotions/${id}`).set(webManager)).status).toBe(403);
  expect((await request(svc.app).get(`/promotions/${id}`).set(webManager)).status).toBe(200);
  const other = await request(svc.app).get(`/promotions/${id}`).set(appManager);
  expect(other.status).toBe(403);
  expect(other.body.code).toBe('channel_out_of_scope');
  expect((await request(svc.app).get(`/promotions/${id}/readiness`).set(appManager)).status).toBe(403);
  const list = await request(svc.app).get('/promotions').set(appManager);
  expect(list.body.promotions.map((p: { id: string }) => p.id)).not.toContain(id);
  const customer = await staff(`c-${uid}`, []);
  expect((await request(svc.app).get('/promotions').set(customer)).status).toBe(403);
});
