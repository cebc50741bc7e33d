/**
 * Partner stock on the real secured stack: the drop-ship partner acme writes its own topic
 * (partner.acme.stock-adjustment) as its own Kafka principal, and changes only the stock of its own
 * drop-ship locations. A record for globex's location, or naming globex on acme's topic, is
 * dead-lettered with the reason and the consumer goes on. Other inventory instances on the same
 * topics (other suites' databases) dead-letter these records as unknown locations, which is why dead
 * letters are read only from this instance's consumer.
 */
import type { Producer } from 'kafkajs';
import request from 'supertest';
import { partnerTopic, type TopicValues } from '@omnimall/contracts';
import { newEvent } from '@omnimall/service-kit';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { staff, startTestInventory, type InventoryInstance } from './support';

const FAMILY = 'partner.stock-adjustment';
const ACME = 'acme';
const GLOBEX = 'globex';
const TOPIC = partnerTopic(FAMILY, ACME);

let inv: InventoryInstance;
let recorder: TopicRecorder;
let acme: Producer;
let admin: Record<string, string>;
const uid = uniqueName('p').slice(2);
const ACME_DS = `ds-acme-${uid}`;
const GLOBEX_DS = `ds-globex-${uid}`;
const WH = `wh-${uid}`;
const sku = (name: string) => `${name}-${uid}`;

type Adjustment = TopicValues['partner.stock-adjustment'];

const location = (name: string, kind: string, partner: string | null) => ({
  name,
  kind,
  partner,
  address: { line1: '1 Dock Rd', city: 'Hamburg', postalCode: '20457', country: 'DE' },
});

beforeAll(async () => {
  [inv, recorder] = await Promise.all([startTestInventory(), new TopicRecorder(testKafka(), [`${TOPIC}.dlq`]).start()]);
  acme = testKafka('partner-acme').producer({ allowAutoTopicCreation: false });
  await acme.connect();
  admin = await staff(`admin-${uid}`, ['admin']);
  for (const [id, body] of [
    [ACME_DS, location('acme drop-ship', 'dropship', ACME)],
    [GLOBEX_DS, location('globex drop-ship', 'dropship', GLOBEX)],
    [WH, location('own warehouse', 'warehouse', null)],
  ] as const)
    expect((await request(inv.app).put(`/locations/${id}`).set(admin).send(body)).status).toBe(200);
});
afterAll(async () => {
  await Promise.allSettled([inv?.stop(), recorder?.stop(), acme?.disconnect()]);
});

function adjustment(partnerChannel: string, loc: string, s: string, mode: Adjustment['mode'], quantity: number) {
  return newEvent(
    'partner.stock-adjustment',
    { type: 'partner.stock_adjustment', producer: 'partner-system', aggregateId: s, aggregateVersion: 1, sourceChannel: partnerChannel },
    { partnerChannel, location: loc, sku: s, mode, quantity, reason: 'cycle count', reference: `ref-${quantity}` },
  );
}

/** What the partner system does: encode with its topic's subject and produce as its own principal (in order). */
async function publishAsAcme(...events: ReturnType<typeof adjustment>[]): Promise<void> {
  const messages = await Promise.all(
    events.map(async (e) => ({
      key: e.key,
      value: await inv.runtime.schemas.encode(TOPIC, e.value),
      headers: { eventId: e.value.envelope.eventId },
    })),
  );
  await acme.send({ topic: TOPIC, acks: -1, messages });
}

const stockOf = async (s: string) => (await request(inv.app).get(`/stock/${s}`).set(admin)).body;
/** Waits until the SKU's stock is at `version`, and returns it. */
const stockAt = (s: string, version: number) =>
  waitFor(async () => {
    const st = await stockOf(s);
    return st.version === version && st;
  }, `${s} at version ${version}`);

/** The dead letter this instance's partner consumer wrote for an event. */
const deadLetterOf = (e: ReturnType<typeof adjustment>) => {
  const consumer = inv.runtime.consumers.find((c) => c.group.startsWith('inventory.partners'))?.name;
  return waitFor(
    () =>
      recorder.where(
        (r) =>
          r.message.headers?.['x-consumer']?.toString() === consumer && r.message.headers?.eventId?.toString() === e.value.envelope.eventId,
      )[0],
    `the dead letter of ${e.value.envelope.eventId}`,
  );
};
const header = (r: Awaited<ReturnType<typeof deadLetterOf>>, name: string) => r.message.headers?.[name]?.toString();

describe('partner stock adjustments', () => {
  it("subscribes to every partner's own topic", () => {
    const topics = inv.runtime.consumers.find((c) => c.group.startsWith('inventory.partners'))?.topics ?? [];
    expect(topics).toEqual(expect.arrayContaining([TOPIC, partnerTopic(FAMILY, GLOBEX)]));
    expect(topics).not.toContain(FAMILY);
  });

  it("applies acme's set and adjust on its own drop-ship location, in the stock and the history as the partner's", async () => {
    const s = sku('OWN');
    await publishAsAcme(adjustment(ACME, ACME_DS, s, 'set', 12), adjustment(ACME, ACME_DS, s, 'adjust', -3));
    const st = await stockAt(s, 2);
    expect(st.levels[ACME_DS]).toMatchObject({ onHand: 9, reserved: 0 });

    const history = await waitFor(async () => {
      const h = await request(inv.app).get(`/stock/${s}/history`).set(admin);
      return h.body.length === 2 && h.body;
    }, 'two adjustments in the history');
    expect(history[1]).toMatchObject({
      operation: 'partner',
      actor: 'partner:acme',
      actorKind: 'partner',
      channel: ACME,
      reason: 'cycle count',
      reference: 'ref-12',
      deltas: [{ location: ACME_DS, bucket: 'onHand', delta: 12, after: 12 }],
    });
    expect(history[0]).toMatchObject({ actorKind: 'partner', deltas: [{ location: ACME_DS, bucket: 'onHand', delta: -3, after: 9 }] });
  });

  it("dead-letters a record for globex's location (location_not_partners), and goes on with the next record", async () => {
    const s = sku('OTHER');
    const foreign = adjustment(ACME, GLOBEX_DS, s, 'set', 50);
    const warehouse = adjustment(ACME, WH, s, 'set', 50);
    const later = adjustment(ACME, ACME_DS, s, 'set', 4);
    await publishAsAcme(foreign, warehouse, later);

    const dead = await deadLetterOf(foreign);
    expect(header(dead, 'x-dlq-reason')).toBe('location_not_partners');
    expect(header(dead, 'x-error')).toBe(`location_not_partners: ${GLOBEX_DS} is a drop-ship location of globex, not of acme`);
    expect([header(dead, 'x-source-topic'), dead.message.key?.toString()]).toEqual([TOPIC, s]);
    expect(await inv.runtime.schemas.decode(dead.message.value!)).toEqual(foreign.value);
    const notDropShip = await deadLetterOf(warehouse);
    expect(header(notDropShip, 'x-error')).toBe(`location_not_partners: ${WH} is a warehouse, not a drop-ship location`);

    const st = await stockAt(s, 1);
    expect(Object.keys(st.levels)).toEqual([ACME_DS]);
    expect(st.levels[ACME_DS].onHand).toBe(4);
  });

  it('dead-letters a record on acme’s topic that names globex (partner_mismatch), even for a location of globex', async () => {
    const s = sku('FORGED');
    const forged = adjustment(GLOBEX, GLOBEX_DS, s, 'set', 7);
    await publishAsAcme(forged, adjustment(ACME, ACME_DS, s, 'set', 1));
    const dead = await deadLetterOf(forged);
    expect(header(dead, 'x-dlq-reason')).toBe('partner_mismatch');
    expect(header(dead, 'x-error')).toBe(`partner_mismatch: a record on ${TOPIC} speaks for acme, not globex`);
    const st = await stockAt(s, 1);
    expect(st.levels[GLOBEX_DS]).toBeUndefined();
  });

  it('dead-letters insane values as invalid and a refusal of the stock under its code, never retried', async () => {
    const s = sku('BAD');
    const negative = adjustment(ACME, ACME_DS, s, 'set', -1);
    const nothing = adjustment(ACME, ACME_DS, s, 'adjust', 0);
    const badSku = adjustment(ACME, ACME_DS, 'no spaces allowed', 'set', 1);
    const belowZero = adjustment(ACME, ACME_DS, s, 'adjust', -5);
    await publishAsAcme(negative, nothing, badSku, belowZero, adjustment(ACME, ACME_DS, s, 'set', 2));

    expect(header(await deadLetterOf(negative), 'x-error')).toBe('invalid_quantity: a set of -1 (onHand is never negative)');
    expect(header(await deadLetterOf(nothing), 'x-error')).toBe('invalid_quantity: an adjust of 0 changes nothing');
    const sku404 = await deadLetterOf(badSku);
    expect([header(sku404, 'x-dlq-reason'), header(sku404, 'x-error')]).toEqual(['invalid', expect.stringMatching(/^invalid_sku: /)]);
    const refused = await deadLetterOf(belowZero);
    expect(header(refused, 'x-dlq-reason')).toBe('invalid_quantity');
    expect(header(refused, 'x-error')).toMatch(/^invalid_quantity: /);
    expect((await stockAt(s, 1)).levels[ACME_DS].onHand).toBe(2);
  });

  it('applies a replayed record once', async () => {
    const s = sku('REPLAY');
    const first = adjustment(ACME, ACME_DS, s, 'adjust', 5);
    await publishAsAcme(first, first, first);
    const marker = adjustment(ACME, ACME_DS, s, 'adjust', 1); // after the replays on the same partition
    await publishAsAcme(marker);
    const history = await waitFor(async () => {
      const h = await request(inv.app).get(`/stock/${s}/history`).set(admin);
      return h.body.some((a: { deltas: { delta: number }[] }) => a.deltas[0]?.delta === 1) && h.body;
    }, 'the marker in the history');
    expect(history.map((a: { deltas: { delta: number }[] }) => a.deltas[0].delta)).toEqual([1, 5]);
    const st = await stockOf(s);
    expect([st.version, st.levels[ACME_DS].onHand]).toEqual([2, 6]);
  });
});
