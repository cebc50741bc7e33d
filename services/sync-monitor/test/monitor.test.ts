import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { bearer, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { adminToken, BULK_SLA_MS, GHOST_TOPIC, startHarness, TOPIC, type Harness } from './support/harness';
import { applyEnvelope, type Tracking } from '../src/domain/propagation';

let h: Harness;
let http: ReturnType<typeof supertest>;
let admin: string;
let recorder: TopicRecorder;

beforeAll(async () => {
  h = await startHarness();
  http = supertest(h.monitor.app);
  admin = await adminToken();
  recorder = await new TopicRecorder(testKafka(), ['sync.escalation', 'sync.notice', `${TOPIC}.retry`]).start();
});

afterAll(async () => {
  await recorder?.stop();
  await h?.stop();
});

const tracked = (id: string, pred: (t: Tracking) => boolean, what: string, ms = 15000): Promise<Tracking> =>
  waitFor(
    async () => {
      const t = await h.monitor.events.find(id);
      return t && pred(t) ? t : null;
    },
    what,
    ms,
  );

/** Runs `work` with `group`'s caught-up time frozen at `at` (a group that stops catching up), then restores it. */
async function withFrozen<T>(group: { caughtUpAt(): number }, at: number, work: () => Promise<T>): Promise<T> {
  const real = group.caughtUpAt.bind(group);
  group.caughtUpAt = () => at;
  try {
    return await work();
  } finally {
    group.caughtUpAt = real;
  }
}

async function decoded<T>(topic: string, pred: (v: T) => boolean): Promise<T[]> {
  const out: T[] = [];
  for (const r of recorder.where((x) => x.topic === topic)) {
    const v = (await h.monitor.runtime.schemas.decode(r.message.value as Buffer)) as T;
    if (pred(v)) out.push(v);
  }
  return out;
}

describe('propagation tracking', () => {
  it('records each ack with lag = appliedAt − occurredAt, completes the event, and reports percentiles', async () => {
    const id = await h.publish({ channel: 'mobile' });
    // The acks and the envelope arrive through two consumer groups, in either order.
    const t = await tracked(id, (x) => x.state === 'complete' && x.envelopeSeen, 'event complete and its envelope seen');
    expect(t.envelopeSeen).toBe(true);
    expect(t.expected).toEqual([h.sim]);
    const simAck = t.acks.find((a) => a.service === h.sim)!;
    expect(simAck.group).toBe(`${h.sim}.projection`);
    expect(simAck.outcome).toBe('applied');
    expect(simAck.lagMs).toBe(simAck.appliedAt - t.occurredAt);
    expect(simAck.lagMs).toBeGreaterThanOrEqual(0);
    // The monitor's own envelope consumer acks too (it is a catalogue consumer of every business topic).
    await tracked(
      id,
      (x) => x.acks.some((a) => a.service === 'sync-monitor' && a.group.startsWith('sync-monitor.track-')),
      'the monitor acked',
    );
    // The original record is kept for re-delivery while the event is open, not once it is complete.
    expect(t.raw).toBeNull();

    const r = await http.get('/propagation/events/' + id).set('authorization', admin);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ eventId: id, state: 'complete', lagging: [], sourceChannel: 'mobile' });
    const byCorrelation = await http.get('/propagation/events').query({ correlationId: t.correlationId }).set('authorization', admin);
    expect(byCorrelation.body.events.map((e: { eventId: string }) => e.eventId)).toEqual([id]);

    const p = await http
      .get('/propagation/percentiles')
      .query({ window: '1m', type: 'identity.identity-linked', consumer: h.sim })
      .set('authorization', admin);
    expect(p.status).toBe(200);
    expect(p.body.count).toBeGreaterThanOrEqual(1);
    expect(p.body.p99).toBeGreaterThanOrEqual(simAck.lagMs);
    const byType = await http.get('/propagation/percentiles/by-type?window=1h').set('authorization', admin);
    expect(byType.body.types.map((x: { type: string }) => x.type)).toContain('identity.identity-linked');

    const metrics = await http.get('/metrics');
    expect(metrics.text).toMatch(
      new RegExp(`omnimall_propagation_lag_seconds_count\\{[^}]*type="identity.identity-linked",consumer="${h.sim}",channel="mobile"`),
    );
  });

  it('re-delivers a dead-lettered event to the lagging group after its SLA and records the recovery', async () => {
    // The sim consumer fails this event: the kit tries, sends it to .retry, fails again and dead-letters it.
    const eventId = await h.publish({ channel: 'web', fail: true });
    const dead = await tracked(
      eventId,
      (x) => x.acks.some((a) => a.service === h.sim && a.outcome === 'dead_lettered'),
      'dead-lettered ack',
    );
    expect(dead.state).not.toBe('complete');
    expect(dead.acks.filter((a) => a.service === h.sim).map((a) => a.outcome)).toEqual(['failed', 'dead_lettered']);
    h.failing.delete(eventId);

    const t = await tracked(eventId, (x) => x.state === 'complete', 'recovered by the monitor retry', 30000);
    const retry = t.retries.find((r) => r.service === h.sim)!;
    expect(retry).toMatchObject({ group: `${h.sim}.projection`, trigger: 'sla_sweep', outcome: 'recovered' });
    // The consumer saw the monitor's re-delivery as a later attempt of the same event.
    expect(h.applied.get(eventId)).toBeGreaterThan(2);
    const redelivered = recorder.where(
      (x) =>
        x.topic === `${TOPIC}.retry` &&
        x.message.headers?.['x-redelivered-by']?.toString() === 'sync-monitor' &&
        x.message.headers?.eventId?.toString() === eventId,
    );
    expect(redelivered.length).toBeGreaterThanOrEqual(1);
    expect(redelivered[0].message.headers?.['x-consumer']?.toString()).toBe(`${h.sim}.projection`);
    expect(
      (await h.monitor.runtime.schemas.decode(redelivered[0].message.value as Buffer)) as { envelope: { eventId: string } },
    ).toMatchObject({ envelope: { eventId } });
    // Recovered before the business SLA, or (on a slow machine) escalated and then resolved by the recovery.
    expect(t.escalation === null || t.escalation.status === 'resolved').toBe(true);
  });
});

describe('sweeping what another instance opened', () => {
  it('finds, through its periodic store query, an overdue event this instance never wrote', async () => {
    // Written straight into the store, as a monitor instance that then died would have left it.
    const now = Date.now();
    const t = applyEnvelope(
      null,
      GHOST_TOPIC,
      {
        eventId: randomUUID(),
        type: 'identity.customer-merged',
        occurredAt: now - 5000,
        producer: 'identity',
        aggregateId: `cust-${h.run}`,
        correlationId: `${h.run}-orphan`,
        sourceChannel: 'web',
      },
      null,
      { consumers: [h.ghost], slaMs: 700 },
      now,
    );
    await h.monitor.runtime.db.collection<Tracking>('exceptions').insertOne(t);
    const swept = await tracked(t._id, (x) => x.retries.length > 0, 'a sweep of the stored event');
    expect(swept.retries[0]).toMatchObject({ service: h.ghost, trigger: 'sla_sweep' });
  });
});

describe('SLA escalation', () => {
  it('escalates an event a consumer never applies: alert, admin notice, fallback notice per channel, status feed; reconcile closes it', async () => {
    const channel = `web-${h.run}`;
    const customer = `cus_${h.run}`;
    const id = await h.publishGhost(channel, customer);
    const t = await tracked(id, (x) => x.escalation?.status === 'opened', 'escalation opened', 20000);
    expect(t.state).toBe('escalated');
    expect(t.escalation).toMatchObject({ laggingServices: [h.ghost], channels: [channel], rootCause: 'no_ack' });
    // No group of the ghost service was ever seen: the retry is recorded with that outcome.
    expect(t.retries[0]).toMatchObject({ service: h.ghost, outcome: 'no_known_group' });

    const esc = await waitFor(
      () => decoded<{ eventId: string; status: string; laggingConsumers: string[] }>('sync.escalation', (v) => v.eventId === id),
      'sync.escalation',
    );
    expect(esc[0]).toMatchObject({ status: 'opened', laggingConsumers: [h.ghost] });
    const notices = await waitFor(async () => {
      const n = await decoded<{ eventId: string; audience: string; channel: string | null; recipientIds: string[] }>(
        'sync.notice',
        (v) => v.eventId === id,
      );
      return n.length >= 2 ? n : null;
    }, 'admin and customer notices');
    expect(notices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ audience: 'admin', channel: null }),
        expect.objectContaining({ audience: 'customer', channel, recipientIds: [customer] }),
      ]),
    );

    const feed = await http
      .get(`/channels/${channel}/status-feed`)
      .set('authorization', await bearer({ sub: 'stf_seller', kind: 'staff', roles: ['seller'] }));
    expect(feed.status).toBe(200);
    expect(feed.body.entries).toEqual([expect.objectContaining({ kind: 'delay', eventId: id })]);

    const issues = await http.get('/issues').set('authorization', admin);
    expect(issues.body.groups).toEqual(
      expect.arrayContaining([expect.objectContaining({ consumer: h.ghost, errorClass: 'no_ack', channel, state: 'escalated' })]),
    );

    const bad = await http.post(`/propagation/events/${id}/reconcile`).set('authorization', admin).send({ note: '' });
    expect(bad.status).toBe(400);
    const rec = await http
      .post(`/propagation/events/${id}/reconcile`)
      .set('authorization', admin)
      .send({ note: 'fixed by hand in the ghost store' });
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({ state: 'reconciled', escalation: { status: 'reconciled' } });
    expect(rec.body.actions).toEqual([
      expect.objectContaining({ kind: 'reconciled', by: 'stf_admin', note: 'fixed by hand in the ghost store' }),
    ]);
    const again = await http.post(`/propagation/events/${id}/reconcile`).set('authorization', admin).send({ note: 'twice' });
    expect(again.status).toBe(409);
    await waitFor(
      () => decoded<{ eventId: string; status: string }>('sync.escalation', (v) => v.eventId === id && v.status === 'reconciled'),
      'reconciled alert',
    );
    const feed2 = await http.get(`/channels/${channel}/status-feed`).set('authorization', admin);
    expect(feed2.body.entries.map((e: { kind: string }) => e.kind)).toEqual(['recovery', 'delay']);

    const sc = await http.post(`/propagation/events/${id}/support-case`).set('authorization', admin).send({ note: 'customer called' });
    expect(sc.status).toBe(201);
    expect(sc.body.caseId).toMatch(/^case-/);
    expect(sc.body.event.actions.map((a: { kind: string }) => a.kind)).toEqual(['reconciled', 'support_case']);
    const metrics = await http.get('/metrics');
    expect(metrics.text).toMatch(/omnimall_sync_escalations_total\{[^}]*topic="identity.customer-merged"/);
  });
});

describe('channel status', () => {
  it('does not judge an event late while its acks may be unread: the sweep waits for the acks group to catch up past the deadline', async () => {
    // the acks group stops catching up (stand-in for a bulk's acks ahead of it)
    const id = await withFrozen(h.monitor.consumers.acks, Date.now(), async () => {
      const ghost = await h.publishGhost(`web-${h.run}`, `cus_${h.run}-late`);
      // well past the ghost event's SLA (700 ms in the harness) and several sweeps: no retry, no escalation
      const seen = await tracked(ghost, () => true, 'the ghost event tracked');
      await waitFor(() => Date.now() - seen.occurredAt > 3_000, 'the SLA long past', 10_000, 100);
      const held = await tracked(ghost, () => true, 'the ghost event');
      expect([held.retries.length, held.escalation]).toEqual([0, null]);
      return ghost;
    });
    // once the acks are read past the deadline, it is late: re-delivered
    const late = await tracked(id, (x) => x.retries.length > 0, 'the retry once the acks are read', 20_000);
    expect(late.retries[0]).toMatchObject({ service: h.ghost });
  });

  it('judges bulk work against its own acks lane: behind, it holds back only the bulk events', async () => {
    // the bulk lane's acks group stops catching up (a bulk job's acks ahead of it)
    const bulkId = await withFrozen(h.monitor.consumers['acks-bulk'], Date.now(), async () => {
      const bulk = await h.publishGhost(`web-${h.run}`, `cus_${h.run}-bulk`, { lane: 'bulk' });
      const everyday = await h.publishGhost(`web-${h.run}`, `cus_${h.run}-everyday`);
      // the everyday event is late and re-delivered as usual, whatever the bulk lane does
      const late = await tracked(everyday, (x) => x.retries.length > 0, 'the everyday event re-delivered', 20_000);
      expect([late.bulk, late.slaMs]).toEqual([undefined, 700]);
      // past its own SLA too (bulk work's, longer than the topic's), and still held while its lane is unread
      await waitFor(() => Date.now() - late.occurredAt > BULK_SLA_MS + 1000, 'the bulk SLA long past', 10_000, 100);
      const held = await tracked(bulk, () => true, 'the bulk event');
      expect([held.bulk, held.slaMs, held.slaDeadline - held.occurredAt]).toEqual([true, BULK_SLA_MS, BULK_SLA_MS]);
      expect([held.retries.length, held.escalation]).toEqual([0, null]);
      return bulk;
    });
    const retried = await tracked(bulkId, (x) => x.retries.length > 0, 'the bulk event re-delivered once its lane is read', 20_000);
    expect(retried.retries[0]).toMatchObject({ service: h.ghost });
  });

  it('shows state and block reasons, and feeds limitations and recoveries', async () => {
    const code = `kiosk-${h.run}`;
    await h.publishChannel(code, 'active', [], 1);
    await h.publishChannel(code, 'active', ['outdated_branding'], 2);
    await h.publishChannel(code, 'maintenance', ['outdated_branding'], 3);
    await waitFor(async () => (await h.monitor.store.channels.get(code))?.version === 3, 'channel v3');
    const list = await http.get('/channels').set('authorization', admin);
    expect(list.body.channels).toEqual(
      expect.arrayContaining([expect.objectContaining({ code, state: 'maintenance', blockReasons: ['outdated_branding'] })]),
    );
    await h.publishChannel(code, 'active', [], 4);
    let last: unknown;
    const feed = await waitFor(
      async () => {
        const r = await http.get(`/channels/${code}/status-feed`).set('authorization', admin);
        last = r.body;
        return r.body.entries?.length >= 3 ? r.body : null;
      },
      'three feed entries',
      30000,
    ).catch((err) => {
      throw new Error(`${String(err)}; last feed: ${JSON.stringify(last)}`);
    });
    expect(feed.entries.map((e: { kind: string }) => e.kind)).toEqual(['recovery', 'limitation', 'limitation']);
    expect(feed.status).toMatchObject({ code, state: 'active', blockReasons: [] });
  });
});

describe('consumer-group lag', () => {
  it('measures committed against end offsets per group and partition, in the API and as a gauge', async () => {
    const r = await http.get('/consumer-lag?refresh=true').set('authorization', admin);
    expect(r.status).toBe(200);
    const mine = r.body.partitions.filter((p: { group: string }) => p.group === `${h.sim}.projection`);
    expect(mine.length).toBe(6);
    for (const p of mine) {
      expect(p.topic).toBe(TOPIC);
      expect(p.lag).toBe(p.committed === null ? p.lag : Math.max(0, p.end - p.committed));
    }
    expect(mine.some((p: { committed: number | null }) => p.committed !== null)).toBe(true);
    const metrics = await http.get('/metrics');
    expect(metrics.text).toContain(`omnimall_consumer_group_lag{group="${h.sim}.projection",topic="${TOPIC}",partition="0"`);
  });
});

describe('access and input', () => {
  it('admin routes need an admin; bad input is a 400, an unknown event a 404', async () => {
    expect((await http.get('/propagation/percentiles')).status).toBe(401);
    const customer = await bearer({ sub: 'cus_1', kind: 'customer' });
    expect((await http.get('/propagation/percentiles').set('authorization', customer)).status).toBe(403);
    const seller = await bearer({ sub: 'stf_s', kind: 'staff', roles: ['seller'] });
    expect((await http.get('/issues').set('authorization', seller)).status).toBe(403);
    const w = await http.get('/propagation/percentiles?window=2d').set('authorization', admin);
    expect(w.status).toBe(400);
    expect(w.body.code).toBe('validation_failed');
    const nf = await http.post(`/propagation/events/${randomUUID()}/retry`).set('authorization', admin).send({});
    expect(nf.status).toBe(404);
    expect(nf.body.code).toBe('event_not_tracked');
    const doc = await http.get('/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/propagation/percentiles', '/channels/{code}/status-feed', '/consumer-lag']),
    );
  });
});

describe('tracking health', () => {
  it("reports the monitor's own lag per group to admins: current once caught up, degraded when a group falls behind the shortest SLA", async () => {
    expect((await http.get('/tracking/health')).status).toBe(401);
    const staff = await bearer({ sub: 'stf_x', kind: 'staff', roles: ['manager'] });
    expect((await http.get('/tracking/health').set('authorization', staff)).status).toBe(403);
    const current = await waitFor(async () => {
      const r = await http.get('/tracking/health').set('authorization', admin);
      return r.body.status === 'current' ? r.body : null;
    }, 'tracking current');
    expect(current.shortestSlaMs).toBe(700); // the harness's topics
    expect((await http.get('/readyz')).body.status).toBe('ready');
    expect(current.groups.map((g: { group: string }) => g.group).sort()).toEqual(
      [h.monitor.consumers.acks.group, h.monitor.consumers['acks-bulk'].group, h.monitor.consumers['track-high'].group].sort(),
    );
    // A group that stops catching up (stand-in: its caught-up time frozen 5 s back) makes it degraded, and the gauge says so.
    const stuck = h.monitor.consumers.acks;
    const frozen = Date.now() - 5000;
    await withFrozen(stuck, frozen, async () => {
      const r = await http.get('/tracking/health').set('authorization', admin);
      expect(r.body).toMatchObject({ status: 'degraded' });
      expect(r.body.behindMs).toBeGreaterThanOrEqual(5000);
      const summary = await http.get('/dashboard/summary').set('authorization', admin);
      expect(summary.body.tracking).toMatchObject({ status: 'degraded' });
      // /readyz: still ready (200), but says degraded and which group is behind
      const ready = await http.get('/readyz');
      expect([ready.status, ready.body.status]).toEqual([200, 'degraded']);
      expect(ready.body.degraded.tracking.groups.map((g: { group: string }) => g.group)).toEqual([stuck.group]);
      const metrics = await http.get('/metrics');
      expect(metrics.text).toMatch(
        new RegExp(`omnimall_sync_monitor_behind_seconds\\{group="${stuck.group.replace(/\./g, '\\.')}"[^}]*\\} [5-9]`),
      );
    });
    // The bulk acks lane may fall behind for as long as its own SLA (sync.applied.bulk, 600 s): not degraded.
    const bulk = h.monitor.consumers['acks-bulk'];
    await withFrozen(bulk, frozen, async () => {
      const r = await http.get('/tracking/health').set('authorization', admin);
      expect(r.body.status).toBe('current');
      expect(r.body.groups.find((g: { group: string }) => g.group === bulk.group)).toMatchObject({ boundMs: 600_000 });
      expect(r.body.groups.find((g: { group: string }) => g.group === bulk.group).behindMs).toBeGreaterThanOrEqual(5000);
    });
  });
});
