/**
 * The secured local Kafka refuses what the ACLs do not grant (SASL/SCRAM logins, StandardAuthorizer,
 * no access without an ACL): real broker, real principals from the local credentials. A partner
 * cannot forge a service's event or another partner's record; a service cannot write another
 * service's topic; a wrong password gets no connection at all.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { partnerTopic } from '@omnimall/contracts';
import { testKafka } from '../src/testing';
import { localSecretsFile } from '../src/kafka/local-credentials';
import { catalogueServices, plannedAcls } from '../src/kafka/acls';

async function produce(kafka: Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: randomUUID(), value: Buffer.from('forged') }] });
  } finally {
    await producer.disconnect();
  }
}

/** kafkajs reports TOPIC_AUTHORIZATION_FAILED as a protocol error or, from the producer's metadata step, wrapped. */
const TOPIC_REFUSED = /Topic authorization failed/;

describe('the secured local Kafka', () => {
  it("refuses a partner's record on a service's topic (a forged ban on identity.customer-status)", async () => {
    await expect(produce(testKafka('partner-acme'), 'identity.customer-status')).rejects.toThrow(TOPIC_REFUSED);
    await expect(produce(testKafka('partner-acme'), 'channels.channel-changed')).rejects.toThrow(TOPIC_REFUSED);
  });

  // (what is written on acme's own topic here is dead-lettered by channels as undecodable)
  it("lets a partner write its own partner topic, and refuses it another partner's and the family's own name", async () => {
    await expect(produce(testKafka('partner-acme'), partnerTopic('partner.order-status', 'acme'))).resolves.toBeUndefined();
    await expect(produce(testKafka('partner-acme'), partnerTopic('partner.order-status', 'globex'))).rejects.toThrow(TOPIC_REFUSED);
    await expect(produce(testKafka('partner-acme'), 'partner.order-status')).rejects.toThrow(TOPIC_REFUSED);
  });

  it("refuses a service another service's topic, and allows it its own", async () => {
    await expect(produce(testKafka('cart'), 'identity.customer-status')).rejects.toThrow(TOPIC_REFUSED);
    await expect(produce(testKafka('channels'), 'catalog.local-item')).rejects.toThrow(TOPIC_REFUSED);
    // sync.escalation has no consumers, so the bytes written here disturb nobody
    await expect(produce(testKafka('cart'), 'sync.escalation')).rejects.toThrow(TOPIC_REFUSED);
    await expect(produce(testKafka('sync-monitor'), 'sync.escalation')).resolves.toBeUndefined();
  });

  it("refuses a partner a consumer group on a service's topic", async () => {
    const admin = testKafka('partner-acme').admin();
    await admin.connect();
    try {
      await expect(admin.fetchTopicOffsets('identity.customer-status')).rejects.toThrow(TOPIC_REFUSED);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses a wrong password before any request', async () => {
    const producer = testKafka('identity', { password: 'not-the-password' }).producer();
    await expect(producer.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
  });

  it("accepts a PLAIN login (the broker's own), so the kit's PLAIN path works against a real broker", async () => {
    const { broker } = JSON.parse(readFileSync(localSecretsFile(), 'utf8')) as { broker: string };
    const { Kafka: KafkaClient, logLevel } = await import('kafkajs');
    const kafka = new KafkaClient({
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'plain', username: 'broker', password: broker },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain('identity.customer-status');
    } finally {
      await admin.disconnect();
    }
  });
});

describe('the planned ACLs', () => {
  it("grant every service WRITE (and DESCRIBE_CONFIGS) on the topics of 'every service': sync.applied, its bulk lane, platform.exception", () => {
    const rules = plannedAcls({ partners: ['acme'] });
    const services = catalogueServices();
    expect(services).toEqual(expect.arrayContaining(['cart', 'orders', 'identity']));
    for (const topic of ['sync.applied', 'sync.applied.bulk', 'platform.exception'])
      for (const service of services)
        for (const operation of ['WRITE', 'DESCRIBE_CONFIGS'])
          expect(rules).toContainEqual({ principal: `User:${service}`, resource: 'TOPIC', name: topic, operation });
    // a partner still writes nothing but its own topics
    expect(rules.filter((r) => r.principal === 'User:partner-acme' && r.name === 'platform.exception')).toEqual([]);
  });
});
