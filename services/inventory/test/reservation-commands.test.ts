import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { newEvent } from '@omnimall/service-kit';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { ReservationChanged, StockAlert } from '@omnimall/contracts';
import { channelKnown, Simulator, staff, startTestInventory, type InventoryInstance } from './support';

/**
 * Reservations as the orders service makes them: Avro commands on inventory.reservation-command,
 * answered on inventory.reservation naming the command; and the stock alerts a change raises.
 */
let sim: Simulator;
let inv: InventoryInstance;
let recorder: TopicRecorder;
const uid = uniqueName('rc').slice(3);
const WEB = `web-${uid}`;
const WH = `wh-${uid}`;
let admin: Record<string, string>;

const stock = (sku: string, quantity: number) =>
  request(inv.app)
    .post(`/stock/${sku}/operations`)
    .set(admin)
    .set('idempotency-key', randomUUID())
    .send({ kind: 'set', location: WH, bucket: 'onHand', quantity, reason: 'count' });

/** Sends one command; returns its id. */
async function command(
  action: 'reserve' | 'extend' | 'commit' | 'release',
  reservationId: string,
  lines: { sku: string; quantity: number }[] = [],
): Promise<string> {
  const commandId = randomUUID();
  await sim.rt.publisher.publish([
    newEvent(
      'inventory.reservation-command',
      { type: `reservation.${action}`, producer: 'orders', aggregateId: reservationId, aggregateVersion: 1, sourceChannel: WEB },
      { commandId, action, reservationId, channel: WEB, reference: `order:${reservationId}`, lines, expiresAt: Date.now() + 60_000 },
    ),
  ]);
  return commandId;
}

/**
 * The reply to one command in `state`. Every inventory other suites run at the same time consumes the
 * shared commands topic too (with groups of its own) and answers from its own database — refused, as
 * it has no such stock or reservation — so a reply is recognised by its command id and its state.
 */
async function replyTo(commandId: string, state: ReservationChanged['state']): Promise<ReservationChanged> {
  return waitFor(async () => {
    const all = await Promise.all(
      recorder
        .where((r) => r.topic === 'inventory.reservation')
        .map((r) => inv.runtime.schemas.decode<ReservationChanged>(r.message.value!)),
    );
    return all.find((e) => e.commandId === commandId && e.state === state);
  }, `the reply to ${commandId}`);
}

beforeAll(async () => {
  [sim, inv, recorder] = await Promise.all([
    Simulator.start(),
    startTestInventory(),
    new TopicRecorder(testKafka(), ['inventory.reservation', 'inventory.stock-alert']).start(),
  ]);
  admin = await staff(`admin-${uid}`, ['admin']);
  await sim.channel(WEB);
  await channelKnown(inv, WEB);
  expect(
    (
      await request(inv.app)
        .put(`/locations/${WH}`)
        .set(admin)
        .send({ name: 'wh', kind: 'warehouse', address: { line1: '1 St', city: 'Berlin', postalCode: '10115', country: 'DE' } })
    ).status,
  ).toBe(200);
  expect((await request(inv.app).put(`/channels/${WEB}/locations/${WH}`).set(admin).send({ priority: 1 })).status).toBe(200);
});

afterAll(async () => {
  await Promise.allSettled([inv?.stop(), sim?.stop(), recorder?.stop()]);
});

it('reserves, then commits, on the orders service’s commands, answering each by its command id', async () => {
  const sku = `CMD-${uid}`;
  await stock(sku, 10);
  const id = `ord-${uid}-1`;
  const held = await replyTo(await command('reserve', id, [{ sku, quantity: 4 }]), 'held');
  expect(held).toMatchObject({ reservationId: id, state: 'held', channel: WEB, lines: [{ sku, quantity: 4, backordered: 0 }] });
  expect(held.expiresAt).toBeGreaterThan(Date.now());
  const committed = await replyTo(await command('commit', id), 'committed');
  expect(committed.state).toBe('committed');
  expect((await inv.store.stock.get(sku))!.levels[WH]).toMatchObject({ onHand: 6, reserved: 0 });
});

it('answers a reservation it cannot hold, and a command on an unknown reservation, refused with the reason', async () => {
  const sku = `CMDX-${uid}`;
  await stock(sku, 1);
  const refused = await replyTo(await command('reserve', `ord-${uid}-2`, [{ sku, quantity: 2 }]), 'refused');
  expect(refused).toMatchObject({ state: 'refused', reason: 'insufficient_stock' });
  expect(refused.hint).toBeTruthy();
  expect(await inv.store.reservations.get(`ord-${uid}-2`)).toMatchObject({ state: 'refused', reason: 'insufficient_stock' });
  const unknown = await replyTo(await command('commit', `ord-${uid}-none`), 'refused');
  expect(unknown).toMatchObject({ state: 'refused', reason: 'reservation_not_found' });
  expect((await inv.store.stock.get(sku))!.levels[WH].reserved).toBe(0);
});

it('alerts when a channel’s stock of a SKU falls low, runs out, and recovers', async () => {
  const sku = `ALERT-${uid}`;
  const alertsOf = async () =>
    (
      await Promise.all(
        recorder
          .where((r) => r.topic === 'inventory.stock-alert' && r.message.key!.toString() === `${WEB}:${sku}`)
          .map((r) => inv.runtime.schemas.decode<StockAlert>(r.message.value!)),
      )
    ).map((a) => [a.level, a.available]);
  await stock(sku, 20);
  await stock(sku, 3);
  await stock(sku, 0);
  await stock(sku, 20);
  const alerts = await waitFor(async () => {
    const a = await alertsOf();
    return a.length >= 3 && a;
  }, 'three alerts');
  expect(alerts).toEqual([
    ['low_stock', 3],
    ['out_of_stock', 0],
    ['recovered', 20],
  ]);
  await stock(sku, 2);
  const open = await waitFor(async () => {
    const res = await request(inv.app).get(`/alerts?channel=${WEB}`).set(admin);
    return res.body.find((a: { sku: string }) => a.sku === sku);
  }, 'the open alert listed');
  expect(open).toMatchObject({ channel: WEB, state: 'low_stock', available: 2 });
});
