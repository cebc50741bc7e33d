import request from 'supertest';
import { newEvent } from '@omnimall/service-kit';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { createPromotion, Published, Simulator, staff, startTestPromotions, tenPercent, type PromotionsInstance } from './support';

/**
 * Channel overrides: judged against the promotion's `overridable` rules for the caller's role; every
 * decision (refused, accepted, expired, removed) is an evidence document and an event on the real topic.
 */
let svc: PromotionsInstance;
let pub: Published;
let sim: Simulator;
const uid = uniqueName('o').slice(2);
const WEB = `web-${uid}`;
const APP = `app-${uid}`;
let admin: Record<string, string>;
let webManager: Record<string, string>;
let compliance: Record<string, string>;
let seller: Record<string, string>;

beforeAll(async () => {
  [svc, sim] = await Promise.all([startTestPromotions(), Simulator.start()]);
  pub = await Published.start(svc);
  // overrides name channels promotions knows (an unknown one is 404 channel_not_found)
  await Promise.all([sim.channel(WEB), sim.channel(APP, { kind: 'mobile_app' })]);
  await waitFor(async () => (await svc.store.channels.get(WEB)) && (await svc.store.channels.get(APP)), 'channels projected');
  [admin, webManager, compliance, seller] = await Promise.all([
    staff(`admin-${uid}`, ['admin']),
    staff(`mgr-${uid}`, ['channel_manager'], [WEB]),
    staff(`comp-${uid}`, ['compliance_officer']),
    staff(`seller-${uid}`, ['seller']),
  ]);
});

afterAll(async () => {
  await pub.stop();
  await sim.stop();
  await svc.stop();
});

const override = (id: string, channel: string, body: object, headers = webManager) =>
  request(svc.app).put(`/promotions/${id}/channels/${channel}/override`).set(headers).send(body);

test('an override of a field the promotion does not declare overridable is refused and logged', async () => {
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB, APP], overridable: [{ field: 'dates', by: ['admin'] }] }));
  const value = await override(id, WEB, { reward: { kind: 'percentage', percent: 30 }, reason: 'local push' });
  expect(value.status).toBe(403);
  expect(value.body).toMatchObject({
    code: 'override_not_allowed',
    details: { rule: 'overridable.value not declared', fields: ['value'] },
  });
  const dates = await override(id, WEB, { startsAt: Date.now(), reason: 'earlier here' });
  expect(dates.status).toBe(403);
  expect(dates.body.details.rule).toBe('overridable.dates.by=[admin]');

  const evidence = await request(svc.app).get(`/promotions/${id}/override-decisions`).set(compliance);
  expect(evidence.status).toBe(200);
  expect(evidence.body.decisions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        decision: 'refused',
        channel: WEB,
        fields: ['value'],
        rule: 'overridable.value not declared',
        actor: `staff:mgr-${uid}`,
        reason: 'local push',
      }),
      expect.objectContaining({ decision: 'refused', fields: ['dates'], rule: 'overridable.dates.by=[admin]' }),
    ]),
  );
  const event = await pub.waitFor('promotions.override-decision', `${id}:${WEB}`, (d) => d.fields.includes('value'), 'refusal event');
  expect(event).toMatchObject({ decision: 'refused', rule: 'overridable.value not declared', reason: 'override_not_allowed', after: null });
  expect(event.decisionId).toBe(value.body.details.decisionId);
  const stored = await svc.store.promotions.get(id);
  expect(stored?.overrides).toEqual([]);
});

test('an accepted override and its expiry at `until` are both evidenced; the definition carries it meanwhile', async () => {
  const { id } = await createPromotion(
    svc,
    admin,
    tenPercent({ channels: [WEB], startsAt: Date.now() + 60_000, overridable: [{ field: 'value', by: ['admin', 'channel_manager'] }] }),
  );
  await request(svc.app).post(`/promotions/${id}/schedule`).set(admin).expect(200);
  const until = Date.now() + 1500;
  const accepted = await override(id, WEB, { reward: { kind: 'percentage', percent: 25 }, until, reason: 'launch week' });
  expect(accepted.status).toBe(200);
  expect(accepted.body.overrides).toEqual([expect.objectContaining({ channel: WEB, reward: { kind: 'percentage', percent: 25 }, until })]);
  const def = await pub.waitFor('promotions.definition', id, (d) => d.overrides.length === 1, 'definition with the override');
  expect(JSON.parse(def.overrides[0].reward!)).toEqual({ kind: 'percentage', percent: 25 });

  await pub.waitFor('promotions.override-decision', `${id}:${WEB}`, (d) => d.decision === 'accepted', 'accepted event');
  const expired = await pub.waitFor('promotions.override-decision', `${id}:${WEB}`, (d) => d.decision === 'expired', 'expired event');
  expect(expired).toMatchObject({ actor: 'system:override-expiry', after: null });
  expect(expired.decidedAt).toBeGreaterThanOrEqual(until);
  await pub.waitFor('promotions.definition', id, (d) => d.overrides.length === 0 && d.version > def.version, 'definition without it');
  const decisions = await waitFor(async () => {
    const res = await request(svc.app).get(`/channels/${WEB}/override-decisions`).set(webManager);
    const mine = (res.body.decisions as { promotionId: string; decision: string }[]).filter((d) => d.promotionId === id);
    return mine.length === 2 ? mine : null;
  }, 'both decisions stored');
  expect(decisions.map((d) => d.decision).sort()).toEqual(['accepted', 'expired']);
});

test('a removed override is evidenced; removing none is 404', async () => {
  const { id } = await createPromotion(
    svc,
    admin,
    tenPercent({ channels: [WEB], overridable: [{ field: 'exclusion', by: ['channel_manager'] }] }),
  );
  expect((await override(id, WEB, { excluded: true, reason: 'not here' })).status).toBe(200);
  const removed = await request(svc.app).delete(`/promotions/${id}/channels/${WEB}/override`).set(webManager).set('x-reason', 'back on');
  expect(removed.status).toBe(200);
  expect(removed.body.overrides).toEqual([]);
  await pub.waitFor(
    'promotions.override-decision',
    `${id}:${WEB}`,
    (d) => d.decision === 'removed' && d.reason === 'back on',
    'removed event',
  );
  expect((await request(svc.app).delete(`/promotions/${id}/channels/${WEB}/override`).set(webManager)).status).toBe(404);
});

test('authorization: managers only for their channels, evidence for compliance, admins and the channel’s managers', async () => {
  const { id } = await createPromotion(
    svc,
    admin,
    tenPercent({ channels: [WEB, APP], overridable: [{ field: 'exclusion', by: ['channel_manager'] }] }),
  );
  const out = await override(id, APP, { excluded: true, reason: 'x' });
  expect(out.status).toBe(403);
  expect(out.body.code).toBe('channel_out_of_scope');
  expect((await override(id, WEB, { excluded: true, reason: 'x' }, seller)).status).toBe(403);
  expect((await request(svc.app).put(`/promotions/${id}/channels/${WEB}/override`).send({ excluded: true, reason: 'x' })).status).toBe(401);
  expect((await request(svc.app).delete(`/promotions/${id}/channels/${APP}/override`).set(webManager)).status).toBe(403);
  expect((await request(svc.app).get(`/channels/${APP}/override-decisions`).set(webManager)).status).toBe(403);
  expect((await request(svc.app).get(`/channels/${APP}/override-decisions`).set(seller)).status).toBe(403);
  expect((await request(svc.app).get(`/channels/${APP}/override-decisions`).set(compliance)).status).toBe(200);
  expect((await request(svc.app).get(`/promotions/${id}/override-decisions`).set(seller)).status).toBe(403);
});

test('the evidence of a decision whose document was not saved (a crash after the promotion’s write) is written from its event', async () => {
  const { id } = await createPromotion(
    svc,
    admin,
    tenPercent({ channels: [WEB], overridable: [{ field: 'exclusion', by: ['channel_manager'] }] }),
  );
  const decisionId = `d-crash-${uid}`;
  const after = {
    channel: WEB,
    excluded: true,
    reward: null,
    startsAt: null,
    endsAt: null,
    until: null,
    reason: 'sold out here',
    actor: `staff:mgr-${uid}`,
    decisionId,
    at: 1,
  };
  // the event as the promotion's write committed it, with no document behind it
  await svc.runtime.publisher.publish([
    newEvent(
      'promotions.override-decision',
      { type: 'override.accepted', producer: 'promotions', aggregateId: `${id}:${WEB}`, aggregateVersion: 2 },
      {
        decisionId,
        promotionId: id,
        channel: WEB,
        decision: 'accepted',
        fields: ['exclusion'],
        actor: `staff:mgr-${uid}`,
        before: null,
        after: JSON.stringify(after),
        rule: 'overridable.exclusion.by=[channel_manager]',
        reason: 'sold out here',
        decidedAt: 1,
      },
    ),
  ]);
  const seen = await waitFor(async () => {
    const res = await request(svc.app).get(`/channels/${WEB}/override-decisions`).set(compliance);
    return (res.body.decisions as { decisionId: string }[] | undefined)?.find((d) => d.decisionId === decisionId);
  }, 'the evidence document written from the event');
  expect(seen).toMatchObject({ decision: 'accepted', promotionId: id, after: { excluded: true }, reason: 'sold out here', refusal: null });
});

test('a channel promotions never heard of is 404 channel_not_found, as in every service', async () => {
  const { id } = await createPromotion(svc, admin, tenPercent({ channels: [WEB] }));
  const ghost = `ghost-${uid}`;
  const put = await override(id, ghost, { excluded: true, reason: 'not here' }, admin);
  expect([put.status, put.body.code, put.body.details]).toEqual([404, 'channel_not_found', { channel: ghost }]);
  expect(put.body.hint).toEqual(expect.any(String));
  const decisions = await request(svc.app).get(`/channels/${ghost}/override-decisions`).set(admin);
  expect([decisions.status, decisions.body.code]).toEqual([404, 'channel_not_found']);
});
