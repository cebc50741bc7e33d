import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { newEvent } from '@omnimall/service-kit';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { ReservationChanged, StockAlert, StockLevelChanged } from '@omnimall/contracts';
import { channelKnown, Simulator, staff, startTestInventory, type InventoryInstance } from './support';

/**
 * Reservations as the orders service makes them: Avro commands on inventory.reservation-command,
 * answered on inventory.reservation naming the command (reserve, commit, and the return of a committed
 * reservation's units to stock); and the stock alerts a change raises.
 */
let sim: Simulator;
let inv: InventoryInstance;
let recorder: TopicRecorder;
const uid = uniqueName('rc').slice(3);
const WEB = `web-${uid}`;
const WH = `wh-${uid}`;
/** The web channel's second location (priority 2): a reservation takes from it what WH cannot cover. */
const WH2 = `wh2-${uid}`;
let admin: Record<string, string>;

const stock = (sku: string, quantity: number, location = WH) =>
  request(inv.app)
    .post(`/stock/${sku}/operations`)
    .set(admin)
    .set('idempotency-key', randomUUID())
    .send({ kind: 'set', location, bucket: 'onHand', quantity, reason: 'count' });

/** What the web channel may sell of a SKU now. */
const available = async (sku: string): Promise<number> => {
  const res = await request(inv.app).get(`/stock/${sku}/availability?channel=${WEB}`).set(admin);
  expect(res.status).toBe(200);
  return res.body[0].available;
};

/** The SKU's levels at both locations (on hand and reserved). */
const levelsOf = async (sku: string) => {
  const s = await inv.store.stock.get(sku);
  const at = (location: string) => ({ onHand: s?.levels[location]?.onHand ?? 0, reserved: s?.levels[location]?.reserved ?? 0 });
  return { [WH]: at(WH), [WH2]: at(WH2) };
};

/** The SKU's adjustments of one operation in the history, once `count` of them are there. */
const historyOf = (sku: string, operation: string, count: number) =>
  waitFor(async () => {
    const h = await request(inv.app).get(`/stock/${sku}/history`).set(admin);
    const found = (h.body as { operation: string; deltas: unknown[]; reference: string; channel: string }[]).filter(
      (a) => a.operation === operation,
    );
    return found.length >= count && found;
  }, `${count} ${operation} adjustment(s) of ${sku} in the history`);

/** Sends one command; returns its id. */
async function command(
  action: 'reserve' | 'extend' | 'commit' | 'release' | 'return',
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
 * The reply to one command in `state` (and, for a refusal, with `reason`). Every inventory other suites
 * run at the same time consumes the shared commands topic too (with groups of its own) and answers from
 * its own database — refused, as it has no such stock or reservation (reservation_not_found) — so a
 * reply is recognised by its command id, its state and the reason of a refusal.
 */
async function replyTo(commandId: string, state: ReservationChanged['state'], reason?: string): Promise<ReservationChanged> {
  return waitFor(async () => {
    const all = await Promise.all(
      recorder
        .where((r) => r.topic === 'inventory.reservation')
        .map((r) => inv.runtime.schemas.decode<ReservationChanged>(r.message.value!)),
    );
    return all.find((e) => e.commandId === commandId && e.state === state && (reason === undefined || e.reason === reason));
  }, `the reply to ${commandId}`);
}

beforeAll(async () => {
  [sim, inv, recorder] = await Promise.all([
    Simulator.start(),
    startTestInventory(),
    new TopicRecorder(testKafka(), ['inventory.reservation', 'inventory.stock-alert', 'inventory.stock-level']).start(),
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
  expect(
    (
      await request(inv.app)
        .put(`/locations/${WH2}`)
        .set(admin)
        .send({ name: 'wh2', kind: 'warehouse', address: { line1: '2 St', city: 'Hamburg', postalCode: '20095', country: 'DE' } })
    ).status,
  ).toBe(200);
  expect((await request(inv.app).put(`/channels/${WEB}/locations/${WH}`).set(admin).send({ priority: 1 })).status).toBe(200);
  expect((await request(inv.app).put(`/channels/${WEB}/locations/${WH2}`).set(admin).send({ priority: 2 })).status).toBe(200);
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
  const refused = await replyTo(await command('reserve', `ord-${uid}-2`, [{ sku, quantity: 2 }]), 'refused', 'insufficient_stock');
  expect(refused).toMatchObject({ state: 'refused', reason: 'insufficient_stock' });
  expect(refused.hint).toBeTruthy();
  expect(await inv.store.reservations.get(`ord-${uid}-2`)).toMatchObject({ state: 'refused', reason: 'insufficient_stock' });
  const unknown = await replyTo(await command('commit', `ord-${uid}-none`), 'refused', 'reservation_not_found');
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

describe('return of a committed reservation', () => {
  it('puts the shipped units back on hand where they left, availability as before the reserve, answered returned', async () => {
    const sku = `RET-${uid}`;
    await stock(sku, 3);
    await stock(sku, 10, WH2);
    const before = await available(sku);
    expect(before).toBe(13);
    const id = `ord-${uid}-ret`;
    await replyTo(await command('reserve', id, [{ sku, quantity: 5 }]), 'held');
    await replyTo(await command('commit', id), 'committed');
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 0, reserved: 0 }, [WH2]: { onHand: 8, reserved: 0 } });
    expect(await available(sku)).toBe(8);

    const commandId = await command('return', id);
    const returned = await replyTo(commandId, 'returned');
    expect(returned).toMatchObject({ reservationId: id, commandId, state: 'returned', channel: WEB, reference: `order:${id}` });
    expect(returned.lines).toEqual([{ sku, quantity: 5, backordered: 0 }]);
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 3, reserved: 0 }, [WH2]: { onHand: 10, reserved: 0 } });
    expect(await available(sku)).toBe(before);
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'returned' });

    // the history: the return puts back, location by location, what the commit took
    const [commitAdj] = await historyOf(sku, 'commit', 1);
    const [returnAdj] = await historyOf(sku, 'return', 1);
    expect(returnAdj).toMatchObject({ reference: id, channel: WEB });
    expect(returnAdj.deltas).toEqual([
      { location: WH, bucket: 'onHand', delta: 3, after: 3 },
      { location: WH2, bucket: 'onHand', delta: 2, after: 10 },
    ]);
    const onHandMoves = (deltas: unknown[]) =>
      (deltas as { location: string; bucket: string; delta: number }[])
        .filter((d) => d.bucket === 'onHand')
        .map((d) => [d.location, d.delta]);
    expect(onHandMoves(returnAdj.deltas)).toEqual(onHandMoves(commitAdj.deltas).map(([l, d]) => [l, -d]));

    // the channel is told its availability is back
    const told = await waitFor(async () => {
      const levels = await Promise.all(
        recorder
          .where((r) => r.topic === 'inventory.stock-level' && r.message.key!.toString() === `${WEB}:${sku}`)
          .map((r) => inv.runtime.schemas.decode<StockLevelChanged>(r.message.value!)),
      );
      const quantities = levels.map((l) => l.availableQuantity);
      return quantities.lastIndexOf(before) > quantities.lastIndexOf(8) && quantities;
    }, 'the stock level after the return');
    expect(told[told.length - 1]).toBe(before);
  });

  it('refuses to return a reservation that was not committed (reservation_not_committed), changing nothing', async () => {
    const sku = `RETX-${uid}`;
    await stock(sku, 10);
    const id = `ord-${uid}-retx`;
    await replyTo(await command('reserve', id, [{ sku, quantity: 4 }]), 'held');
    const refused = await replyTo(await command('return', id), 'refused', 'reservation_not_committed');
    expect(refused).toMatchObject({ reservationId: id, state: 'refused', reason: 'reservation_not_committed' });
    expect(refused.hint).toMatch(/release/);
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'held' });
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 10, reserved: 4 }, [WH2]: { onHand: 0, reserved: 0 } });

    await replyTo(await command('release', id), 'released');
    const again = await replyTo(await command('return', id), 'refused', 'reservation_not_committed');
    expect(again).toMatchObject({ reason: 'reservation_not_committed' });
    expect(again.hint).toBeTruthy();
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'released' });
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 10, reserved: 0 }, [WH2]: { onHand: 0, reserved: 0 } });

    const unknown = await replyTo(await command('return', `ord-${uid}-retnone`), 'refused', 'reservation_not_found');
    expect(unknown).toMatchObject({ reason: 'reservation_not_found' });
  });

  it('answers a replayed return returned again and changes nothing; a returned reservation is no longer released', async () => {
    const sku = `RETR-${uid}`;
    await stock(sku, 6);
    const id = `ord-${uid}-retr`;
    await replyTo(await command('reserve', id, [{ sku, quantity: 2 }]), 'held');
    await replyTo(await command('commit', id), 'committed');
    await replyTo(await command('return', id), 'returned');
    const stockAfter = (await inv.store.stock.get(sku))!;
    expect(stockAfter.levels[WH]).toMatchObject({ onHand: 6, reserved: 0 });

    const replay = await command('return', id);
    const answer = await replyTo(replay, 'returned');
    expect(answer).toMatchObject({
      reservationId: id,
      commandId: replay,
      state: 'returned',
      lines: [{ sku, quantity: 2, backordered: 0 }],
    });
    const stockNow = (await inv.store.stock.get(sku))!;
    expect(stockNow.version).toBe(stockAfter.version); // no stock write: nothing given back twice
    expect(stockNow.levels).toEqual(stockAfter.levels);
    expect(await historyOf(sku, 'return', 1)).toHaveLength(1);

    const release = await replyTo(await command('release', id), 'refused', 'reservation_not_active');
    expect(release).toMatchObject({ reason: 'reservation_not_active' });
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'returned' });
    expect((await inv.store.stock.get(sku))!.version).toBe(stockAfter.version);
  });

  it('gives nothing back twice when a commit or a return is retried after failing between its stock writes and its record', async () => {
    const [a, b] = [`RETC-A-${uid}`, `RETC-B-${uid}`];
    await stock(a, 5);
    await stock(b, 2);
    await stock(b, 4, WH2);
    const id = `ord-${uid}-retc`;
    await replyTo(
      await command('reserve', id, [
        { sku: a, quantity: 2 },
        { sku: b, quantity: 3 },
      ]),
      'held',
    );
    const meta = { caller: 'command:orders', actorKind: 'service' as const, commandId: null, origin: {} };
    // the reservation's record write fails once (the service stops between its stock writes and its record)
    const repo = inv.store.reservations;
    const transact = repo.transact.bind(repo);
    const failOnce = (): jest.SpyInstance => {
      let failed = false;
      return jest.spyOn(repo, 'transact').mockImplementation((rid, decide) => {
        if (rid !== id || failed) return transact(rid, decide);
        failed = true;
        return Promise.reject(new Error('stopped before the reservation was written'));
      });
    };

    let spy = failOnce();
    await expect(inv.reservations.commit(id, meta)).rejects.toThrow('stopped before');
    spy.mockRestore();
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'held' });
    expect((await inv.store.stock.get(a))!.levels[WH]).toMatchObject({ onHand: 3, reserved: 0 });
    expect(await inv.reservations.commit(id, meta)).toMatchObject({ state: 'committed' });
    expect(await levelsOf(b)).toEqual({ [WH]: { onHand: 0, reserved: 0 }, [WH2]: { onHand: 3, reserved: 0 } });

    spy = failOnce();
    await expect(inv.reservations.returnToStock(id, meta)).rejects.toThrow('stopped before');
    spy.mockRestore();
    expect(await inv.store.reservations.get(id)).toMatchObject({ state: 'committed' });
    expect(await inv.reservations.returnToStock(id, meta)).toMatchObject({ state: 'returned' });
    expect((await inv.store.stock.get(a))!.levels[WH]).toMatchObject({ onHand: 5, reserved: 0 });
    expect(await levelsOf(b)).toEqual({ [WH]: { onHand: 2, reserved: 0 }, [WH2]: { onHand: 4, reserved: 0 } });
    expect(await available(b)).toBe(6);
  });

  it('returns over HTTP for admins, like the command (idempotent, also when asked at once), and refuses one not committed', async () => {
    const sku = `RETH-${uid}`;
    await stock(sku, 4);
    const reserved = await request(inv.app)
      .post('/reservations')
      .set(admin)
      .set('idempotency-key', randomUUID())
      .send({ channel: WEB, reference: `order:h-${uid}`, lines: [{ sku, quantity: 3 }] });
    expect(reserved.status).toBe(201);
    const id: string = reserved.body.id;

    const early = await request(inv.app).post(`/reservations/${id}/return`).set(admin);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'reservation_not_committed' });
    expect(early.body.hint).toMatch(/release/);

    expect((await request(inv.app).post(`/reservations/${id}/commit`).set(admin)).status).toBe(200);
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 1, reserved: 0 }, [WH2]: { onHand: 0, reserved: 0 } });

    const answers = await Promise.all([1, 2, 3, 4].map(() => request(inv.app).post(`/reservations/${id}/return`).set(admin)));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, state: 'returned', lines: [{ sku, quantity: 3, backordered: 0 }] });
    }
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 4, reserved: 0 }, [WH2]: { onHand: 0, reserved: 0 } });
    expect(await available(sku)).toBe(4);
    const again = await request(inv.app).post(`/reservations/${id}/return`).set(admin);
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('returned');
    expect(await levelsOf(sku)).toEqual({ [WH]: { onHand: 4, reserved: 0 }, [WH2]: { onHand: 0, reserved: 0 } });

    const seller = await request(inv.app)
      .post(`/reservations/${id}/return`)
      .set(await staff(`seller-${uid}`, ['seller']));
    expect(seller.status).toBe(403);
    expect(seller.body.code).toBeTruthy();
  });
});
