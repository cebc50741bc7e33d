import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { catalogue, type SyncEscalation, type SyncNotice } from '@omnimall/contracts';
import { newEvent, ServiceRuntime, type RunningService } from '@omnimall/service-kit';
import { testConfig, testGroups, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { catalogueExpectations } from '../src/domain/expectations';
import { notReadyId } from '../src/domain/promotion-readiness';
import { syncMonitorService, type SyncMonitorExposes } from '../src/main';
import { adminToken } from './support/harness';

/**
 * A promotion started on channels that had not acknowledged its definition: the monitor escalates
 * each of them (real Kafka, FerretDB and registry; the promotions service simulated).
 */
const LIFECYCLE = 'promotions.promotion-lifecycle';
const run = randomUUID().slice(0, 8);
let monitor: RunningService<SyncMonitorExposes>;
let producer: ServiceRuntime;
let recorder: TopicRecorder;

beforeAll(async () => {
  [monitor, producer, recorder] = await Promise.all([
    syncMonitorService.start({
      config: testConfig('sync-monitor'),
      groups: testGroups(),
      deps: {
        topics: [LIFECYCLE],
        expectations: catalogueExpectations(catalogue),
        trackEnvelope: (env) => env.correlationId.startsWith(run),
        trackAck: (ack) => ack.envelope.correlationId.startsWith(run),
        consumerLagIntervalMs: 60_000,
      },
    }),
    ServiceRuntime.start({ config: testConfig('promotions-sim'), produces: [LIFECYCLE] }),
    new TopicRecorder(testKafka(), ['sync.escalation', 'sync.notice']).start(),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([recorder?.stop(), producer?.stop(), monitor?.stop()]);
});

/** The decoded records of a topic matching `pred`. */
async function decoded<T>(topic: string, pred: (v: T) => boolean): Promise<T[]> {
  const out: T[] = [];
  for (const r of recorder.records.filter((x) => x.topic === topic)) {
    const v = await monitor.runtime.schemas.decode<T>(r.message.value!);
    if (pred(v)) out.push(v);
  }
  return out;
}

function started(promotionId: string, notReady: string[]) {
  return newEvent(
    LIFECYCLE,
    {
      type: 'promotion.started',
      producer: 'promotions',
      aggregateId: promotionId,
      aggregateVersion: 3,
      correlationId: `${run}-${promotionId}`,
    },
    {
      promotionId,
      name: 'Summer',
      phase: 'started',
      channels: ['web', 'app', 'kiosk'],
      startsAt: Date.now(),
      endsAt: null,
      version: 3,
      notReady,
      skus: [],
    },
  );
}

describe('promotions not ready at their start', () => {
  it('escalates every channel not ready, once, with reason promotion_not_ready; an admin reconciles each apart', async () => {
    const event = started(`promo-${run}`, ['app', 'kiosk']);
    const eventId = event.value.envelope.eventId;
    await producer.publisher.publish([event]);
    const alerts = await waitFor(async () => {
      const found = await decoded<SyncEscalation>('sync.escalation', (v) => v.eventId.startsWith(`${eventId}:`));
      return found.length >= 2 ? found : null;
    }, 'two escalations');
    expect(alerts.map((a) => [a.eventId, a.status, a.channels, a.rootCause, a.topic]).sort()).toEqual([
      [notReadyId(eventId, 'app'), 'opened', ['app'], 'promotion_not_ready', LIFECYCLE],
      [notReadyId(eventId, 'kiosk'), 'opened', ['kiosk'], 'promotion_not_ready', LIFECYCLE],
    ]);
    // the admins are told per channel; no customer is told of a delay
    const notices = await waitFor(async () => {
      const found = await decoded<SyncNotice>('sync.notice', (v) => v.eventId.startsWith(`${eventId}:`));
      return found.length >= 2 ? found : null;
    }, 'the admin notices');
    expect(notices.map((n) => [n.audience, n.channel]).sort()).toEqual([
      ['admin', 'app'],
      ['admin', 'kiosk'],
    ]);
    const feed = await waitFor(async () => {
      const entries = await monitor.store.feed.latest('kiosk', 50);
      return entries.filter((f) => f.eventId === notReadyId(eventId, 'kiosk'));
    }, "the kiosk's status feed entry");
    expect(feed.map((f) => f.kind)).toEqual(['delay']);

    // a replay of the lifecycle event opens nothing again
    await producer.publisher.publish([event]);
    const other = started(`other-${run}`, []);
    await producer.publisher.publish([other]);
    await waitFor(() => monitor.events.find(other.value.envelope.eventId), 'a later event tracked');
    expect(await decoded<SyncEscalation>('sync.escalation', (v) => v.eventId.startsWith(`${eventId}:`))).toHaveLength(2);
    expect(await decoded<SyncEscalation>('sync.escalation', (v) => v.eventId.startsWith(`${other.value.envelope.eventId}:`))).toEqual([]);

    const http = supertest(monitor.app);
    const res = await http
      .post(`/propagation/events/${encodeURIComponent(notReadyId(eventId, 'app'))}/reconcile`)
      .set('authorization', await adminToken())
      .send({ note: 'app channel republished the definition' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'reconciled', escalation: { status: 'reconciled', rootCause: 'promotion_not_ready' } });
    expect((await monitor.events.get(notReadyId(eventId, 'kiosk'))).escalation?.status).toBe('opened');
  });
});
