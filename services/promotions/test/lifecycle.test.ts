import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { createPromotion, Published, Simulator, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';

/**
 * The lifecycle worker: `started` at startsAt (with the channels not ready and the SKUs the condition
 * names), `ended` at endsAt, each exactly once, from the due instants in the database.
 */
let sim: Simulator;
let svc: PromotionsInstance;
let pub: Published;
const uid = uniqueName('l').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
let admin: Record<string, string>;

beforeAll(async () => {
  [sim, svc] = await Promise.all([Simulator.start(), startTestPromotions()]);
  pub = await Published.start(svc);
  admin = await staff(`admin-${uid}`, ['admin']);
});

afterAll(async () => {
  await pub.stop();
  await svc.stop();
  await sim.stop();
});

test('started at startsAt naming the channel that did not acknowledge, ended at endsAt, each once', async () => {
  const startsAt = Date.now() + 1500;
  const endsAt = startsAt + 1000;
  const { id } = await createPromotion(
    svc,
    admin,
    tenPercent({
      channels: [WEB, APP],
      startsAt,
      endsAt,
      condition: {
        any: [
          { field: 'line.sku', op: 'in', value: [`B-${uid}`, `A-${uid}`] },
          { field: 'line.quantity', op: 'gte', value: 2 },
        ],
      },
    }),
  );
  const scheduled = await request(svc.app).post(`/promotions/${id}/schedule`).set(admin);
  expect(scheduled.status).toBe(200);
  await sim.readiness(id, scheduled.body.version as number, [{ channel: WEB, state: 'acknowledged' }]);
  await waitFor(
    async () => (await svc.store.promotions.get(id))?.readiness.find((r) => r.channel === WEB)?.state === 'acknowledged',
    'web ready',
  );

  const started = await pub.waitFor('promotions.promotion-lifecycle', id, (l) => l.phase === 'started', 'started');
  expect(started).toMatchObject({ notReady: [APP], skus: [`A-${uid}`, `B-${uid}`], channels: [WEB, APP], startsAt, endsAt });
  expect(started.envelope.occurredAt).toBeGreaterThanOrEqual(startsAt);
  const ended = await pub.waitFor('promotions.promotion-lifecycle', id, (l) => l.phase === 'ended', 'ended');
  expect(ended.envelope.occurredAt).toBeGreaterThanOrEqual(endsAt);
  expect((await svc.store.promotions.get(id))?.status).toBe('ended');

  // more passes of the worker find nothing due: each phase stays once
  const before = await svc.definitions.tick(Date.now());
  expect(before).toBe(0);
  const phases = (await pub.of('promotions.promotion-lifecycle', id)).map((l) => l.phase);
  expect(phases).toEqual(['started', 'ended']);
});

test('a second instance on the same database emits nothing twice', async () => {
  const other = await startTestPromotions({ dbName: svc.runtime.config.dbName });
  try {
    const startsAt = Date.now() + 1200;
    const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB], startsAt, endsAt: startsAt + 400 }));
    await request(svc.app).post(`/promotions/${id}/schedule`).set(admin).expect(200);
    await pub.waitFor('promotions.promotion-lifecycle', id, (l) => l.phase === 'ended', 'ended');
    await Promise.all([svc.definitions.tick(Date.now()), other.definitions.tick(Date.now())]);
    expect((await pub.of('promotions.promotion-lifecycle', id)).map((l) => l.phase)).toEqual(['started', 'ended']);
  } finally {
    await other.stop();
  }
});
