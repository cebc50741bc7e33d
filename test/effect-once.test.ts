/**
 * Every consumer group the catalogue declares is effect-once (issue 18, item 1): the five services
 * start as they run (their own subscription definitions, through their defineService handles, each
 * group with a test suffix and starting at the end), and for every group of every service, on every
 * topic it handles, the same record is delivered twice. Each group must count exactly one `applied`
 * and one `skipped_duplicate` (omnimall_events_consumed_total of its service), and acknowledge
 * exactly those two on sync.applied (except groups reading sync.applied itself, which by design do
 * not acknowledge acks).
 *
 * Nothing is listed by hand: the groups come from the running services' consumers, and the test
 * first holds them to schemas/topics.yaml (every (topic, consumer service) pair of a non-table topic
 * has a group), so a new subscription or a new catalogue consumer is covered without an edit here.
 * Records are random values of the topic's Avro schema with a fresh envelope: what a handler makes of
 * the payload does not matter, only that the second copy has no second effect and is acknowledged as
 * a duplicate. Per-partner topic families (`perPartner`) have no topic until a partner is set up, so
 * they are left to the partner suites; the kit gives their group the inbox like any other.
 */
import { randomUUID } from 'node:crypto';
import { Type } from 'avsc';
import { catalogue, topicSpec, type SyncApplied, type TopicName } from '@omnimall/contracts';
import { ServiceRuntime, type OutgoingEvent, type RunningService } from '@omnimall/service-kit';
import { testConfig, testGroups, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { cartService } from '../services/cart/src/main';
import { catalogSyncService } from '../services/catalog-sync/src/main';
import { channelsService } from '../services/channels/src/main';
import { identityService } from '../services/identity/src/main';
import { syncMonitorService } from '../services/sync-monitor/src/main';

jest.setTimeout(180_000);

interface Group {
  service: string;
  group: string;
  topic: string;
  running: RunningService<object>;
}

const tag = uniqueName('eo');

/** A value of the topic's schema with a fresh envelope; a JSON round trip keeps it plain (no avsc wrappers). */
function recordOf(topic: string): OutgoingEvent<TopicName> {
  const type = Type.forSchema(topicSpec(topic).avro as never, { wrapUnions: false });
  const value = type.random() as unknown as { envelope: Record<string, unknown> } & Record<string, unknown>;
  const eventId = randomUUID();
  value.envelope = {
    ...value.envelope,
    eventId,
    type: `${topic}.test`,
    producer: 'effect-once-test',
    aggregateId: `agg-${eventId}`,
    aggregateVersion: 1,
    occurredAt: Date.now(),
    correlationId: `${tag}-${eventId}`,
    sourceChannel: null,
  };
  return { topic: topic as TopicName, key: value.envelope.aggregateId as string, value: value as never };
}

describe('effect-once in every consumer group the catalogue declares', () => {
  const running: Array<{ name: string; svc: RunningService<object> }> = [];
  let sim: ServiceRuntime;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    const env = { ...process.env, OMNIMALL_LOCAL: 'true', WEBHOOK_ALLOW_HTTP: 'true' };
    const mine = (correlationId: unknown) => typeof correlationId === 'string' && correlationId.startsWith(tag);
    const started = await Promise.all([
      identityService.start({ config: testConfig('identity'), groups: testGroups(), env }),
      channelsService.start({ config: testConfig('channels'), groups: testGroups(), env }),
      catalogSyncService.start({ config: testConfig('catalog-sync'), groups: testGroups(), env }),
      cartService.start({ config: testConfig('cart'), groups: testGroups(), env }),
      syncMonitorService.start({
        config: testConfig('sync-monitor'),
        groups: testGroups(),
        env,
        // the monitor tracks this run's events only (other suites share the topics)
        deps: { trackEnvelope: (e) => mine(e.correlationId), trackAck: (a) => mine(a.envelope.correlationId) },
      }),
    ]);
    for (const svc of started) running.push({ name: svc.name, svc: svc as RunningService<object> });
    const topics = catalogue.filter((t) => !t.table && !t.perPartner).map((t) => t.name);
    sim = await ServiceRuntime.start({ config: testConfig('effect-once-sim'), produces: topics as TopicName[] });
    recorder = await new TopicRecorder(testKafka(), ['sync.applied']).start();
  });
  afterAll(async () => {
    await recorder?.stop();
    await sim?.stop();
    await Promise.all(running.map(({ svc }) => svc.stop()));
  });

  const groups = (): Group[] =>
    running.flatMap(({ name, svc }) =>
      Object.values(svc.consumers).flatMap((c) =>
        c.topics.filter((t) => !topicSpec(t).perPartner).map((topic) => ({ service: name, group: c.group, topic, running: svc })),
      ),
    );

  it('runs a group for every (topic, consumer service) pair of the catalogue', () => {
    const services = new Set(running.map((r) => r.name));
    const declared = catalogue
      .filter((t) => !t.table && !t.perPartner)
      .flatMap((t) => t.consumers.filter((c) => services.has(c)).map((c) => `${t.name} <- ${c}`));
    const have = new Set(groups().map((g) => `${g.topic} <- ${g.service}`));
    expect(declared.filter((pair) => !have.has(pair))).toEqual([]);
    expect(declared.length).toBeGreaterThan(20); // the comparison is not blind
  });

  it('applies a record delivered twice once, and acknowledges the second copy skipped_duplicate, in every group', async () => {
    const all = groups();
    const byTopic = new Map<string, OutgoingEvent<TopicName>>();
    for (const g of all) if (!byTopic.has(g.topic)) byTopic.set(g.topic, recordOf(g.topic));
    const records = [...byTopic.values()];
    await sim.publisher.publish(records);
    await sim.publisher.publish(records); // the same records again: what an outbox re-sends after a crash

    const counted = async (g: Group): Promise<Record<string, number>> => {
      const values = (await g.running.runtime.metrics.consumed.get()).values;
      const out: Record<string, number> = {};
      for (const v of values) if (v.labels.consumer === g.group && v.labels.topic === g.topic) out[String(v.labels.outcome)] = v.value;
      return out;
    };
    const settled = await waitFor(
      async () => {
        const outcomes = await Promise.all(all.map(async (g) => ({ g, counts: await counted(g) })));
        return outcomes.every(({ counts }) => Object.values(counts).reduce((a, b) => a + b, 0) >= 2) && outcomes;
      },
      'every group to handle both copies',
      60_000,
      100,
    );
    // Exactly two deliveries, at most one applied: the copy is never applied a second time. (A handler
    // may find a random payload is nothing for it and skip the first copy too.) The monitor's ack
    // group reads every ack of the run on sync.applied, so its counts are not per record: its acks are
    // not acknowledged, and its duplicates are proven in the kit (consumer-effect-once.test.ts).
    const perRecord = settled.filter(({ g }) => g.topic !== 'sync.applied');
    const wrong = perRecord.filter(
      ({ counts }) =>
        (counts.applied ?? 0) > 1 ||
        counts.skipped_duplicate < 1 ||
        (counts.applied ?? 0) + counts.skipped_duplicate !== 2 ||
        Object.keys(counts).length > 2,
    );
    expect(wrong.map(({ g, counts }) => ({ group: g.group, topic: g.topic, counts }))).toEqual([]);
    expect(perRecord.filter(({ counts }) => counts.applied === 1).length).toBeGreaterThan(perRecord.length / 2);

    const acknowledging = all.filter((g) => g.topic !== 'sync.applied');
    const acksOf = async (g: Group): Promise<string[]> => {
      const eventId = byTopic.get(g.topic)!.value.envelope.eventId;
      const mine = recorder.where((r) => r.message.key?.toString() === eventId);
      const acks = await Promise.all(mine.map((r) => sim.schemas.decode<SyncApplied>(r.message.value!)));
      return acks
        .filter((a) => a.consumer === g.group && a.topic === g.topic)
        .map((a) => a.outcome)
        .sort();
    };
    await waitFor(
      async () => (await Promise.all(acknowledging.map(acksOf))).every((a) => a.length >= 2),
      'the acks of every group',
      30_000,
      100,
    );
    const badAcks = [];
    for (const g of acknowledging) {
      const got = await acksOf(g);
      const ok = got.join() === 'applied,skipped_duplicate' || got.join() === 'skipped_duplicate,skipped_duplicate';
      if (!ok) badAcks.push({ group: g.group, topic: g.topic, got });
    }
    expect(badAcks).toEqual([]);
  });
});
