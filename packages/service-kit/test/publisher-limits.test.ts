/**
 * Issue 18, items 5 and 6, at the publisher (real broker): requests capped by bytes and count, a
 * record too large refused alone while the rest of its request is sent, a broker refusal isolated
 * and the producer replaced, a sequence error answered with a new producer and the same records in
 * order, kept records (acks) sent later in order instead of dropped, back-pressure, rate-limited logs.
 */
import { KafkaJSNonRetriableError, KafkaJSProtocolError, type Message, type Producer, type ProducerBatch } from 'kafkajs';
import { newEvent, RecordRefusedError, RecordsRefusedError, ServiceRuntime } from '../src';
import { recordBytes } from '../src/kafka/publisher/requests';
import { ackEvent } from '../src/events/consumer/acknowledge';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';
import { probeModel } from './fixtures/probe-model';

const probe = (aggregateId: string, sequence: number, payload = '') =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: sequence },
    { sequence, payload },
  );

interface Spy {
  /** The messages of each produce request the publisher made. */
  requests: Message[][];
  /** Errors the next sendBatch calls throw (without reaching the broker), in turn. */
  failures: unknown[];
  /** While set, a sendBatch call waits for it. */
  gate?: Promise<void>;
}

/** Wraps the publisher's current producer (a replacement is wrapped too, see `producerOf`). */
function spyOn(rt: ServiceRuntime): Spy {
  const spy: Spy = { requests: [], failures: [] };
  const wrap = (producer: Producer): Producer => {
    const sendBatch = producer.sendBatch.bind(producer);
    producer.sendBatch = async (batch: ProducerBatch) => {
      await spy.gate;
      const failure = spy.failures.shift();
      if (failure) throw failure;
      spy.requests.push(batch.topicMessages!.flatMap((t) => t.messages));
      return sendBatch(batch);
    };
    return producer;
  };
  const pub = rt.publisher as unknown as { producer: Producer; newProducer: () => Producer };
  wrap(pub.producer);
  const newProducer = pub.newProducer.bind(pub);
  pub.newProducer = () => wrap(newProducer());
  return spy;
}

const producerOf = (rt: ServiceRuntime): Producer => (rt.publisher as unknown as { producer: Producer }).producer;

const metricValue = async (rt: ServiceRuntime, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const metric = await rt.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
};

describe('EventPublisher limits and recovery against the real broker', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  let spy: Spy;

  beforeAll(async () => {
    recorder = await new TopicRecorder(testKafka(), ['platform.probe']).start();
  });
  afterAll(() => recorder.stop());
  beforeEach(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-publisher-limits'), produces: ['platform.probe'] });
    spy = spyOn(rt);
  });
  afterEach(() => rt.stop());

  const sequencesOf = async (key: string): Promise<number[]> => {
    const records = recorder.where((r) => r.message.key?.toString() === key);
    const values = await Promise.all(records.map((r) => rt.schemas.decode<{ sequence: number }>(r.message.value!)));
    return values.map((v) => v.sequence);
  };
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it('caps every produce request by bytes and sends the records in queue order', async () => {
    rt.publisher.limits.maxRequestBytes = 20_000;
    const key = uniqueName('capped');
    await Promise.all(range(300).map((n) => rt.publisher.publish([probe(key, n, 'x'.repeat(500))], { lingerMs: 20 })));
    expect(spy.requests.length).toBeGreaterThanOrEqual(9);
    for (const request of spy.requests) expect(request.reduce((n, m) => n + recordBytes(m), 0)).toBeLessThanOrEqual(20_000);
    await waitFor(async () => (await sequencesOf(key)).length === 300, 'all 300 records');
    expect(await sequencesOf(key)).toEqual(range(300));
  });

  it('sends the acks of everyday work before the records queued ahead of them (a bulk job behind)', async () => {
    rt.publisher.limits.maxRequestRecords = 10;
    const key = uniqueName('lanes');
    let open!: () => void;
    spy.gate = new Promise((r) => (open = r));
    const inFlight = rt.publisher.publish([probe(key, 0)]);
    const bulk = Promise.all(range(50).map((n) => rt.publisher.publish([probe(key, n)], { lane: 'bulk', lingerMs: 20 })));
    const ack = ackEvent('kit-test', 'kit.lanes', {
      topic: 'platform.probe',
      eventId: probe(key, 99).value.envelope.eventId,
      type: 'probe.changed',
      occurredAt: Date.now(),
      correlationId: key,
      outcome: 'applied',
      attempt: 1,
      channel: null,
    });
    const acked = rt.publisher.publish([ack], { keep: true, lingerMs: 20 });
    await waitFor(() => rt.publisher.pendingBytes > 0 && spy.requests.length === 0, 'the queue behind the first request');
    spy.gate = undefined;
    open();
    await Promise.all([inFlight, bulk, acked]);
    const ackRequest = spy.requests.findIndex((r) => r.some((m) => m.key?.toString() === ack.key));
    expect(ackRequest).toBe(1); // right after the request in flight, before any of the 50 queued before it
    expect(spy.requests.slice(2).flat()).toHaveLength(50);
    await waitFor(async () => (await sequencesOf(key)).length === 51, 'the bulk records');
    expect(await sequencesOf(key)).toEqual([0, ...range(50)]); // the business records keep their order
  });

  it('caps every produce request by count', async () => {
    rt.publisher.limits.maxRequestRecords = 40;
    const key = uniqueName('counted');
    await Promise.all(range(200).map((n) => rt.publisher.publish([probe(key, n)], { lingerMs: 20 })));
    expect(spy.requests.length).toBeGreaterThanOrEqual(5);
    for (const request of spy.requests) expect(request.length).toBeLessThanOrEqual(40);
    await waitFor(async () => (await sequencesOf(key)).length === 200, 'all 200 records');
    expect(await sequencesOf(key)).toEqual(range(200));
  });

  it('refuses a record over the limit before sending it, and sends the others queued with it', async () => {
    rt.publisher.limits.maxRequestBytes = 50_000;
    const key = uniqueName('too-large');
    const big = probe(key, 0, 'x'.repeat(60_000));
    const others = range(20).map((n) => probe(key, n));
    const [refused, ...sent] = await Promise.allSettled([big, ...others].map((e) => rt.publisher.publish([e], { lingerMs: 20 })));
    expect(sent.every((s) => s.status === 'fulfilled')).toBe(true);
    const err = (refused as PromiseRejectedResult).reason as RecordsRefusedError;
    expect(err).toBeInstanceOf(RecordsRefusedError);
    expect(err.refused).toEqual([{ eventId: big.value.envelope.eventId, error: expect.any(RecordRefusedError) }]);
    expect(err.refused[0].error).toMatchObject({ reason: 'too_large', permanent: true });
    await waitFor(async () => (await sequencesOf(key)).length === 20, 'the 20 other records');
    expect(await sequencesOf(key)).toEqual(range(20));
    await expect(rt.publisher.sendRaw('platform.probe', [{ key, value: Buffer.alloc(60_000) }])).rejects.toMatchObject({
      reason: 'too_large',
    });
  });

  it("reads a topic's max.message.bytes from the broker and refuses a record over it before sending", async () => {
    const admin = testKafka().admin();
    const topic = uniqueName('test-small-topic');
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }] });
      expect(rt.publisher.recordLimit('platform.probe')).toBeLessThanOrEqual(1_000_000);
      expect(rt.publisher.recordLimit(topic)).toBe(rt.publisher.limits.maxRequestBytes); // not read yet
      await rt.publisher.readTopicLimits([topic]);
      expect(rt.publisher.recordLimit(topic)).toBe(20_000 - 61);
      await expect(rt.publisher.sendRaw(topic, [{ key: 'k', value: Buffer.alloc(25_000) }])).rejects.toMatchObject({ reason: 'too_large' });
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('refuses, when it is written, an outbox event over its topic’s limit: 422 and nothing committed', async () => {
    rt.publisher.limits.maxRequestBytes = 50_000;
    const Probe = rt.outbox.track(probeModel(rt.db));
    const key = uniqueName('big-at-write');
    await expect(
      rt.outbox.update(Probe, key, { $set: { version: 1 } }, [probe(key, 1, 'x'.repeat(60_000))], { upsert: true }),
    ).rejects.toMatchObject({
      status: 422,
      code: 'event_not_encodable',
    });
    expect(await Probe.findById(key).lean()).toBeNull();
    // one just under the limit is written and published
    await rt.outbox.update(Probe, key, { $set: { version: 1 } }, [probe(key, 1, 'x'.repeat(45_000))], { upsert: true });
    await waitFor(async () => (await sequencesOf(key)).length === 1, 'the event under the limit');
  });

  it('isolates a record the broker refuses, replaces the producer and keeps publishing the rest', async () => {
    rt.publisher.limits.maxRequestBytes = 5_000_000; // above the broker's limit: the broker is the one to refuse
    // ...as for a publisher that could not read the topic's own limit at start (no DESCRIBE_CONFIGS grant)
    (rt.publisher as unknown as { topicLimits: Map<string, number> }).topicLimits.clear();
    const key = uniqueName('refused');
    const otherKey = uniqueName('neighbour');
    const replacedBefore = await metricValue(rt, 'omnimall_publisher_producer_replaced_total');
    const before = producerOf(rt);
    const big = probe(key, 0, 'x'.repeat(1_500_000));
    const results = await Promise.allSettled([
      ...range(10).map((n) => rt.publisher.publish([probe(otherKey, n)], { lingerMs: 20 })),
      rt.publisher.publish([big], { lingerMs: 20 }),
      ...range(10).map((n) => rt.publisher.publish([probe(key, n)], { lingerMs: 20 })),
    ]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0].reason as RecordsRefusedError).refused[0].error.reason).toMatch(/^(MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE)$/);
    expect(producerOf(rt)).not.toBe(before);
    expect(await metricValue(rt, 'omnimall_publisher_producer_replaced_total')).toBeGreaterThan(replacedBefore);
    // Later sends go through the new producer: no sequence errors, nothing lost or reordered. Records
    // the broker wrote before refusing the request may come again (consumers drop them by eventId).
    await Promise.all(range(5).map((n) => rt.publisher.publish([probe(key, 10 + n)], { lingerMs: 20 })));
    const firsts = async (k: string) => [...new Set(await sequencesOf(k))];
    await waitFor(async () => (await firsts(key)).length === 15 && (await firsts(otherKey)).length === 10, 'the other records');
    expect(await firsts(otherKey)).toEqual(range(10));
    expect(await firsts(key)).toEqual(range(15));
  });

  it('replaces the producer after a sequence error and sends the same records again, in order', async () => {
    const key = uniqueName('sequence');
    const before = producerOf(rt);
    const replacedBefore = await metricValue(rt, 'omnimall_publisher_producer_replaced_total');
    // What kafkajs throws when the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER (code 45).
    const cause = new KafkaJSProtocolError({
      name: 'KafkaJSProtocolError',
      message: 'The broker received an out of order sequence number',
      type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
      code: 45,
      retriable: false,
    } as never);
    spy.failures.push(Object.assign(new KafkaJSNonRetriableError(cause), { cause })); // as kafkajs' retrier wraps it
    await Promise.all(range(10).map((n) => rt.publisher.publish([probe(key, n)], { lingerMs: 20 })));
    expect(producerOf(rt)).not.toBe(before);
    expect(await metricValue(rt, 'omnimall_publisher_producer_replaced_total')).toBe(replacedBefore + 1);
    await waitFor(async () => (await sequencesOf(key)).length === 10, 'the ten records');
    expect(await sequencesOf(key)).toEqual(range(10));
  });

  it('keeps records that cannot be sent now and sends them later in order; logs the repeating failure once', async () => {
    const key = uniqueName('kept');
    const errors: unknown[][] = [];
    const error = rt.logger.error.bind(rt.logger);
    rt.logger.error = ((...args: unknown[]) => {
      errors.push(args);
      return (error as (...a: unknown[]) => unknown)(...args);
    }) as typeof rt.logger.error;
    const failuresBefore = await metricValue(rt, 'omnimall_publish_failures_total', { kind: 'unavailable' });
    spy.failures.push(...[1, 2, 3].map(() => new Error('connect ECONNREFUSED 127.0.0.1:9092')));
    const notKept = rt.publisher.publish([probe(key, 0)], { lingerMs: 20 });
    const kept = range(5).map((n) => rt.publisher.publish([probe(key, n)], { lingerMs: 20, keep: true }));
    await expect(notKept).rejects.toThrow('ECONNREFUSED');
    await Promise.all(kept);
    await waitFor(async () => (await sequencesOf(key)).length === 5, 'the five kept records');
    expect(await sequencesOf(key)).toEqual(range(5));
    expect(await metricValue(rt, 'omnimall_publish_failures_total', { kind: 'unavailable' })).toBe(failuresBefore + 3);
    expect(errors.filter(([message]) => message === 'publish failed')).toHaveLength(1);
  });

  it('holds callers back while too much is queued, and lets them go once it drains', async () => {
    rt.publisher.limits.maxQueuedBytes = 1000;
    let open!: () => void;
    spy.gate = new Promise((r) => (open = r));
    const key = uniqueName('pressure');
    const sent = Promise.all(range(20).map((n) => rt.publisher.publish([probe(key, n, 'x'.repeat(100))], { keep: true })));
    await waitFor(() => rt.publisher.pendingBytes >= 1000, 'the queue to fill');
    let released = false;
    const held = rt.publisher.backpressure().then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(false);
    spy.gate = undefined;
    open();
    await held;
    await sent;
    expect(rt.publisher.pendingBytes).toBe(0);
  });

  it('publishes a backlog of 20,000 queued records completely, none refused for size', async () => {
    const key = uniqueName('backlog');
    const n = 20_000;
    const results = await Promise.allSettled(
      range(n).map((i) => rt.publisher.publish([probe(key, i, 'a'.repeat(40))], { lingerMs: 5, keep: true })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);
    for (const request of spy.requests) {
      expect(request.length).toBeLessThanOrEqual(rt.publisher.limits.maxRequestRecords);
      expect(request.reduce((b, m) => b + recordBytes(m), 0)).toBeLessThanOrEqual(rt.publisher.limits.maxRequestBytes);
    }
    await waitFor(() => recorder.where((r) => r.message.key?.toString() === key).length === n, 'the whole backlog', 60_000);
  }, 120_000);
});
