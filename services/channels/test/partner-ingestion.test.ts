/**
 * Partner ingestion on the real secured stack: each partner writes its own topic
 * (partner.<code>.order-status) as its own Kafka principal, and the partner a record speaks for is that
 * topic — a record on acme's topic naming globex is dead-lettered (partner_mismatch), never mapped as
 * globex's. The local partners acme and globex are registered here as affiliate channels of this
 * test's own database; other channels instances on the same topics dead-letter the records as
 * unknown to them, which is why dead letters are read only from this instance's consumer.
 */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { partnerTopic, type TopicValues } from '@omnimall/contracts';
import { newEvent } from '@omnimall/service-kit';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import supertest from 'supertest';
import { activate, adminToken, startTestChannels, type ChannelsService } from './support/harness';
import { channelBody } from './support/fixtures';
import { channelCode } from './support/partner-harness';

const FAMILY = 'partner.order-status';
const ACME = 'acme';
const GLOBEX = 'globex';

let svc: ChannelsService;
let recorder: TopicRecorder;
let acme: Producer;
let http: ReturnType<typeof supertest>;
let admin: string;

beforeAll(async () => {
  [svc, recorder] = await Promise.all([
    startTestChannels(),
    new TopicRecorder(testKafka(), ['channels.partner-order-status', `${partnerTopic(FAMILY, ACME)}.dlq`]).start(),
  ]);
  http = supertest(svc.app);
  admin = await adminToken();
  acme = testKafka('partner-acme').producer({ allowAutoTopicCreation: false });
  await acme.connect();
  const master = channelCode('master');
  expect((await http.post('/channels').set('authorization', admin).send(channelBody(master))).status).toBe(201);
  for (const code of [ACME, GLOBEX]) {
    const r = await http
      .post('/channels')
      .set('authorization', admin)
      .send(channelBody(code, { kind: 'affiliate', masterChannel: master }));
    expect(r.status).toBe(201);
    await activate(svc, code);
  }
});
afterAll(async () => {
  await Promise.all([svc?.stop(), recorder?.stop(), acme?.disconnect()]);
});

function orderStatus(
  partnerChannel: string,
  partnerOrderId: string,
  partnerCustomerId: string,
  status: string,
  patch: Partial<TopicValues['partner.order-status']> = {},
) {
  return newEvent(
    'partner.order-status',
    {
      type: 'partner.order_status',
      producer: 'partner-system',
      aggregateId: partnerOrderId,
      aggregateVersion: 1,
      sourceChannel: partnerChannel,
    },
    { partnerChannel, partnerOrderId, partnerCustomerId, status, currency: 'EUR', totalMinor: 4999, statusAt: Date.now(), ...patch },
  );
}

/** What the partner system does: encode with its topic's subject and produce as its own principal. */
async function publishAsAcme(...events: ReturnType<typeof orderStatus>[]): Promise<void> {
  const topic = partnerTopic(FAMILY, ACME);
  const messages = await Promise.all(
    events.map(async (e) => ({
      key: e.key,
      value: await svc.runtime.schemas.encode(topic, e.value),
      headers: { eventId: e.value.envelope.eventId },
    })),
  );
  await acme.send({ topic, acks: -1, messages });
}

async function mapCustomer(channel: string, partnerCustomerId: string, customerId: string): Promise<void> {
  const r = await http.put(`/channels/${channel}/partner-customers/${partnerCustomerId}`).set('authorization', admin).send({ customerId });
  expect(r.status).toBe(204);
}

const mapped = async (channel: string, partnerOrderId: string) => {
  const recs = recorder.where((r) => r.topic === 'channels.partner-order-status');
  const decoded = await Promise.all(
    recs.map((r) => svc.runtime.schemas.decode<TopicValues['channels.partner-order-status']>(r.message.value!)),
  );
  return decoded.filter((d) => d.channel === channel && d.partnerOrderId === partnerOrderId);
};

/** Dead letters this instance's partner consumer wrote for the given events. */
const deadLetters = (events: ReturnType<typeof orderStatus>[]) => {
  const group = svc.runtime.consumers.find((c) => c.group.startsWith('channels.partner-ingestion'))?.name;
  return recorder.where(
    (r) =>
      r.topic === `${partnerTopic(FAMILY, ACME)}.dlq` &&
      r.message.headers?.['x-consumer']?.toString() === group &&
      events.some((e) => e.value.envelope.eventId === r.message.headers?.eventId?.toString()),
  );
};

describe('partner ingestion', () => {
  it("subscribes to every partner's own topic", () => {
    const topics = svc.runtime.consumers.find((c) => c.group.startsWith('channels.partner-ingestion'))?.topics ?? [];
    expect(topics).toEqual(expect.arrayContaining([partnerTopic(FAMILY, ACME), partnerTopic(FAMILY, GLOBEX)]));
    expect(topics).not.toContain(FAMILY);
  });

  it('maps partner ids to global ids and dead-letters invalid records with the reason', async () => {
    const globalCustomer = uniqueName('cus');
    const partnerCustomer = `p-cust-${randomUUID()}`;
    const order = `p-order-${randomUUID()}`;
    await mapCustomer(ACME, partnerCustomer, globalCustomer);

    const paid = orderStatus(ACME, order, partnerCustomer, 'paid');
    const unknownCustomer = orderStatus(ACME, `${order}-2`, 'p-cust-404', 'paid');
    const badStatus = orderStatus(ACME, `${order}-3`, partnerCustomer, 'teleported', { currency: 'XYZ' });
    await publishAsAcme(paid, unknownCustomer, badStatus);

    const [first] = await waitFor(() => mapped(ACME, order), 'the mapped order status');
    expect(first).toMatchObject({
      customerId: globalCustomer,
      status: 'paid',
      totalMinor: 4999,
      sourceEventId: paid.value.envelope.eventId,
      envelope: { aggregateVersion: 1 },
    });
    expect(first.orderId).toMatch(/^ord_[0-9a-f-]{36}$/);

    await publishAsAcme(orderStatus(ACME, order, partnerCustomer, 'shipped', { statusAt: Date.now() + 1000 }));
    const shipped = await waitFor(async () => (await mapped(ACME, order)).find((d) => d.status === 'shipped'), 'the second status');
    expect([shipped.orderId, shipped.envelope.aggregateVersion]).toEqual([first.orderId, 2]);

    const dead = await waitFor(() => {
      const recs = deadLetters([unknownCustomer, badStatus]);
      return recs.length >= 2 && recs;
    }, 'two dead letters');
    const reasons = Object.fromEntries(dead.map((r) => [r.message.key?.toString(), r.message.headers?.['x-error']?.toString()]));
    expect(reasons[`${order}-2`]).toBe(`unknown_partner_customer: p-cust-404 is not mapped to a global customer on ${ACME}`);
    expect(reasons[`${order}-3`]).toContain('invalid_status: teleported');
    expect(reasons[`${order}-3`]).toContain(`invalid_currency: XYZ is not a currency of ${ACME}`);
    expect(dead.every((r) => r.message.headers?.['x-dlq-reason']?.toString() === 'invalid')).toBe(true);
    const redecoded = await svc.runtime.schemas.decode<TopicValues['partner.order-status']>(dead[0].message.value!);
    expect(redecoded.partnerChannel).toBe(ACME);
  });

  it("dead-letters a record on acme's topic that names globex (partner_mismatch), and never maps it as globex's", async () => {
    // globex knows this customer, so a record taken at its word would be mapped as globex's order
    const partnerCustomer = `p-cust-${randomUUID()}`;
    await mapCustomer(GLOBEX, partnerCustomer, uniqueName('cus'));
    const forged = orderStatus(GLOBEX, `p-order-${randomUUID()}`, partnerCustomer, 'paid');
    await publishAsAcme(forged);

    const [dead] = await waitFor(() => deadLetters([forged]), 'the dead letter of the forged record');
    expect(dead.message.headers?.['x-dlq-reason']?.toString()).toBe('partner_mismatch');
    expect(dead.message.headers?.['x-error']?.toString()).toBe(
      `partner_mismatch: a record on ${partnerTopic(FAMILY, ACME)} speaks for ${ACME}, not ${GLOBEX}`,
    );
    // the record was handled (dead-lettered): had it been mapped, its mapped event would be out by now
    expect(await mapped(GLOBEX, forged.value.partnerOrderId)).toEqual([]);
    expect(await mapped(ACME, forged.value.partnerOrderId)).toEqual([]);
  });

  it('dead-letters a 921,831-byte record as too_large, and 50 ordered updates of one order sent right after arrive complete and in order', async () => {
    const partnerCustomer = `p-cust-${randomUUID()}`;
    await mapCustomer(ACME, partnerCustomer, uniqueName('cus'));
    const topic = partnerTopic(FAMILY, ACME);
    // a valid record whose correlation id makes it 921,831 bytes encoded, as a partner once sent
    const huge = orderStatus(ACME, `p-order-${randomUUID()}`, partnerCustomer, 'paid');
    const sized = async (chars: number) => {
      huge.value.envelope.correlationId = 'c'.repeat(chars);
      return (await svc.runtime.schemas.encode(topic, huge.value)).length;
    };
    let chars = 900_000;
    for (let size = await sized(chars); size !== 921_831; size = await sized(chars)) chars += 921_831 - size;

    const order = `p-order-${randomUUID()}`;
    const statuses = ['created', 'paid', 'shipped', 'delivered', 'returned'];
    const t0 = Date.now() - 60_000;
    const updates = Array.from({ length: 50 }, (_, i) =>
      orderStatus(ACME, order, partnerCustomer, statuses[i % statuses.length], { statusAt: t0 + i * 10, totalMinor: i }),
    );
    await publishAsAcme(huge);
    const sentAt = Date.now();
    await publishAsAcme(...updates);

    const arrived = await waitFor(async () => {
      const got = await mapped(ACME, order);
      return got.length >= 50 && got;
    }, 'the 50 mapped updates');
    const allIn = Date.now() - sentAt;
    expect(arrived.map((d) => d.sourceEventId)).toEqual(updates.map((u) => u.value.envelope.eventId));
    expect(arrived.map((d) => d.envelope.aggregateVersion)).toEqual(updates.map((_, i) => i + 1));
    expect(allIn).toBeLessThan(5_000);

    const [dead] = await waitFor(() => deadLetters([huge]), 'the dead letter of the oversized record');
    expect(dead.message.headers?.['x-dlq-reason']?.toString()).toBe('too_large');
    const why = dead.message.headers?.['x-error']?.toString() ?? '';
    expect(why).toContain('too_large: record is 921831 bytes');
    expect(why).toContain('too_large: envelope.correlationId is');
    // the copy keeps the partner's bytes and none of its oversized strings in a header
    expect(dead.message.value?.length).toBe(921_831);
    const headerBytes = Object.values(dead.message.headers ?? {}).reduce((n, v) => n + (v ? v.toString().length : 0), 0);
    expect(headerBytes).toBeLessThan(2_000);
    expect(await mapped(ACME, huge.value.partnerOrderId)).toEqual([]);
  });

  it('dead-letters a record whose correlation id is not a safe one (invalid), since it would be copied into events and headers', async () => {
    const partnerCustomer = `p-cust-${randomUUID()}`;
    await mapCustomer(ACME, partnerCustomer, uniqueName('cus'));
    const bad = orderStatus(ACME, `p-order-${randomUUID()}`, partnerCustomer, 'paid');
    bad.value.envelope.correlationId = 'a b\r\nx-injected: 1';
    await publishAsAcme(bad);
    const [dead] = await waitFor(() => deadLetters([bad]), 'the dead letter of the record with an unsafe correlation id');
    expect(dead.message.headers?.['x-dlq-reason']?.toString()).toBe('invalid');
    expect(dead.message.headers?.['x-error']?.toString()).toMatch(/^invalid_correlation_id: /);
    expect(dead.message.headers?.correlationId?.toString()).toBe(bad.value.envelope.eventId);
    expect(await mapped(ACME, bad.value.partnerOrderId)).toEqual([]);
  });

  it("refuses acme's principal on globex's topic at the broker", async () => {
    const e = orderStatus(GLOBEX, `p-order-${randomUUID()}`, 'p-cust', 'paid');
    const value = await svc.runtime.schemas.encode(partnerTopic(FAMILY, GLOBEX), e.value);
    await expect(acme.send({ topic: partnerTopic(FAMILY, GLOBEX), acks: -1, messages: [{ key: e.key, value }] })).rejects.toThrow(
      /Topic authorization failed/,
    );
  });
});
