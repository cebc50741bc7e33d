import { join } from 'node:path';
import { deadLetterTopic, type Probe, type SyncApplied } from '@omnimall/contracts';
import { inboxId, inboxModel, newEvent, ServiceRuntime, type EventConsumer } from '../src';
import { runChild, testConfig, testKafka, TopicRecorder, uniqueName, waitFor } from '../src/testing';
import { tallyModel } from './fixtures/probe-model';

const probe = (aggregateId: string, sequence: number, payload = '') =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: sequence },
    { sequence, payload },
  );

describe('effect-once consumers against the real stack', () => {
  let rt: ServiceRuntime;
  let recorder: TopicRecorder;
  const acks = async (eventId: string): Promise<SyncApplied[]> => {
    const mine = recorder.where((r) => r.topic === 'sync.applied' && r.message.key?.toString() === eventId);
    return Promise.all(mine.map((r) => rt.schemas.decode<SyncApplied>(r.message.value!)));
  };

  beforeAll(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-consumer'), produces: ['platform.probe'] });
    recorder = await new TopicRecorder(testKafka(), ['sync.applied', 'sync.applied.bulk', deadLetterTopic('platform.probe')]).start();
  });
  afterAll(async () => {
    await recorder.stop();
    await rt.stop();
  });

  it('applies each event once, acknowledges it with its lag, and skips a redelivered duplicate', async () => {
    const Tally = tallyModel(rt.db);
    const id = uniqueName('tally');
    const group = uniqueName('kit.tally');
    const consumer = await rt.consume({
      group,
      dedupe: 'in-document',
      handlers: {
        'platform.probe': async (v, ctx) => {
          if (v.envelope.aggregateId !== id) return ctx.skip();
          await ctx.applyOnce(Tally, { _id: id }, { $inc: { count: 1 }, $push: { sequences: v.sequence } }, { upsert: true });
        },
      },
    });
    const e = probe(id, 1);
    await rt.publisher.publish([e]);
    await rt.publisher.publish([e]); // the same event again, as a crashed relay would republish it
    const got = await waitFor(async () => {
      const a = await acks(e.value.envelope.eventId);
      return a.length === 2 && a;
    }, 'two acks');
    expect(got.map((a) => a.outcome).sort()).toEqual(['applied', 'skipped_duplicate']);
    expect(got[0]).toMatchObject({ consumer: group, topic: 'platform.probe', ackedType: 'probe.changed', attempt: 1 });
    expect(got[0].appliedAt).toBeGreaterThanOrEqual(got[0].occurredAt);
    expect(await Tally.findById(id).lean()).toMatchObject({ count: 1, sequences: [1] });
    await consumer.stop();
  });

  it('acknowledges bulk work (header lane: bulk) on sync.applied.bulk, with the header, and everyday work on sync.applied', async () => {
    const id = uniqueName('lane');
    const group = uniqueName('kit.lane');
    const consumer = await rt.consume({
      group,
      handlers: { 'platform.probe': async (v, ctx) => void (v.envelope.aggregateId !== id && ctx.skip()) },
    });
    const bulk = probe(id, 1);
    const everyday = probe(id, 2);
    await rt.publisher.publish([bulk], { lane: 'bulk' });
    await rt.publisher.publish([everyday]);
    const ackOf = (eventId: string) =>
      waitFor(
        () => recorder.where((r) => r.topic.startsWith('sync.applied') && r.message.key?.toString() === eventId)[0],
        `the ack of ${eventId}`,
      );
    const [bulkAck, everydayAck] = await Promise.all([ackOf(bulk.value.envelope.eventId), ackOf(everyday.value.envelope.eventId)]);
    expect([bulkAck.topic, bulkAck.message.headers?.lane?.toString()]).toEqual(['sync.applied.bulk', 'bulk']);
    expect([everydayAck.topic, everydayAck.message.headers?.lane]).toEqual(['sync.applied', undefined]);
    expect(await rt.schemas.decode<SyncApplied>(bulkAck.message.value!)).toMatchObject({ consumer: group, outcome: 'applied' });
    await consumer.stop();
  });

  it('with the inbox, skips a redelivered duplicate through a mark keyed by consumer and event', async () => {
    const id = uniqueName('inboxed');
    const group = uniqueName('kit.inbox');
    let handled = 0;
    const consumer = await rt.consume({
      group,
      dedupe: 'inbox',
      handlers: {
        'platform.probe': async (v) => {
          if (v.envelope.aggregateId === id) handled++;
        },
      },
    });
    const e = probe(id, 1);
    await rt.publisher.publish([e]);
    await rt.publisher.publish([e]);
    const got = await waitFor(
      async () => ((await acks(e.value.envelope.eventId)).length === 2 ? acks(e.value.envelope.eventId) : null),
      'two acks',
    );
    expect(got.map((a) => a.outcome).sort()).toEqual(['applied', 'skipped_duplicate']);
    expect(handled).toBe(1);
    expect(await inboxModel(rt.db).findById(inboxId(group, e.value.envelope.eventId)).lean()).toMatchObject({
      consumer: group,
      eventId: e.value.envelope.eventId,
    });
    await consumer.stop();
  });

  it('applies once when the consumer dies after its write but before the offset commit', async () => {
    const Tally = tallyModel(rt.db);
    const id = uniqueName('crash');
    const group = uniqueName('kit.crash');
    // Commit an offset on this key's partition first, so the group resumes there after the crash.
    const child = runChild(join(__dirname, 'fixtures', 'crash-consumer.ts'), { TEST_DB: rt.config.dbName, GROUP: group, AGGREGATE_ID: id });
    const admin = rt.kafka.admin();
    await admin.connect();
    try {
      await waitFor(async () => (await admin.describeGroups([group])).groups[0]?.state === 'Stable', 'the child consumer to join', 30000);
      const warm = probe(id, 1);
      await rt.publisher.publish([warm]);
      await waitFor(async () => (await acks(warm.value.envelope.eventId)).length === 1, 'the warm-up event to be applied');
      await waitFor(async () => {
        const offsets = await admin.fetchOffsets({ groupId: group, topics: ['platform.probe'] });
        return offsets[0].partitions.some((p) => Number(p.offset) > 0);
      }, 'the warm-up offset to be committed');
    } finally {
      await admin.disconnect();
    }
    const fatal = probe(id, 2, 'die');
    await rt.publisher.publish([fatal]);
    const ended = await child;
    expect(ended.signal).toBe('SIGKILL');
    expect(await Tally.findById(id).lean()).toMatchObject({ count: 2, sequences: [1, 2] });

    // A new member of the same group gets the uncommitted record again and recognises it.
    const consumer = await rt.consume({
      group,
      dedupe: 'in-document',
      handlers: {
        'platform.probe': async (v, ctx) => {
          if (v.envelope.aggregateId !== id) return ctx.skip();
          await ctx.applyOnce(Tally, { _id: id }, { $inc: { count: 1 }, $push: { sequences: v.sequence } }, { upsert: true });
        },
      },
    });
    const outcomes = await waitFor(
      async () => {
        const a = await acks(fatal.value.envelope.eventId);
        return a.some((x) => x.outcome === 'skipped_duplicate') && a;
      },
      'the replay to be acknowledged as a duplicate',
      30000,
    );
    expect(outcomes.map((a) => a.outcome)).toContain('skipped_duplicate');
    expect(await Tally.findById(id).lean()).toMatchObject({ count: 2, sequences: [1, 2] });
    await consumer.stop();
  });

  it('dead-letters a poison record with its bytes and keeps applying later records', async () => {
    const id = uniqueName('poison');
    const seen: number[] = [];
    const consumer = await rt.consume({
      group: uniqueName('kit.poison'),
      handlers: {
        'platform.probe': async (v) => {
          if (v.envelope.aggregateId === id) seen.push(v.sequence);
        },
      },
    });
    const producer = rt.kafka.producer();
    await producer.connect();
    const garbage = Buffer.from('definitely not avro');
    await producer.send({ topic: 'platform.probe', messages: [{ key: id, value: garbage, headers: { origin: 'test' } }] });
    await producer.disconnect();
    await rt.publisher.publish([probe(id, 7)]);
    await waitFor(() => seen.includes(7), 'the record after the poison one');
    const [dlq] = await waitFor(
      () => recorder.where((r) => r.topic === 'platform.probe.dlq' && r.message.key?.toString() === id),
      'the dead letter',
    );
    expect(dlq.message.value).toEqual(garbage);
    expect(dlq.message.headers?.origin?.toString()).toBe('test');
    expect(dlq.message.headers?.['x-dlq-reason']?.toString()).toBe('undecodable');
    expect(dlq.message.headers?.['x-error']?.toString()).toMatch(/magic byte/);
    await consumer.stop();
  });

  it('retries a failing handler with backoff, then via the retry topic, then dead-letters it', async () => {
    const id = uniqueName('failing');
    const attempts: number[] = [];
    const consumer: EventConsumer = await rt.consume({
      group: uniqueName('kit.failing'),
      attempts: 2,
      backoffMs: 5,
      retryDelayMs: 100,
      handlers: {
        'platform.probe': async (v, ctx) => {
          if (v.envelope.aggregateId !== id) return;
          attempts.push(ctx.attempt);
          throw new TypeError('downstream refused');
        },
      },
    });
    const e = probe(id, 1);
    await rt.publisher.publish([e]);
    const [dlq] = await waitFor(
      () => recorder.where((r) => r.topic === 'platform.probe.dlq' && r.message.key?.toString() === id),
      'the dead letter',
      20000,
    );
    expect(attempts).toEqual([1, 2, 3]);
    expect(dlq.message.headers?.['x-dlq-reason']?.toString()).toBe('handler_failed');
    expect(dlq.message.headers?.['x-error']?.toString()).toBe('TypeError: downstream refused');
    expect(dlq.message.headers?.eventId?.toString()).toBe(e.value.envelope.eventId);
    const outcomes = await waitFor(async () => {
      const a = await acks(e.value.envelope.eventId);
      return a.length === 2 && a;
    }, 'failed and dead_lettered acks');
    expect(outcomes.map((a) => a.outcome).sort()).toEqual(['dead_lettered', 'failed']);
    await consumer.stop();
  });

  it('commits an offset only after beforeCommit made the effects before it durable', async () => {
    const id = uniqueName('wb');
    const group = uniqueName('kit.writebehind');
    const seen: number[] = [];
    let refusals = 0;
    let durable = false;
    const consumer = await rt.consume({
      group,
      acknowledge: false,
      commitIntervalMs: 50,
      handlers: {
        'platform.probe': async (v) => {
          if (v.envelope.aggregateId === id) seen.push(v.sequence);
        },
      },
      beforeCommit: async () => {
        if (durable) return;
        refusals++;
        throw new Error('buffer not written');
      },
    });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const committed = async () => {
        const [t] = await admin.fetchOffsets({ groupId: group, topics: ['platform.probe'] });
        return t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      };
      const before = await committed();
      await rt.publisher.publish([probe(id, 1)]);
      await waitFor(() => seen.length === 1, 'the record handled');
      const refusedAfter = refusals;
      await waitFor(() => refusals >= refusedAfter + 2, 'two refused commits after the record');
      expect(await committed()).toBe(before);
      durable = true;
      await waitFor(async () => (await committed()) > before, 'the offset committed once beforeCommit succeeds');
      expect(seen).toEqual([1]);
    } finally {
      await admin.disconnect();
      await consumer.stop();
    }
  });

  it('reports as caught up only past what it has handled: not while a record is still in its handler', async () => {
    const id = uniqueName('held');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered = false;
    let handled = false;
    const consumer = await rt.consume({
      group: uniqueName('kit.caughtup'),
      dedupe: 'in-document',
      acknowledge: false,
      fetch: { minBytes: 1, maxWaitMs: 100 },
      handlers: {
        'platform.probe': async (v) => {
          if (v.envelope.aggregateId !== id) return;
          entered = true;
          await held;
          handled = true;
        },
      },
    });
    // Idle, it keeps fetching, and the time moves on with it.
    const idleSince = Date.now();
    await waitFor(async () => consumer.caughtUpAt() > idleSince, 'caught up while idle');
    const publishedAt = Date.now();
    await rt.publisher.publish([probe(id, 1)]);
    // The record is fetched and held in its handler: caughtUpAt must not pass the time it was written.
    await waitFor(() => entered, 'the record in its handler');
    expect(consumer.caughtUpAt()).toBeLessThanOrEqual(publishedAt);
    release();
    await waitFor(async () => consumer.caughtUpAt() > publishedAt, 'caught up past the record once it is handled');
    expect(handled).toBe(true);
    await consumer.stop();
    expect(consumer.caughtUpAt()).toBe(0);
  });

  it('deletes an ephemeral (per-instance) group from Kafka when it stops, and keeps a shared one', async () => {
    const handlers = { 'platform.probe': async () => undefined };
    const ephemeral = await rt.consume({ group: uniqueName('kit.ephemeral'), handlers, ephemeral: true, acknowledge: false });
    const shared = await rt.consume({ group: uniqueName('kit.shared'), handlers, acknowledge: false });
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const groups = async () => new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const before = await groups();
      expect([before.has(ephemeral.group), before.has(shared.group)]).toEqual([true, true]);
      await Promise.all([ephemeral.stop(), shared.stop()]);
      const after = await groups();
      expect([after.has(ephemeral.group), after.has(shared.group)]).toEqual([false, true]);
    } finally {
      await admin.disconnect();
    }
  });

  it('splits partitions between two members of one group and keeps per-key order', async () => {
    const group = uniqueName('kit.pair');
    const prefix = uniqueName('order');
    const handled: { member: string; key: string; seq: number }[] = [];
    const member = (name: string) =>
      rt.consume({
        group,
        handlers: {
          'platform.probe': async (v: Probe) => {
            if (v.envelope.aggregateId.startsWith(prefix)) handled.push({ member: name, key: v.envelope.aggregateId, seq: v.sequence });
          },
        },
      });
    const a = await member('a');
    const b = await member('b');
    await waitFor(async () => {
      const admin = rt.kafka.admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups([group]);
        return groups[0].state === 'Stable' && groups[0].members.length === 2;
      } finally {
        await admin.disconnect();
      }
    }, 'both members to be assigned');
    const keys = Array.from({ length: 12 }, (_, i) => `${prefix}-${i}`);
    for (let seq = 1; seq <= 10; seq++) await rt.publisher.publish(keys.map((k) => probe(k, seq)));
    await waitFor(() => handled.length === 120, 'all 120 events');
    for (const k of keys) expect(handled.filter((h) => h.key === k).map((h) => h.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(handled.map((h) => h.member))).toEqual(new Set(['a', 'b']));
    for (const k of keys) expect(new Set(handled.filter((h) => h.key === k).map((h) => h.member)).size).toBe(1);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('schema registration at start', () => {
  it('refuses an incompatible change with the registry message', async () => {
    const { EventSchemas, ServiceMetrics, SchemaRegistrationError } = await import('../src');
    const { securityFromEnv } = await import('../src/kafka/security');
    const url = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
    const schemas = new EventSchemas(url, new ServiceMetrics('kit-test'), securityFromEnv().registry);
    const name = uniqueName('kit-compat');
    const spec = (fields: unknown[]) => ({
      name,
      description: '',
      key: 'aggregateId',
      value: 'x',
      valueType: 'X',
      schemaFile: '',
      partitions: 1,
      cleanup: 'delete' as const,
      producer: 'kit',
      consumers: [],
      priority: 'normal' as const,
      slaSeconds: 30,
      avro: { type: 'record', name: 'Compat', namespace: 'omnimall.test', fields },
    });
    await schemas.register([spec([{ name: 'a', type: 'string' }])]);
    const err = await schemas
      .register([
        spec([
          { name: 'a', type: 'string' },
          { name: 'b', type: 'long' },
        ]),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistrationError);
    expect((err as Error).message).toMatch(new RegExp(`${name}-value`));
    expect((err as Error).message.length).toBeGreaterThan(`schema registration for ${name}-value refused by the registry: `.length);
  });
});
