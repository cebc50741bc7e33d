/**
 * Finding 2 of issue 17: records are read with their topic's own schema, whatever schema id the
 * writer chose (real registry and Kafka).
 */
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { deadLetterTopic, topicSpec, type Probe } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '../src';
import { TopicSchemas, UndecodableRecordError } from '../src/events/topic-schemas';
import { testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';

type Field = { name: string; type: unknown };
const probeAvro = topicSpec('platform.probe').avro as { fields: Field[] } & Record<string, unknown>;

/** The probe schema with some fields changed, and maybe another namespace (Avro resolution matches names). */
function probeVariant(namespace: string | undefined, change: (fields: Field[]) => Field[]): object {
  return { ...probeAvro, namespace: namespace ?? probeAvro.namespace, fields: change(probeAvro.fields.map((f) => ({ ...f }))) };
}

const envelopeOf = (aggregateId: string) => ({
  eventId: '0b6c5a0e-8c4f-4a53-9b7d-2f1f1d6f0b11',
  type: 'probe.changed',
  occurredAt: Date.now(),
  producer: 'kit-test',
  sourceChannel: null,
  correlationId: 'corr-1',
  aggregateId,
  aggregateVersion: 1,
});

describe('records read as their topic says (real registry)', () => {
  let rt: ServiceRuntime;
  beforeAll(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-schemas'), produces: ['platform.probe'] });
  });
  afterAll(() => rt.stop());

  const register = async (subject: string, schema: object): Promise<number> =>
    (await rt.schemas.client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })).id;

  it('decodes a record whose writer schema differs compatibly through Avro resolution', async () => {
    const topic = uniqueName('kit-resolve');
    // An older writer: `sequence` an int (promoted to the reader's long) and a field the reader does not have.
    const writer = probeVariant(undefined, (fields) => [
      ...fields.map((f) => (f.name === 'sequence' ? { name: 'sequence', type: 'int' } : f)),
      { name: 'legacyNote', type: 'string' },
    ]);
    const id = await register(`${topic}-value`, writer);
    const schemas = new TopicSchemas(
      rt.schemas.client,
      (i) => rt.schemas.client.getSchema(i),
      () => probeAvro,
    );
    const bytes = await rt.schemas.client.encode(id, { envelope: envelopeOf('a-1'), sequence: 7, payload: 'p', legacyNote: 'dropped' });
    const value = await schemas.read<Probe & { legacyNote?: string }>(topic, id, bytes.subarray(5));
    expect(value.sequence).toBe(7);
    expect(value.payload).toBe('p');
    expect(value.legacyNote).toBeUndefined();
    expect(value.envelope.aggregateId).toBe('a-1');
  });

  it("refuses a schema id registered only under another topic's subject", async () => {
    const topic = uniqueName('kit-own');
    await register(`${topic}-value`, probeAvro);
    const foreignId = await register(
      `${uniqueName('kit-other')}-value`,
      probeVariant('omnimall.foreign', (f) => f),
    );
    const schemas = new TopicSchemas(
      rt.schemas.client,
      (i) => rt.schemas.client.getSchema(i),
      () => probeAvro,
    );
    const bytes = await rt.schemas.client.encode(foreignId, { envelope: envelopeOf('a-2'), sequence: 1, payload: '' });
    const refused = await schemas.read(topic, foreignId, bytes.subarray(5)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UndecodableRecordError);
    expect(refused).toMatchObject({ reason: 'schema_not_of_topic' });
    expect((refused as Error).message).toContain(`${topic}-value`);
  });

  it("reads a partner's own topic as its family, with the family's schema", async () => {
    const family = topicSpec('partner.order-status');
    const id = await register('partner.order-status-value', family.avro as object); // as the platform registers it
    const schemas = new TopicSchemas(rt.schemas.client, (i) => rt.schemas.client.getSchema(i));
    const record = {
      envelope: envelopeOf('o-1'),
      partnerChannel: 'acme',
      partnerOrderId: 'o-1',
      partnerCustomerId: 'c-1',
      status: 'shipped',
      currency: 'EUR',
      totalMinor: 1250,
      statusAt: Date.now(),
    };
    const bytes = await rt.schemas.client.encode(id, record);
    expect(await schemas.read('partner.acme.order-status', id, bytes.subarray(5))).toMatchObject({
      partnerOrderId: 'o-1',
      totalMinor: 1250,
    });
    const probeId = await register(`${uniqueName('kit-probe')}-value`, probeAvro);
    const probeBytes = await rt.schemas.client.encode(probeId, { envelope: envelopeOf('o-2'), sequence: 1, payload: '' });
    await expect(schemas.read('partner.acme.order-status', probeId, probeBytes.subarray(5))).rejects.toMatchObject({
      reason: 'schema_not_of_topic',
    });
  });

  it('lists the fields an event value would fail on, and none for a valid one', () => {
    const ok = newEvent(
      'platform.probe',
      { type: 't', producer: 'p', aggregateId: 'a', aggregateVersion: 1 },
      { sequence: 1, payload: '' },
    );
    expect(rt.schemas.problems('platform.probe', ok.value)).toEqual([]);
    const bad = { ...ok.value, sequence: 'one' };
    expect(rt.schemas.problems('platform.probe', bad)).toEqual([expect.stringMatching(/^sequence: string "one"/)]);
    expect(rt.schemas.problems('identity.customer-status', ok.value)[0]).toMatch(/not registered by this service/);
  });
});

describe('a consumer given a record written with another subject’s schema (real Kafka)', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  beforeAll(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-schemas-consumer'), produces: ['platform.probe'] });
    recorder = await new TopicRecorder(testKafka(), [deadLetterTopic('platform.probe')]).start();
  });
  afterAll(async () => {
    await recorder.stop();
    await rt.stop();
  });

  it('dead-letters it as schema_not_of_topic and handles the next record', async () => {
    const id = uniqueName('foreign');
    const seen: unknown[] = [];
    const consumer = await rt.consume({
      group: uniqueName('kit.foreign'),
      handlers: {
        'platform.probe': async (v) => {
          if (v.envelope.aggregateId === id) seen.push(v.sequence);
        },
      },
    });
    // The probe's shape with `sequence` a string: the registry knows it, but not as platform.probe-value.
    const wrongTyped = probeVariant('omnimall.forged', (fields) =>
      fields.map((f) => (f.name === 'sequence' ? { name: 'sequence', type: 'string' } : f)),
    );
    const { id: foreignId } = await rt.schemas.client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(wrongTyped) },
      { subject: `${uniqueName('kit-forged')}-value` },
    );
    const forged = await rt.schemas.client.encode(foreignId, { envelope: envelopeOf(id), sequence: 'NaN', payload: '' });
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: 'platform.probe', messages: [{ key: id, value: forged }] });
    await producer.disconnect();
    await rt.publisher.publish([
      newEvent(
        'platform.probe',
        { type: 'probe.changed', producer: 'kit-test', aggregateId: id, aggregateVersion: 2 },
        { sequence: 2, payload: '' },
      ),
    ]);

    await waitFor(() => seen.includes(2), 'the record after the forged one');
    const [dlq] = await waitFor(
      () => recorder.where((r) => r.topic === deadLetterTopic('platform.probe') && r.message.key?.toString() === id),
      'the dead letter',
    );
    expect(seen).toEqual([2]);
    expect(dlq.message.value).toEqual(forged);
    expect(dlq.message.headers?.['x-dlq-reason']?.toString()).toBe('schema_not_of_topic');
    expect(dlq.message.headers?.['x-error']?.toString()).toContain('platform.probe-value');
    await consumer.stop();
  });
});
