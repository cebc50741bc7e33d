/** What the partner tests share: channels on the real stack, a simulator of the upstream producers, and affiliate channels to deliver to. */
import supertest from 'supertest';
import type { TopicName } from '@omnimall/contracts';
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName } from '@omnimall/service-kit/testing';
import { channelBody } from './fixtures';
import { adminToken, startTestChannels, type ChannelsService } from './harness';

export interface PartnerHarness {
  svc: ChannelsService;
  /** Publishes what upstream services and partner systems would. */
  sim: ServiceRuntime;
  recorder: TopicRecorder;
  http: ReturnType<typeof supertest>;
  admin: string;
  stop(): Promise<void>;
}

export async function startPartnerHarness(simName: string, produces: TopicName[], recorded: string[]): Promise<PartnerHarness> {
  const [svc, sim, recorder] = await Promise.all([
    startTestChannels(),
    ServiceRuntime.start({ config: testConfig(simName), produces }),
    new TopicRecorder(testKafka(), recorded).start(),
  ]);
  return {
    svc,
    sim,
    recorder,
    http: supertest(svc.app),
    admin: await adminToken(),
    stop: async () => {
      await Promise.all([svc.stop(), sim.stop(), recorder.stop()]);
    },
  };
}

export const channelCode = (prefix: string): string => uniqueName(prefix).replace(/_/g, '-');

/** An affiliate channel on a web master channel, both registered by the admin. */
export async function partnerChannel(h: Pick<PartnerHarness, 'http' | 'admin'>): Promise<string> {
  const master = channelCode('master');
  const affiliate = channelCode('aff');
  const m = await h.http.post('/channels').set('authorization', h.admin).send(channelBody(master));
  if (m.status !== 201) throw new Error(`master channel: ${m.status} ${JSON.stringify(m.body)}`);
  const a = await h.http
    .post('/channels')
    .set('authorization', h.admin)
    .send(channelBody(affiliate, { kind: 'affiliate', masterChannel: master }));
  if (a.status !== 201) throw new Error(`affiliate channel: ${a.status} ${JSON.stringify(a.body)}`);
  return affiliate;
}
