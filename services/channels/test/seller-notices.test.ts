import supertest from 'supertest';
import type { TopicValues } from '@omnimall/contracts';
import { ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { activate, adminToken, managerToken, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody, localItem } from './support/fixtures';

let svc: ChannelsService;
let catalogSim: ServiceRuntime;
let recorder: TopicRecorder;
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  [svc, catalogSim, recorder] = await Promise.all([
    startTestChannels(),
    ServiceRuntime.start({ config: testConfig('catalog-sim'), produces: ['catalog.local-item'] }),
    new TopicRecorder(testKafka(), ['sync.applied']).start(),
  ]);
  http = supertest(svc.app);
});
afterAll(async () => {
  await Promise.all([svc?.stop(), catalogSim?.stop(), recorder?.stop()]);
});

/** The outcomes this service's seller-listing consumer acknowledged for an event (sync.applied). */
async function ackOutcomes(eventId: string, count: number): Promise<string[]> {
  return waitFor(async () => {
    const recs = recorder.where((r) => r.topic === 'sync.applied' && String(r.message.key) === eventId);
    const acks = await Promise.all(recs.map((r) => svc.runtime.schemas.decode<TopicValues['sync.applied']>(r.message.value!)));
    const ours = acks.filter((a) => a.consumer === svc.consumers['seller-listings'].name).map((a) => a.outcome);
    return ours.length >= count ? ours : null;
  }, `${count} ack(s) of ${eventId}`);
}

async function activeChannel(): Promise<string> {
  const code = uniqueName('sellers').replace(/_/g, '-');
  const r = await http
    .post('/channels')
    .set('authorization', await adminToken())
    .send(channelBody(code, { languages: ['de-DE', 'fr'] }));
  expect(r.status).toBe(201);
  await activate(svc, code);
  return code;
}

const listing = (code: string, sku: string) => svc.models.sellerListings.findById(`${code}:${sku}`).lean();

it('maintenance and sunset notices for sellers address the sellers listed on the channel, not one whose only item was withdrawn', async () => {
  const code = await activeChannel();
  const manager = await managerToken([code]);
  const [listed1, listed2, withdrawn] = [uniqueName('sel'), uniqueName('sel'), uniqueName('sel')];
  await catalogSim.publisher.publish([
    localItem(code, 'sku-a', listed1, 1),
    localItem(code, 'sku-b', listed1, 1),
    localItem(code, 'sku-c', listed2, 1),
    localItem(code, 'sku-d', withdrawn, 1),
    localItem(code, 'sku-d', withdrawn, 2, 'withdrawn'),
    // An item of another channel does not make its seller one of this channel's.
    localItem(`${code}-other`, 'sku-e', withdrawn, 1),
  ]);
  await waitFor(
    async () =>
      (await svc.models.sellerListings.countDocuments({ channel: code })) === 4 && (await listing(code, 'sku-d'))?.aggregateVersion === 2,
    'four items projected, sku-d withdrawn',
  );

  const expectedBackAt = new Date(Date.now() + 3600_000).toISOString();
  const moved = await http
    .post(`/channels/${code}/transitions`)
    .set('authorization', manager)
    .send({ action: 'enter_maintenance', expectedBackAt, reason: 'warehouse move' });
  expect(moved.body.state).toBe('maintenance');

  const sellers = [listed1, listed2].sort();
  for (const kind of ['maintenance', 'sunset'] as const) {
    if (kind === 'sunset')
      expect(
        (
          await http
            .post(`/channels/${code}/transitions`)
            .set('authorization', await adminToken())
            .send({ action: 'sunset' })
        ).body.state,
      ).toBe('sunset');
    const notes = await waitFor(async () => {
      const rows = await svc.models.notifications.find({ channel: code, kind }).lean();
      return rows.length === 3 && rows;
    }, `three ${kind} notifications`);
    // No customer is known on the channel: sellers (de, en) and admins only.
    const byKey = Object.fromEntries(notes.map((n) => [`${n.audience}:${n.language}`, n]));
    expect(Object.keys(byKey).sort()).toEqual(['admin:en', 'seller:de', 'seller:en']);
    expect(byKey['seller:de'].recipientIds).toEqual(sellers);
    expect(byKey['seller:en'].recipientIds).toEqual(sellers);
    expect(byKey['admin:en'].recipientIds).toEqual([]);
  }
});

it('a late older event does not list a withdrawn item again', async () => {
  const code = uniqueName('late').replace(/_/g, '-');
  const seller = uniqueName('sel');
  await catalogSim.publisher.publish([localItem(code, 'sku-1', seller, 1), localItem(code, 'sku-1', seller, 2, 'withdrawn')]);
  await waitFor(async () => (await listing(code, 'sku-1'))?.status === 'withdrawn', 'the item withdrawn');

  // Version 1 again, as a separate event arriving after version 2 (say, re-sent by the producer).
  const late = localItem(code, 'sku-1', seller, 1);
  await catalogSim.publisher.publish([late]);
  expect(await ackOutcomes(late.value.envelope.eventId, 1)).toEqual(['skipped_duplicate']);
  expect(await listing(code, 'sku-1')).toMatchObject({ status: 'withdrawn', aggregateVersion: 2, sellerId: seller });
  expect(await svc.models.sellerListings.countDocuments({ channel: code, status: 'listed' })).toBe(0);
});

it('a replayed event applies once', async () => {
  const code = uniqueName('replay').replace(/_/g, '-');
  const [first, second] = [uniqueName('sel'), uniqueName('sel')];
  const ev = localItem(code, 'sku-1', first, 1);
  await catalogSim.publisher.publish([ev]);
  expect(await ackOutcomes(ev.value.envelope.eventId, 1)).toEqual(['applied']);
  // The item moves to another seller, then the first event is delivered again.
  const moved = localItem(code, 'sku-1', second, 2);
  await catalogSim.publisher.publish([moved]);
  await waitFor(async () => (await listing(code, 'sku-1'))?.sellerId === second, 'the item moved to the second seller');
  await catalogSim.publisher.publish([ev]);
  expect((await ackOutcomes(ev.value.envelope.eventId, 2)).sort()).toEqual(['applied', 'skipped_duplicate']);
  const doc = await listing(code, 'sku-1');
  expect(doc).toMatchObject({ sellerId: second, status: 'listed', aggregateVersion: 2 });
  expect(doc!.appliedEvents.filter((id) => id === ev.value.envelope.eventId)).toHaveLength(1);
});
