/**
 * deadLetterNow against the real stack: a handler that refuses a record sends it to `<topic>.dlq` at
 * once, as the producer wrote it and with the reason, and its partition keeps going; the copy stays
 * bounded whatever the envelope holds.
 */
import { deadLetterTopic, type SyncApplied } from '@omnimall/contracts';
import { deadLetterNow, DLQ_VALUE_MAX_BYTES, newEvent, ServiceRuntime, type EventContext } from '../src';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

const DLQ = deadLetterTopic('platform.probe');

const probe = (aggregateId: string, sequence: number, payload = '') =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: sequence },
    { sequence, payload },
  );

let rt: ServiceRuntime;
let recorder: TopicRecorder;

beforeAll(async () => {
  rt = await ServiceRuntime.start({ config: testConfig('kit-dead-letter'), produces: ['platform.probe'] });
  recorder = await new TopicRecorder(testKafka(), ['sync.applied', DLQ]).start();
});
afterAll(async () => {
  await recorder?.stop();
  await rt?.stop();
});

const deadLettered = async (reason: string): Promise<number> => {
  const values = (await rt.metrics.deadLettered.get()).values;
  return values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
};
const dlqOf = (eventId: string) =>
  waitFor(
    () => recorder.where((r) => r.topic === DLQ && r.message.headers?.eventId?.toString() === eventId)[0],
    `the dead letter of ${eventId}`,
  );

describe('deadLetterNow', () => {
  it("copies the record's bytes to <topic>.dlq with the reason and where it was read, and the partition keeps going", async () => {
    const id = uniqueName('refused');
    const group = uniqueName('kit.refuse');
    const handled: number[] = [];
    const consumer = await rt.consume({
      group,
      handlers: {
        'platform.probe': async (v, ctx) => {
          if (v.envelope.aggregateId !== id) return ctx.skip();
          if (v.payload === 'bad')
            return deadLetterNow(rt, ctx, {
              reason: 'invalid',
              problems: ['invalid_payload: bad', 'second: problem'],
              fallbackValue: () => Promise.reject(new Error('the record is at hand')),
            });
          handled.push(v.sequence);
        },
      },
    });
    const before = await deadLettered('invalid');
    const bad = probe(id, 1, 'bad');
    const good = probe(id, 2);
    await rt.publisher.publish([bad, good]);

    const dlq = await dlqOf(bad.value.envelope.eventId);
    await waitFor(() => handled.includes(2), 'the record after the refused one handled');
    const h = (name: string) => dlq.message.headers?.[name]?.toString();
    expect(dlq.message.key?.toString()).toBe(id);
    expect(await rt.schemas.decode(dlq.message.value!)).toEqual(bad.value);
    expect([h('x-dlq-reason'), h('x-error'), h('x-consumer'), h('x-source-topic')]).toEqual([
      'invalid',
      'invalid_payload: bad; second: problem',
      group,
      'platform.probe',
    ]);
    expect([h('correlationId'), h('type'), h('producer')]).toEqual([bad.value.envelope.correlationId, 'probe.changed', 'kit-test']);
    expect(Number(h('x-source-offset'))).toBeGreaterThanOrEqual(0);
    expect(h('x-value-omitted')).toBeUndefined();
    expect(await deadLettered('invalid')).toBe(before + 1);
    // acknowledged as handled: no retry topic, no second attempt
    const ack = await waitFor(
      () => recorder.where((r) => r.topic === 'sync.applied' && r.message.key?.toString() === bad.value.envelope.eventId)[0],
      'the ack of the refused record',
    );
    expect(await rt.schemas.decode<SyncApplied>(ack.message.value!)).toMatchObject({ consumer: group, attempt: 1 });
    await consumer.stop();
  });

  it('uses the fallback bytes without a Kafka record, leaves out a value too large to copy and bounds every header', async () => {
    const e = probe(`k${'x'.repeat(300)}`, 1);
    const eventId = uniqueName('ev');
    const ctx: EventContext = {
      topic: 'platform.probe',
      partition: 0,
      offset: '42',
      envelope: { ...e.value.envelope, eventId, correlationId: 'a b\r\nx-injected: 1', type: 't'.repeat(100) },
      attempt: 1,
      consumer: 'kit.direct',
      logger: rt.logger,
      channel: null,
      applyOnce: () => Promise.reject(new Error('not used')),
      skip: () => undefined,
    };
    await deadLetterNow(rt, ctx, {
      reason: 'too_large',
      problems: ['too_large: record'],
      fallbackValue: async () => Buffer.alloc(DLQ_VALUE_MAX_BYTES + 1),
    });
    await deadLetterNow(
      rt,
      { ...ctx, envelope: { ...ctx.envelope, eventId: `${eventId}-small` } },
      {
        reason: 'invalid',
        problems: [],
        key: 'explicit-key',
        fallbackValue: async () => rt.schemas.encode('platform.probe', e.value),
      },
    );

    const big = await dlqOf(eventId);
    expect(big.message.value).toBeNull();
    expect(big.message.headers?.['x-value-omitted']?.toString()).toBe(`${DLQ_VALUE_MAX_BYTES + 1} bytes, over ${DLQ_VALUE_MAX_BYTES}`);
    expect(big.message.key?.toString()).toBe(`k${'x'.repeat(127)}…(301 chars)`);
    expect(big.message.headers?.type?.toString()).toBe(`${'t'.repeat(64)}…(100 chars)`);
    expect(big.message.headers?.correlationId?.toString()).toBe(eventId); // an unsafe one is never copied
    expect(big.message.headers?.['x-source-offset']?.toString()).toBe('42');

    const small = await dlqOf(`${eventId}-small`);
    expect(small.message.key?.toString()).toBe('explicit-key');
    expect(await rt.schemas.decode(small.message.value!)).toEqual(e.value);
  });
});
