import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import type { JobProgress as JobProgressEvent, StockLevelChanged } from '@omnimall/contracts';
import { channelKnown, customerOn, Simulator, staff, startTestInventory, type InventoryInstance } from './support';

/**
 * The inventory against the real Kafka, FerretDB and schema registry; channels and catalog-sync
 * are simulated by their events. One master channel (web) sells from two warehouses; three
 * dependent channels (regional, affiliate, outlet) sell from its pool; the app has a store of its own.
 */
let sim: Simulator;
let inv: InventoryInstance;
let levels: TopicRecorder;
const uid = uniqueName('i').slice(2);
const WEB = `web-${uid}`;
const REG = `reg-${uid}`;
const AFF = `aff-${uid}`;
const OUT = `out-${uid}`;
const APP = `app-${uid}`;
const WH1 = `wh1-${uid}`;
const WH2 = `wh2-${uid}`;
const STORE = `store-${uid}`;
const SELLER = `seller-${uid}`;
let admin: Record<string, string>;
let seller: Record<string, string>;
let otherSeller: Record<string, string>;
let regManager: Record<string, string>;

const sku = (name: string) => `${name}-${uid}`;
const location = (name: string, kind = 'warehouse') => ({
  name,
  kind,
  address: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  pickup: kind === 'store',
});
let keyN = 0;
const key = () => `k-${uid}-${++keyN}`;
const reserve = (headers: Record<string, string>, lines: { sku: string; quantity: number }[], k = key(), extra: object = {}) =>
  request(inv.app)
    .post('/reservations')
    .set(headers)
    .set('idempotency-key', k)
    .send({ lines, ...extra });
const op = (s: string, body: object, headers: Record<string, string> = admin, k = key()) =>
  request(inv.app)
    .post(`/stock/${s}/operations`)
    .set(headers)
    .set('idempotency-key', k)
    .send({ reason: 'count', ...body });

/** The stock-level events of one SKU, decoded, in arrival order. */
const levelsOf = async (s: string): Promise<StockLevelChanged[]> =>
  Promise.all(
    levels
      .where((r) => r.message.key!.toString().endsWith(`:${s}`))
      .map((r) => inv.runtime.schemas.decode<StockLevelChanged>(r.message.value!)),
  );

beforeAll(async () => {
  [sim, inv, levels] = await Promise.all([
    Simulator.start(),
    startTestInventory(),
    new TopicRecorder(testKafka(), ['inventory.stock-level']).start(),
  ]);
  [admin, seller, otherSeller, regManager] = await Promise.all([
    staff(`admin-${uid}`, ['admin']),
    staff(SELLER, ['seller']),
    staff(`other-${uid}`, ['seller']),
    staff(`mgr-${uid}`, ['channel_manager'], [REG]),
  ]);
  await Promise.all([
    sim.channel(WEB),
    sim.channel(REG, { masterChannel: WEB }),
    sim.channel(AFF, { kind: 'affiliate', masterChannel: WEB }),
    sim.channel(OUT, { masterChannel: WEB }),
    sim.channel(APP, { kind: 'mobile_app' }),
  ]);
  await Promise.all([
    channelKnown(inv, WEB),
    channelKnown(inv, REG, WEB),
    channelKnown(inv, AFF, WEB),
    channelKnown(inv, OUT, WEB),
    channelKnown(inv, APP),
  ]);
  for (const [id, body] of [
    [WH1, location('north')],
    [WH2, location('south')],
    [STORE, location('shop', 'store')],
  ] as const)
    expect((await request(inv.app).put(`/locations/${id}`).set(admin).send(body)).status).toBe(200);
  for (const [ch, loc, priority] of [
    [WEB, WH1, 1],
    [WEB, WH2, 2],
    [APP, STORE, 1],
  ] as const)
    expect((await request(inv.app).put(`/channels/${ch}/locations/${loc}`).set(admin).send({ priority })).status).toBe(200);
});

afterAll(async () => {
  await Promise.allSettled([inv?.stop(), sim?.stop(), levels?.stop()]);
});

describe('locations and sources', () => {
  it('serves its OpenAPI document', async () => {
    const res = await request(inv.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/locations/{id}',
        '/stock/{sku}/operations',
        '/stock/{sku}/availability',
        '/reservations',
        '/imports',
        '/totals',
      ]),
    );
  });

  it('gives a channel with locations of its own its own source, and a dependent channel its master’s pool', async () => {
    const own = await request(inv.app).get(`/channels/${APP}/source`).set(admin);
    expect(own.body).toEqual({ kind: 'own', channel: APP, locations: [STORE] });
    const dependent = await request(inv.app).get(`/channels/${REG}/source`).set(regManager);
    expect(dependent.body).toEqual({ kind: 'master', channel: WEB, locations: [WH1, WH2] });
  });

  it('lets only admins create locations and only a channel’s managers link to it', async () => {
    expect((await request(inv.app).put(`/locations/x-${uid}`).send(location('x'))).status).toBe(401);
    expect((await request(inv.app).put(`/locations/x-${uid}`).set(seller).send(location('x'))).status).toBe(403);
    const outOfScope = await request(inv.app).put(`/channels/${WEB}/locations/${WH1}`).set(regManager).send({ priority: 1 });
    expect(outOfScope.status).toBe(403);
    expect(outOfScope.body.code).toBe('channel_out_of_scope');
    const dropship = await request(inv.app).put(`/locations/ds-${uid}`).set(admin).send(location('ds', 'dropship'));
    expect(dropship.status).toBe(400);
    expect(dropship.body.code).toBe('partner_required');
  });
});

describe('stock operations', () => {
  it('sets, adjusts, transfers, expects and receives stock, each one adjustment in the history', async () => {
    const s = sku('OPS');
    expect((await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 20 })).status).toBe(200);
    expect((await op(s, { kind: 'adjust', location: WH1, bucket: 'damaged', delta: 2 })).status).toBe(200);
    expect((await op(s, { kind: 'transfer', from: WH1, to: WH2, quantity: 5 })).status).toBe(200);
    expect(
      (await op(s, { kind: 'expect', location: WH2, quantity: 10, expectedAt: Date.now() + 86_400_000, reference: 'po-1' })).status,
    ).toBe(200);
    const received = await op(s, { kind: 'receive', location: WH2, quantity: 10, reference: 'po-1' });
    expect(received.status).toBe(200);
    const { levels: at, version } = received.body.stock;
    expect(at[WH1]).toMatchObject({ onHand: 15, damaged: 2, reserved: 0 });
    expect(at[WH2]).toMatchObject({ onHand: 15, incoming: [] });
    expect(version).toBe(5);
    expect(received.headers.etag).toBe('"5"');

    const history = await waitFor(async () => {
      const h = await request(inv.app).get(`/stock/${s}/history`).set(admin);
      return h.body.length === 5 && h.body;
    }, 'five adjustments in the history');
    expect(history.map((a: { operation: string }) => a.operation)).toEqual(['receive', 'expect', 'transfer', 'adjust', 'set']);
    // the deltas of on-hand stock sum to the level, location by location
    const onHand = new Map<string, number>();
    for (const a of history)
      for (const d of a.deltas) if (d.bucket === 'onHand') onHand.set(d.location, (onHand.get(d.location) ?? 0) + d.delta);
    expect(Object.fromEntries(onHand)).toEqual({ [WH1]: 15, [WH2]: 15 });
    expect(history[4]).toMatchObject({ actor: expect.stringContaining('admin-'), actorKind: 'staff', reason: 'count' });
  });

  it('repeats the first answer for the same key and body, refuses the key with another body, and needs a key', async () => {
    const s = sku('IDEM');
    const k = key();
    const first = await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 7 }, admin, k);
    const again = await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 7 }, admin, k);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ replayed: true, adjustmentId: first.body.adjustmentId });
    expect(again.body.stock.version).toBe(1);
    const other = await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 8 }, admin, k);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const none = await request(inv.app)
      .post(`/stock/${s}/operations`)
      .set(admin)
      .send({ kind: 'set', location: WH1, bucket: 'onHand', quantity: 1, reason: 'x' });
    expect(none.status).toBe(400);
  });

  it('refuses a stale If-Match, an unknown location, and stock that would fall below what is committed', async () => {
    const s = sku('CAS');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 4 });
    const stale = await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 5 }).set('if-match', '"0"');
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('version_mismatch');
    const unknown = await op(s, { kind: 'set', location: `nowhere-${uid}`, bucket: 'onHand', quantity: 5 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_location');
    await op(s, { kind: 'set', location: WH1, bucket: 'damaged', quantity: 3 });
    const below = await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 2 });
    expect(below.status).toBe(409);
    expect(below.body.code).toBe('below_committed');
    const bad = await op(s, { kind: 'adjust', location: WH1, bucket: 'reserved', delta: 1 });
    expect(bad.status).toBe(400);
  });

  it('lets a seller change only their own SKUs', async () => {
    const mine = sku('MINE');
    await sim.item(WEB, mine, SELLER);
    await waitFor(async () => (await inv.store.config.sellerOf(mine)) === SELLER, 'seller projected');
    expect((await op(mine, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 3 }, seller)).status).toBe(200);
    const theirs = await op(mine, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 3 }, otherSeller);
    expect(theirs.status).toBe(403);
    expect(theirs.body.code).toBe('not_sku_owner');
    expect((await request(inv.app).get(`/stock/${mine}`).set(otherSeller)).status).toBe(403);
    expect((await op(mine, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 3 }, regManager)).status).toBe(403);
  });
});

describe('per-channel availability', () => {
  it('carries a master change to the dependent channels, one held back by a threshold and one by an exception, each explained', async () => {
    const s = sku('FLAG');
    const policy = await request(inv.app).put(`/channels/${REG}/policy`).set(regManager).send({ displayFloor: 50, lowStock: 5 });
    expect(policy.status).toBe(200);
    const embargo = await request(inv.app)
      .post('/exceptions')
      .set(admin)
      .send({
        kind: 'embargo',
        sku: s,
        channel: AFF,
        reason: 'launch on the master first',
        until: Date.now() + 3_600_000,
        expiresAt: Date.now() + 7_200_000,
      });
    expect(embargo.status).toBe(201);
    await inv.recomputer.idle();

    expect((await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 30 })).status).toBe(200);
    const events = await waitFor(async () => {
      const e = await levelsOf(s);
      return e.length >= 2 && e;
    }, 'the master and the outlet hear of the change');
    const byChannel = Object.fromEntries(events.map((e) => [e.channel, e]));
    expect(byChannel[WEB]).toMatchObject({ availableQuantity: 30, status: 'in_stock', rule: 'shared_pool' });
    expect(byChannel[OUT]).toMatchObject({ availableQuantity: 30, status: 'in_stock', rule: 'shared_pool' });
    expect(byChannel[REG]).toBeUndefined();
    expect(byChannel[AFF]).toBeUndefined();

    const explained = await request(inv.app).get(`/stock/${s}/availability`).set(admin);
    const of = (c: string) => explained.body.find((a: { channel: string }) => a.channel === c);
    expect(of(REG)).toMatchObject({
      available: 0,
      state: 'out_of_stock',
      rule: 'display_floor',
      explanation: { pool: 30, thresholds: { displayFloor: 50 } },
    });
    expect(of(AFF)).toMatchObject({
      available: 0,
      rule: 'embargo',
      explanation: { exception: { id: embargo.body.id, reason: 'launch on the master first' } },
    });
    expect(of(APP)).toMatchObject({ available: 0, rule: 'shared_pool' });
    expect(of(REG).explanation.steps.length).toBeGreaterThan(0);
    // a channel manager sees their own channels only
    const scoped = await request(inv.app).get(`/stock/${s}/availability`).set(regManager);
    expect(scoped.body.map((a: { channel: string }) => a.channel)).toEqual([REG]);
  });

  it('keeps a seller’s flagship SKU for the master channel until the exception is removed by its owner', async () => {
    const s = sku('HERO');
    await sim.item(WEB, s, SELLER);
    await waitFor(async () => (await inv.store.config.sellerOf(s)) === SELLER, 'seller projected');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 9 });
    await waitFor(async () => (await levelsOf(s)).some((e) => e.channel === OUT), 'the outlet sells it');
    const hero = await request(inv.app)
      .post('/exceptions')
      .set(seller)
      .send({ kind: 'master_only', sku: s, channel: null, reason: 'flagship launch', expiresAt: Date.now() + 3_600_000 });
    expect(hero.status).toBe(201);
    expect(hero.body).toMatchObject({ owner: `staff:${SELLER}` });
    const held = await waitFor(
      async () => (await levelsOf(s)).find((e) => e.channel === OUT && e.rule === 'master_only'),
      'outlet held back',
    );
    expect(held.availableQuantity).toBe(0);
    const [web] = (await request(inv.app).get(`/stock/${s}/availability?channel=${WEB}`).set(seller)).body;
    expect(web).toMatchObject({ available: 9, rule: 'shared_pool' });
    const notTheirs = await request(inv.app)
      .post('/exceptions')
      .set(otherSeller)
      .send({ kind: 'master_only', sku: s, channel: null, reason: 'x', expiresAt: Date.now() + 3_600_000 });
    expect(notTheirs.status).toBe(403);
    expect((await request(inv.app).delete(`/exceptions/${hero.body.id}`).set(regManager)).status).toBe(403);
    expect((await request(inv.app).delete(`/exceptions/${hero.body.id}`).set(seller)).status).toBe(204);
    const back = await waitFor(
      async () => (await levelsOf(s)).filter((e) => e.channel === OUT).pop()?.rule === 'shared_pool',
      'the outlet sells it again',
    );
    expect(back).toBe(true);
  });

  it('publishes nothing when a change leaves every channel’s availability as it was', async () => {
    const s = sku('QUIET');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 100 });
    await waitFor(async () => (await levelsOf(s)).length >= 2, 'first levels');
    const before = (await levelsOf(s)).length;
    // units expected later are not sellable yet: no channel's availability changes
    await op(s, { kind: 'expect', location: WH1, quantity: 5, expectedAt: Date.now() + 1000, reference: 'po-q' });
    const marker = sku('MARK');
    await op(marker, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 1 });
    await waitFor(async () => (await levelsOf(marker)).length >= 1, 'a later change published');
    expect((await levelsOf(s)).length).toBe(before);
  });

  it('re-publishes a channel’s availability when its policy changes: quota and percentage of master', async () => {
    const s = sku('ALLOC');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 40 });
    await waitFor(async () => (await levelsOf(s)).some((e) => e.channel === OUT), 'outlet published');
    expect(
      (
        await request(inv.app)
          .put(`/channels/${OUT}/policy`)
          .set(admin)
          .send({ allocation: { kind: 'percentage', percent: 25 } })
      ).status,
    ).toBe(200);
    const pct = await waitFor(
      async () => (await levelsOf(s)).find((e) => e.channel === OUT && e.rule === 'percentage_of_master'),
      'percentage applied',
    );
    expect(pct.availableQuantity).toBe(10);
    expect(
      (
        await request(inv.app)
          .put(`/channels/${OUT}/policy`)
          .set(admin)
          .send({ allocation: { kind: 'quota', units: 3 }, lowStock: 5 })
      ).status,
    ).toBe(200);
    const quota = await waitFor(async () => (await levelsOf(s)).find((e) => e.channel === OUT && e.rule === 'quota'), 'quota applied');
    expect(quota).toMatchObject({ availableQuantity: 3, status: 'low_stock' });
    await request(inv.app).put(`/channels/${OUT}/policy`).set(admin).send({});
  });

  it('answers a channel app its own channel’s availability', async () => {
    const s = sku('APPV');
    await op(s, { kind: 'set', location: STORE, bucket: 'onHand', quantity: 4 });
    const res = await request(inv.app)
      .get(`/availability/${s}`)
      .set(await customerOn(`c-${uid}`, APP));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ channel: APP, sku: s, available: 4, state: 'low_stock', maxPerOrder: null, backorder: false });
    expect((await request(inv.app).get(`/availability/${s}`)).status).toBe(401);
  });
});

describe('reservations', () => {
  it('holds all lines or none, checks two lines of one SKU together, and gives units back on release', async () => {
    const a = sku('RA');
    const b = sku('RB');
    await op(a, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 5 });
    await op(b, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 1 });
    const customer = await customerOn(`c1-${uid}`, WEB);
    const tooMany = await reserve(customer, [
      { sku: a, quantity: 3 },
      { sku: a, quantity: 3 },
    ]);
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe('insufficient_stock');
    const partial = await reserve(customer, [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 2 },
    ]);
    expect(partial.status).toBe(409);
    expect((await inv.store.stock.get(a))!.levels[WH1].reserved).toBe(0); // the hold on a was given back
    const k = key();
    const lines = [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 1 },
    ];
    const held = await reserve(customer, lines, k);
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ state: 'held', reference: `cart:c1-${uid}`, channel: WEB });
    expect(held.body.expiresAt).toBeGreaterThan(Date.now());
    const replay = await reserve(customer, lines, k);
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(held.body.id);
    expect((await inv.store.stock.get(a))!.levels[WH1].reserved).toBe(2);
    const stranger = await request(inv.app)
      .post(`/reservations/${held.body.id}/release`)
      .set(await customerOn(`c2-${uid}`, WEB));
    expect(stranger.status).toBe(403);
    const released = await request(inv.app).post(`/reservations/${held.body.id}/release`).set(customer);
    expect(released.body.state).toBe('released');
    expect((await inv.store.stock.get(a))!.levels[WH1].reserved).toBe(0);
  });

  it('commits a reservation into a deduction of on-hand stock', async () => {
    const s = sku('RC');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 5 });
    const held = await request(inv.app)
      .post('/reservations')
      .set(admin)
      .set('idempotency-key', key())
      .send({ channel: WEB, reference: `order:o-${uid}`, lines: [{ sku: s, quantity: 2 }] });
    expect(held.status).toBe(201);
    const committed = await request(inv.app).post(`/reservations/${held.body.id}/commit`).set(admin);
    expect(committed.body.state).toBe('committed');
    expect((await inv.store.stock.get(s))!.levels[WH1]).toMatchObject({ onHand: 3, reserved: 0 });
    expect((await request(inv.app).post(`/reservations/${held.body.id}/release`).set(admin)).status).toBe(409);
  });

  it('releases an expired hold by the sweeper, visibly', async () => {
    const s = sku('RX');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 5 });
    const out = await inv.reservations.reserve({
      reservationId: `r-${uid}-x`,
      channel: WEB,
      reference: 'cart:x',
      lines: [{ sku: s, quantity: 4 }],
      expiresAt: Date.now() + 300,
      caller: 'staff:test',
      actorKind: 'staff',
      commandId: null,
      origin: {},
    });
    expect(out.reservation.state).toBe('held');
    const expired = await waitFor(
      async () => (await inv.store.reservations.get(`r-${uid}-x`))?.state === 'expired',
      'expired by the sweeper',
    );
    expect(expired).toBe(true);
    expect((await inv.store.stock.get(s))!.levels[WH1].reserved).toBe(0);
    const history = await waitFor(async () => {
      const h = await request(inv.app).get(`/stock/${s}/history`).set(admin);
      return h.body.find((a: { operation: string }) => a.operation === 'expire');
    }, 'the expiry in the history');
    expect(history.deltas).toEqual([{ location: WH1, bucket: 'reserved', delta: -4, after: 0 }]);
  });

  it('never sells more than there is: 200 concurrent reservations on two instances for 50 units', async () => {
    const s = sku('LAST');
    await op(s, { kind: 'set', location: WH1, bucket: 'onHand', quantity: 30 });
    await op(s, { kind: 'set', location: WH2, bucket: 'onHand', quantity: 20 });
    const second = await startTestInventory({ dbName: inv.runtime.config.dbName });
    try {
      // Each client sends its reservation again (same key) on a 503 write_contention, as the answer asks.
      const attempt = async (i: number) => {
        for (let sent = 1; ; sent++) {
          const r = await request(i % 2 ? second.app : inv.app)
            .post('/reservations')
            .set(admin)
            .set('idempotency-key', `${s}-${i}`)
            .send({ channel: WEB, reference: `cart:${s}-${i}`, lines: [{ sku: s, quantity: 1 }] });
          if (r.status !== 503 || sent === 5) return r;
        }
      };
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(i)));
      expect(answers.filter((r) => r.status === 201)).toHaveLength(50);
      expect(answers.filter((r) => r.status !== 201 && r.status !== 409).map((r) => [r.status, r.body])).toEqual([]);
      expect(answers.filter((r) => r.status === 409)).toHaveLength(150);
      const stock = (await inv.store.stock.get(s))!;
      expect(stock.levels[WH1]).toMatchObject({ onHand: 30, reserved: 30 });
      expect(stock.levels[WH2]).toMatchObject({ onHand: 20, reserved: 20 });
      expect(Object.keys(stock.holds)).toHaveLength(50);
      const history = await waitFor(async () => {
        const h = await inv.store.adjustments.ofSku(s, 500);
        return h.filter((a) => a.operation === 'reserve').length === 50 && h;
      }, 'every hold in the history');
      const reserved = history.flatMap((a) => a.deltas).filter((d) => d.bucket === 'reserved');
      expect(reserved.reduce((n, d) => n + d.delta, 0)).toBe(50);
      expect(Math.min(...reserved.map((d) => d.after))).toBeGreaterThanOrEqual(0);
    } finally {
      await second.stop();
    }
  });
});

describe('bulk import', () => {
  it('imports a CSV file as a job with progress, reporting the lines it could not apply', async () => {
    const a = sku('IMPA');
    const b = sku('IMPB');
    const csv = `sku,location,quantity,reason\n${a},${WH1},12,cycle count\n${b},${WH2},3,\n${a},nowhere-${uid},1,\n${b},${WH1},-4,\n`;
    const res = await request(inv.app).post('/imports').set(admin).send({ format: 'csv', content: csv });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/imports/${res.body.id}`);
    const job = await waitFor(async () => {
      const j = await request(inv.app).get(res.headers.location).set(admin);
      return j.body.state === 'done' && j.body;
    }, 'the import done');
    expect(job).toMatchObject({ total: 4, done: 2, failed: 2, progress: 1 });
    expect(job.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [4, 'unknown_location'],
      [5, 'invalid_quantity'],
    ]);
    expect((await inv.store.stock.get(a))!.levels[WH1].onHand).toBe(12);
    expect((await request(inv.app).get(res.headers.location).set(otherSeller)).status).toBe(403);
  });

  it('GET /jobs/:id answers the platform job progress view until done == total (lines applied or failed), the end on platform.job-progress', async () => {
    const progressEvents = await new TopicRecorder(testKafka(), ['platform.job-progress']).start();
    try {
      const c = sku('IMPC');
      const lines = Array.from({ length: 120 }, (_, i) => `${c},${WH1},${i}`);
      const csv = `sku,location,quantity\n${lines.join('\n')}\n${c},${WH1},-1\n`;
      const res = await request(inv.app).post('/imports').set(admin).send({ format: 'csv', content: csv });
      expect(res.status).toBe(202);
      const id = res.body.id as string;
      const view = await waitFor(async () => {
        const j = await request(inv.app).get(`/jobs/${id}`).set(admin);
        expect(j.status).toBe(200);
        expect(j.body.done).toBeLessThanOrEqual(j.body.total);
        return j.body.state === 'done' && j.body;
      }, 'the import job progress to reach done');
      expect(view).toMatchObject({
        id,
        kind: 'stock-import',
        service: 'inventory',
        done: 121,
        total: 121,
        errors: 1,
        firstErrors: [{ unit: 'line 122', code: 'invalid_quantity' }],
        etaSeconds: 0,
        location: `/imports/${id}`,
      });
      expect(view.startedAt).not.toBeNull();
      expect(view.finishedAt).not.toBeNull();
      expect((await request(inv.app).get(view.location).set(admin)).body).toMatchObject({ state: 'done', total: 121 });
      const end = await waitFor(async () => {
        for (const r of progressEvents.records) {
          const e = await inv.runtime.schemas.decode<JobProgressEvent>(r.message.value!);
          if (e.id === id && e.state === 'done') return e;
        }
        return null;
      }, 'the final progress event of the import');
      expect(end).toMatchObject({ kind: 'stock-import', service: 'inventory', done: 121, total: 121, errors: 1 });
    } finally {
      await progressEvents.stop();
    }
  });

  it('GET /jobs/:id: only the submitter and admins read an import; another caller is refused, an unknown id is 404 job_not_found', async () => {
    const res = await request(inv.app)
      .post('/imports')
      .set(seller)
      .send({ format: 'csv', content: `sku,location,quantity\n${sku('IMPD')},${WH1},1\n` });
    expect(res.status).toBe(202);
    const path = `/jobs/${res.body.id}`;
    expect((await request(inv.app).get(path)).status).toBe(401);
    const other = await request(inv.app).get(path).set(otherSeller);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('not_job_owner');
    expect((await request(inv.app).get(path).set(regManager)).status).toBe(403);
    expect((await request(inv.app).get(path).set(admin)).status).toBe(200);
    const missing = await request(inv.app).get(`/jobs/no-such-job-${uid}`).set(seller);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'job_not_found', hint: expect.any(String) });
  });
});
