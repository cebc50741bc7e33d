import type { Producer } from 'kafkajs';
import { newEvent, ServiceRuntime } from '../src';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const probe = (aggregateId: string, sequence: number) =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: sequence },
    { sequence, payload: '' },
  );

describe('EventPublisher against the real broker', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  let requests: number;

  beforeEach(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-publisher'), produces: ['platform.probe'] });
    // Counts produce requests; every one still goes to the broker.
    const producer = (rt.publisher as unknown as { producer: Producer }).producer;
    const sendBatch = producer.sendBatch.bind(producer);
    requests = 0;
    producer.sendBatch = (batch) => {
      requests++;
      return sendBatch(batch);
    };
  });
  afterEach(() => rt.stop());
  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['platform.probe']).start();
  });
  afterAll(() => recorder.stop());

  const received = (key: string) => recorder.where((r) => r.message.key?.toString() === key).length;

  it('lets lingering sends share one produce request', async () => {
    const key = uniqueName('linger');
    await Promise.all([1, 2, 3].map((n) => rt.publisher.publish([probe(key, n)], { lingerMs: 50 })));
    expect(requests).toBe(1);
    await waitFor(() => received(key) === 3, 'three records');
  });

  it('sends lingering records at once with the next send that does not linger', async () => {
    const key = uniqueName('linger');
    const lingering = rt.publisher.publish([probe(key, 1)], { lingerMs: 60_000 });
    await rt.publisher.publish([probe(key, 2)]);
    await lingering;
    expect(requests).toBe(1);
    await waitFor(() => received(key) === 2, 'both records');
  });

  it('sends what still lingers before it disconnects', async () => {
    const key = uniqueName('linger');
    const lingering = rt.publisher.publish([probe(key, 1)], { lingerMs: 60_000 });
    await rt.publisher.disconnect();
    await lingering;
    await waitFor(() => received(key) === 1, 'the lingering record');
  });
});
