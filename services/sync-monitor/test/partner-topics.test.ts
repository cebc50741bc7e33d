/**
 * Partner order statuses on the real secured stack: each partner writes its own topic
 * (partner.<code>.order-status, as principal partner-<code>) and nobody writes the family's bare name,
 * so the monitor tracks the family through the partner topics present on the broker at start
 * (the local partners acme and globex), reading them as its own principal (sync-monitor).
 */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { partnerTopic, topicSpec, type TopicValues } from '@omnimall/contracts';
import { newEvent } from '@omnimall/service-kit';
import { testKafka, waitFor } from '@omnimall/service-kit/testing';
import { GHOST_TOPIC, startHarness, TOPIC, type Harness } from './support/harness';

const FAMILY = 'partner.order-status';
const TOPIC_ACME = partnerTopic(FAMILY, 'acme');

let h: Harness;
let acme: Producer;

beforeAll(async () => {
  h = await startHarness({ topics: [TOPIC, GHOST_TOPIC, 'channels.channel-changed', FAMILY] });
  // What the partner system does: its topic's subject, and its own principal.
  await h.monitor.runtime.schemas.register([{ ...topicSpec(FAMILY), name: TOPIC_ACME }]);
  acme = testKafka('partner-acme').producer({ allowAutoTopicCreation: false });
  await acme.connect();
});
afterAll(async () => {
  await Promise.all([h?.stop(), acme?.disconnect()]);
});

it("tracks a record written on a partner's own topic, acked by the monitor under that topic", async () => {
  const e = newEvent(
    FAMILY,
    {
      type: 'partner.order_status',
      producer: 'partner-system',
      aggregateId: `po-${randomUUID().slice(0, 8)}`,
      aggregateVersion: 1,
      correlationId: `${h.run}-${randomUUID()}`,
      sourceChannel: 'acme',
    },
    {
      partnerChannel: 'acme',
      partnerOrderId: 'po-1',
      partnerCustomerId: 'pc-1',
      status: 'paid',
      currency: 'EUR',
      totalMinor: 4999,
      statusAt: Date.now(),
    } as Omit<TopicValues[typeof FAMILY], 'envelope'>,
  );
  const id = e.value.envelope.eventId;
  await acme.send({
    topic: TOPIC_ACME,
    messages: [{ key: e.key, value: await h.monitor.runtime.schemas.encode(TOPIC_ACME, e.value), headers: { eventId: id } }],
  });

  const t = await waitFor(
    async () => {
      const d = await h.monitor.events.find(id);
      return d?.envelopeSeen && d.acks.some((a) => a.service === 'sync-monitor') ? d : null;
    },
    'the partner record tracked and acked by the monitor',
    20_000,
  );
  expect(t.topic).toBe(TOPIC_ACME);
  expect(t.type).toBe('partner.order_status');
  expect(t.acks.find((a) => a.service === 'sync-monitor')?.group).toMatch(/^sync-monitor\.track-normal/);
});
