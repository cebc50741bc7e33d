/**
 * Every consumer group the catalogue declares is effect-once (issue 18, item 1): the seven services
 * start as they run (their own subscription definitions, through their defineService handles, each
 * group with a test suffix and starting at the end), and for every group of every service, on every
 * topic it handles, the same record is delivered twice. Each group must acknowledge exactly two
 * deliveries of that event id on sync.applied, at most one of them `applied` and the copy
 * `skipped_duplicate` (except the groups reading the acks, sync.applied and sync.applied.bulk, which
 * by design do not acknowledge acks).
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
import { ServiceRuntime, type OutgoingEvent, type PlatformConfig, type RunningService } from '@omnimall/service-kit';
import { testConfig, testGroups, testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { cartService } from '../services/cart/src/main';
import { catalogSyncService } from '../services/catalog-sync/src/main';
import { channelsService } from '../services/channels/src/main';
import { identityService } from '../services/identity/src/main';
import { inventoryService } from '../services/inventory/src/main';
import { promotionsService } from '../services/promotions/src/main';
import { ordersService } from '../services/orders/src/main';
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

  const env = { ...process.env, OMNIMALL_LOCAL: 'true', WEBHOOK_ALLOW_HTTP: 'true' };
  const mine = (correlationId: unknown) => typeof correlationId === 'string' && correlationId.startsWith(tag);
  const groupSettings = testGroups();
  /** Starts the eight services; a restart passes the previous configs (same databases, same group names). */
  const startAll = (configs?: Map<string, PlatformConfig>) => {
    const config = (name: string) => configs?.get(name) ?? testConfig(name);
    const groups = groupSettings;
    return Promise.all([
      identityService.start({ config: config('identity'), groups, env }),
      channelsService.start({ config: config('channels'), groups, env }),
      catalogSyncService.start({ config: config('catalog-sync'), groups, env }),
      cartService.start({ config: config('cart'), groups, env }),
      inventoryService.start({ config: config('inventory'), groups, env }),
      promotionsService.start({ config: config('promotions'), groups, env }),
      ordersService.start({ config: config('orders'), groups, env }),
      syncMonitorService.start({
        config: config('sync-monitor'),
        groups,
        env,
        // the monitor tracks this run's events only (other suites share the topics)
        deps: { trackEnvelope: (e) => mine(e.correlationId), trackAck: (a) => mine(a.envelope.correlationId) },
      }),
    ]);
  };

  beforeAll(async () => {
    const started = await startAll();
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
        c.topics.filter((t) => !topicSpec(t).perPartner).map((topic) => ({ service: name, group: c.name, topic, running: svc })),
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

    // Judged by the acks of these records' own event ids: the groups also consume what other suites
    // running at the same time produce on the shared topics, so per-group counters are not per record.
    // The monitor's ack groups read sync.applied and sync.applied.bulk and do not acknowledge acks:
    // their duplicates are proven in the kit (consumer-effect-once.test.ts).
    // The monitor's job board reads platform.job-progress without acknowledging (telemetry, not tracked).
    const NOT_ACKNOWLEDGED = new Set(['sync.applied', 'sync.applied.bulk', 'platform.job-progress']);
    const acknowledging = all.filter((g) => !NOT_ACKNOWLEDGED.has(g.topic));
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
    // Exactly two deliveries per group, at most one applied: the copy is never applied a second time.
    // (A handler may find a random payload is nothing for it and skip the first copy too; most apply it.)
    const appliedOnce = (await Promise.all(acknowledging.map(acksOf))).filter((got) => got[0] === 'applied');
    expect(appliedOnce.length).toBeGreaterThan(acknowledging.length / 2);

    // A copy re-delivered to a new process (what a crash and restart, or a rebalance, hands to another
    // instance): its memory is empty, so only the group's lasting mark can tell. The services restart
    // on the same databases and group names; the copies are published a third time. Every shared group
    // acknowledges the third copy skipped_duplicate. (A per-instance group is a new group in the new
    // process — a new consumer, see define-service.ts — and is not asked about the old one's events.)
    const configs = new Map(running.map(({ name, svc }) => [name, svc.config]));
    await Promise.all(running.map(({ svc }) => svc.stop()));
    running.splice(0, running.length, ...(await startAll(configs)).map((svc) => ({ name: svc.name, svc: svc as RunningService<object> })));
    const shared = new Set(groups().map((g) => `${g.group} ${g.topic}`));
    const again = acknowledging.filter((g) => shared.has(`${g.group} ${g.topic}`));
    expect(again.length).toBeGreaterThan(acknowledging.length / 2);
    await sim.publisher.publish(records);
    await waitFor(
      async () => (await Promise.all(again.map(acksOf))).every((a) => a.length >= 3),
      'the acks of the third copies',
      30_000,
      100,
    );
    const appliedAgain = [];
    for (const g of again) {
      const got = await acksOf(g);
      if (got.filter((o) => o === 'applied').length > 1) appliedAgain.push({ group: g.group, topic: g.topic, got });
    }
    expect(appliedAgain).toEqual([]);
  });
});
