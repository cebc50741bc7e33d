/**
 * identity.data-request on the real stack: catalog-sync holds no customer data, so an erasure is
 * acknowledged as applied (sync.applied from `catalog-sync.data-requests`), once: a redelivery of
 * the same event is acknowledged as a duplicate (the kit's inbox).
 */
import { randomUUID } from 'node:crypto';
import type { SyncApplied } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, waitFor } from '@omnimall/service-kit/testing';
import { publishUntil, startHarness, type Harness } from './helpers';

let h: Harness;
let identity: ServiceRuntime;
let acks: TopicRecorder;

beforeAll(async () => {
  acks = await new TopicRecorder(testKafka(), ['sync.applied']).start();
  h = await startHarness();
  identity = await ServiceRuntime.start({ config: testConfig('identity-sim'), produces: ['identity.data-request'] });
});

afterAll(async () => {
  await acks?.stop();
  await identity?.stop();
  await h?.stop();
});

/** Outcomes of catalog-sync's acks of the event, in arrival order. */
async function outcomes(eventId: string): Promise<string[]> {
  const out: string[] = [];
  for (const r of acks.records) {
    const ack = (await identity.schemas.decode(r.message.value as Buffer)) as SyncApplied;
    if (ack.ackedEventId === eventId && ack.consumer.startsWith('catalog-sync.data-requests')) out.push(ack.outcome);
  }
  return out;
}

it('an erasure is acknowledged as applied once, and its redelivery as a duplicate', async () => {
  const customerId = `cus_${randomUUID().slice(0, 8)}`;
  const request = newEvent(
    'identity.data-request',
    { type: 'customer.erased', producer: 'identity', aggregateId: customerId, aggregateVersion: 2 },
    { requestId: randomUUID(), customerId, kind: 'erasure', requestedBy: 'stf_dpo', completedAt: Date.now() },
  );
  const id = request.value.envelope.eventId;
  await publishUntil(
    () => identity.publisher.publish([request]),
    async () => (await outcomes(id)).includes('applied'),
    'the erasure acknowledged',
  );
  const before = (await outcomes(id)).length;
  await identity.publisher.publish([request]);
  const after = await waitFor(async () => ((await outcomes(id)).length > before ? outcomes(id) : null), 'the redelivery acknowledged');
  expect(after.filter((o) => o === 'applied')).toEqual(['applied']);
  expect(after.slice(1).every((o) => o === 'skipped_duplicate')).toBe(true);
});

it('no collection has a field for customer data (the claim the acknowledgement rests on)', () => {
  const models = Object.values(h.svc.runtime.db.models);
  expect(models.length).toBeGreaterThan(5);
  const personal = /customer|e-?mail|phone|address|\bip\b|birth|first-?name|last-?name/i;
  const fields = models.flatMap((m) => Object.keys(m.schema.paths).map((p) => `${m.collection.collectionName}.${p}`));
  expect(fields.filter((f) => personal.test(f))).toEqual([]);
});
