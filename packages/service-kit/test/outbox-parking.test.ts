/**
 * Finding 2 of issue 17: an event its topic's schema refuses is refused before it is committed, and
 * one committed anyway is parked (visible, counted, logged once) instead of blocking its document's
 * later events with an endless retry (real FerretDB, registry and Kafka).
 */
import { newEvent, ServiceRuntime, type OutboxEntry } from '../src';
import { entriesOf } from '../src/events/outbox/entries';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';
import { probeModel } from './fixtures/probe-model';

const probe = (aggregateId: string, version: number, sequence: unknown) =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: version },
    { sequence: sequence as number, payload: '' },
  );

describe('outbox entries their topic schema refuses', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  beforeAll(async () => {
    // The recovery pass runs only when the test calls it (its first tick finds nothing of this test's).
    rt = await ServiceRuntime.start({
      config: testConfig('kit-parking'),
      produces: ['platform.probe'],
      outbox: { graceMs: 0, pollIntervalMs: 3_600_000 },
    });
    recorder = await new TopicRecorder(testKafka(), ['platform.probe']).start();
  });
  afterAll(async () => {
    await recorder.stop();
    await rt.stop();
  });

  const published = (key: string) =>
    recorder.where((r) => r.message.key?.toString() === key).map((r) => r.message.headers?.eventId?.toString());
  const parkedCount = async (): Promise<number> => {
    const metric = await rt.metrics.registry.getSingleMetric('omnimall_outbox_parked_total')?.get();
    return (metric?.values ?? []).filter((v) => v.labels.topic === 'platform.probe').reduce((n, v) => n + v.value, 0);
  };

  it('refuses a write whose event does not match its schema, writing nothing', async () => {
    const Probe = rt.outbox.track(probeModel(rt.db));
    const id = uniqueName('refused');
    const refused = await rt.outbox
      .update(Probe, id, { $set: { version: 1 } }, [probe(id, 1, 'one')], { upsert: true })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 422, code: 'event_not_encodable', details: { topic: 'platform.probe' } });
    expect((refused as { details: { problems: string[] } }).details.problems[0]).toMatch(/^sequence/);
    expect(await Probe.findById(id).lean()).toBeNull();
  });

  it('parks a committed entry that cannot be encoded and still publishes the document’s other and later events', async () => {
    const Probe = rt.outbox.track(probeModel(rt.db));
    const id = uniqueName('parked');
    const before = await parkedCount();
    // As an older version of a service would have committed them: the unencodable entry first.
    const poison = probe(id, 1, 'not-a-number');
    const next = probe(id, 2, 2);
    await Probe.collection.insertOne({ _id: id, version: 2, outbox: entriesOf([poison, next]), outboxCount: 2, writeRev: 1 } as never);

    await rt.outbox.recover();
    await waitFor(() => published(id).includes(next.value.envelope.eventId), 'the entry after the poison one');
    const later = probe(id, 3, 3);
    await rt.outbox.update(Probe, id, { $set: { version: 3 } }, [later], { awaitPublish: true });
    await waitFor(() => published(id).includes(later.value.envelope.eventId), 'the later event');

    const doc = (await Probe.findById(id).lean()) as { outbox: Record<string, OutboxEntry> };
    const parked = doc.outbox[poison.value.envelope.eventId];
    expect(parked.parked?.problems[0]).toMatch(/^sequence: string "not-a-number"/);
    expect(await parkedCount()).toBe(before + 1);

    await rt.outbox.recover(); // a parked entry is not tried again, nor counted again
    expect(await parkedCount()).toBe(before + 1);
    expect(published(id)).not.toContain(poison.value.envelope.eventId);
    expect(published(id).filter((e) => e === next.value.envelope.eventId)).toHaveLength(1);
  });
});
