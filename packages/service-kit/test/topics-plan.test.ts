/**
 * The topics step for table topics: no `.retry`/`.dlq` siblings nor ACLs for them (the trust reader
 * neither retries nor dead-letters), and `retentionHours` created as `retention.ms` and set again on
 * an existing topic whose retention differs (real Kafka).
 */
import { ConfigResourceTypes } from 'kafkajs';
import { catalogue, type TopicSpec } from '@omnimall/contracts';
import { ensureTopics, plannedTopics } from '../src';
import { plannedAcls } from '../src/kafka/acls';
import { testKafka, uniqueName } from '../src/testing';

const tables = catalogue.filter((t) => t.table);

describe('the topics step and table topics', () => {
  it('plans no .retry or .dlq for a table topic, and its retention from retentionHours', () => {
    expect(tables.length).toBeGreaterThanOrEqual(4);
    const names = new Set(plannedTopics().map((t) => t.topic));
    for (const t of tables) {
      expect(names.has(t.name)).toBe(true);
      expect(names.has(`${t.name}.retry`)).toBe(false);
      expect(names.has(`${t.name}.dlq`)).toBe(false);
    }
    expect(plannedTopics().find((t) => t.topic === 'identity.session-revoked')?.retentionMs).toBe(24 * 3_600_000);
    expect(names.has('identity.data-request.retry')).toBe(true);
  });

  it('grants services no ACL on a table topic sibling, and read on the table topic', () => {
    const rules = plannedAcls({ partners: [] });
    const cart = rules.filter((r) => r.principal === 'User:cart' && r.resource === 'TOPIC');
    for (const t of tables) {
      expect(cart.some((r) => r.name === t.name && r.operation === 'READ')).toBe(true);
      expect(cart.filter((r) => r.name.startsWith(`${t.name}.`))).toEqual([]);
    }
  });

  it('creates a retentionHours topic with retention.ms and sets it again when it differs', async () => {
    const kafka = testKafka();
    const spec: TopicSpec = {
      ...catalogue.find((t) => t.name === 'identity.session-revoked')!,
      name: uniqueName('kit.retention'),
      consumers: [],
    };
    const admin = kafka.admin();
    await admin.connect();
    const retention = async (): Promise<string | undefined> => {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configNames: ['retention.ms'] }],
      });
      return resources[0].configEntries.find((c) => c.configName === 'retention.ms')?.configValue;
    };
    try {
      expect(await ensureTopics(kafka, [spec])).toEqual([spec.name]);
      expect(await retention()).toBe(String(24 * 3_600_000));
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
      });
      expect(await retention()).toBe('1000');
      expect(await ensureTopics(kafka, [spec])).toEqual([]);
      expect(await retention()).toBe(String(24 * 3_600_000));
    } finally {
      await admin.deleteTopics({ topics: [spec.name] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
