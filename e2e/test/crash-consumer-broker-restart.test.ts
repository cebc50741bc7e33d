/**
 * A consumer group member resumes within 2 s of the broker being reachable again
 * (packages/service-kit/src/events/consumer/settings.ts). A timing test: it runs in the serial e2e
 * phase of `make test`, where no parallel suite competes for the two cores (in the parallel phase a
 * loaded machine stretched the member's rejoin past the bound). The shared Kafka is never stopped: the member reaches it
 * through a TCP proxy (the kit's testing TcpProxy) that the test closes (every connection cut, new ones refused, as
 * while a broker restarts) and reopens. Every connection of the member's client goes through the
 * proxy (the broker advertises 127.0.0.1:9092, so a socket factory sends each one to the proxy).
 */
import net from 'node:net';
import { Kafka, logLevel, type RetryOptions } from 'kafkajs';
import { EventConsumer, newEvent, ServiceRuntime } from '../../packages/service-kit/src';
import { kafkaConnectionOptions } from '../../packages/service-kit/src/kafka/security';
import { TcpProxy, testConfig, testKafka, uniqueName, waitFor } from '../../packages/service-kit/src/testing';

const probe = (aggregateId: string) =>
  newEvent(
    'platform.probe',
    { type: 'probe.changed', producer: 'kit-test', aggregateId, aggregateVersion: 1 },
    { sequence: 1, payload: '' },
  );

describe('a consumer after the broker comes back', () => {
  let rt: ServiceRuntime;
  const [host, port] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0].split(':');
  let proxy: TcpProxy;

  beforeAll(async () => {
    rt = await ServiceRuntime.start({ config: testConfig('kit-broker-restart'), produces: ['platform.probe'] });
    proxy = await TcpProxy.start(host, Number(port));
  });
  afterAll(async () => {
    await proxy.close();
    await rt.stop();
  });

  /** The kit client's retry (kafka/client.ts): a member rides a broker restart out without crashing. */
  const KIT_RETRY = { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 };
  const proxiedKafka = (retry: RetryOptions = KIT_RETRY) =>
    new Kafka({
      clientId: uniqueName('proxied'),
      brokers: [proxy.address],
      ...kafkaConnectionOptions(rt.config.kafkaSecurity),
      logLevel: logLevel.NOTHING,
      retry,
      socketFactory: ({ onConnect }) => net.connect({ host: '127.0.0.1', port: proxy.listenPort }, onConnect),
    });

  /** A member of `group` through the proxy, noting when it applies each probe of aggregate `id`. */
  const probeConsumer = (group: string, id: string, retry?: RetryOptions) => {
    const applied = new Map<string, number>();
    const consumer = new EventConsumer(
      {
        kafka: proxiedKafka(retry),
        schemas: rt.schemas,
        publisher: rt.publisher,
        metrics: rt.metrics,
        logger: rt.logger,
        db: rt.db,
        service: 'kit-test',
      },
      {
        group,
        acknowledge: false,
        handlers: {
          'platform.probe': async (v) => {
            if (v.envelope.aggregateId === id) applied.set(v.envelope.eventId, Date.now());
          },
        },
      },
    );
    return { consumer, applied };
  };

  it('applies a new event within 2 s of the broker being reachable again after an outage of 8 s', async () => {
    const id = uniqueName('resume');
    const group = uniqueName('kit.resume');
    const { consumer, applied } = probeConsumer(group, id);
    await consumer.start();
    try {
      const before = probe(id);
      await rt.publisher.publish([before]);
      await waitFor(() => applied.has(before.value.envelope.eventId), 'an event before the outage');
      // The member has committed where it is (as any member running for more than a commit interval
      // has): a group with no committed offset that kafkajs restarts after the outage starts at the
      // latest offset and would skip what was written while it rejoined.
      const admin = testKafka().admin();
      await admin.connect();
      try {
        await waitFor(
          async () =>
            (await admin.fetchOffsets({ groupId: group, topics: ['platform.probe'] }))
              .flatMap((t) => t.partitions)
              .some((p) => Number(p.offset) >= 0),
          'the member to commit its offsets',
        );
      } finally {
        await admin.disconnect();
      }

      await proxy.close();
      const down = Date.now();
      // The member notices the cut (its fetches fail and back off) while the broker stays away for 8 s.
      await waitFor(() => Date.now() - down >= 8_000, 'the outage to last 8 s', 10_000, 250);
      await proxy.open();
      const back = Date.now();
      const after = probe(id);
      await rt.publisher.publish([after]);
      await waitFor(() => applied.has(after.value.envelope.eventId), 'the event after the outage', 30_000);
      expect(applied.get(after.value.envelope.eventId)! - back).toBeLessThan(2_000);
    } finally {
      await consumer.stop();
    }
  }, 60_000);

  it('rejoins under its member id after a crash (patches/kafkajs): no wait for its old session to expire', async () => {
    const group = uniqueName('kit.rejoin');
    const id = uniqueName('rejoin');
    // Few connection retries, so the member crashes for want of a broker within seconds (the kit's
    // client rides a restart out instead) and kafkajs restarts it: the path the patch changes.
    const { consumer, applied } = probeConsumer(group, id, { initialRetryTime: 100, retries: 8 });
    const crashes: string[] = [];
    const admin = testKafka().admin();
    await admin.connect();
    await consumer.start();
    try {
      const members = async () => (await admin.describeGroups([group])).groups[0].members.map((m) => m.memberId);
      const before = await members();
      expect(before).toHaveLength(1);
      (consumer as unknown as { consumer: { on: (e: string, f: (x: { payload: { restart: boolean } }) => void) => void } }).consumer.on(
        'consumer.crash',
        ({ payload }) => void crashes.push(String(payload.restart)),
      );
      // The broker is cut until the member crashes for want of one (kafkajs gives up after about 4 s
      // of retries) and is restarted by kafkajs; then it is back while the coordinator still holds the
      // old session (6 s), as a restarted broker holds the sessions it loads from its log.
      await proxy.close();
      await waitFor(() => crashes.length > 0, 'the member to crash for want of a broker', 10_000, 50);
      await proxy.open();
      const back = Date.now();
      const after = probe(id);
      await rt.publisher.publish([after]);
      await waitFor(() => applied.has(after.value.envelope.eventId), 'the event after the outage', 30_000);
      expect(applied.get(after.value.envelope.eventId)! - back).toBeLessThan(2_000);
      expect(await members()).toEqual(before);
    } finally {
      await consumer.stop();
      await admin.disconnect();
    }
  }, 60_000);
});
