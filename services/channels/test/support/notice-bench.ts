/**
 * What the notice tests share (sync.notice, cart.promotion-notice): the running channels, a
 * simulated producer, a recorder of channels.notification and sync.applied, a webhook receiver.
 */
import supertest from 'supertest';
import type { TopicName, TopicValues } from '@omnimall/contracts';
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { managerToken, startTestChannels, type ChannelsService } from './harness';
import { Receiver } from './receiver';

export interface NoticeBench {
  svc: ChannelsService;
  /** Publishes what the simulated service produces. */
  sim: ServiceRuntime;
  recorder: TopicRecorder;
  receiver: Receiver;
  http: ReturnType<typeof supertest>;
  stop(): Promise<void>;
}

/** Starts channels beside a simulated `simName` producing `produces`. */
export async function startNoticeBench(simName: string, produces: TopicName[]): Promise<NoticeBench> {
  const [svc, sim, recorder, receiver] = await Promise.all([
    startTestChannels(),
    ServiceRuntime.start({ config: testConfig(simName), produces }),
    new TopicRecorder(testKafka(), ['channels.notification', 'sync.applied']).start(),
    new Receiver().listen(),
  ]);
  return {
    svc,
    sim,
    recorder,
    receiver,
    http: supertest(svc.app),
    stop: async () => {
      await Promise.all([svc.stop(), sim.stop(), recorder.stop(), receiver.close()]);
    },
  };
}

/** Registers the receiver as the channel's endpoint for notifications. */
export async function hookNotifications(bench: NoticeBench, code: string): Promise<void> {
  const hook = await bench.http
    .post(`/channels/${code}/webhooks`)
    .set('authorization', await managerToken([code]))
    .send({ url: bench.receiver.url, events: ['notification'] });
  expect(hook.status).toBe(201);
  bench.receiver.secret = hook.body.secret;
}

/** The outcomes the consumer `purpose` acknowledged for an event (sync.applied), once at least `count` are in. */
export async function ackOutcomes(bench: NoticeBench, purpose: string, eventId: string, count: number): Promise<string[]> {
  return waitFor(async () => {
    const recs = bench.recorder.where((r) => r.topic === 'sync.applied' && String(r.message.key) === eventId);
    const acks = await Promise.all(recs.map((r) => bench.svc.runtime.schemas.decode<TopicValues['sync.applied']>(r.message.value!)));
    const ours = acks.filter((a) => a.consumer === bench.svc.consumers[purpose].name).map((a) => a.outcome);
    return ours.length >= count ? ours : null;
  }, `${count} ack(s) of ${eventId}`);
}

/** The channel's notifications of one kind, once there are `count`, and them by language. */
export async function notificationsOf(bench: NoticeBench, code: string, kind: string, count: number) {
  const notes = await waitFor(async () => {
    const rows = await bench.svc.models.notifications.find({ channel: code, kind }).lean();
    return rows.length === count ? rows : null;
  }, `${count} ${kind} notification(s) on ${code}`);
  return { notes, byLanguage: Object.fromEntries(notes.map((n) => [n.language, n])) };
}
