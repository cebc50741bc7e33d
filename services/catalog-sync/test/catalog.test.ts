import request from 'supertest';
import { testKafka, TopicRecorder, uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { createCatalog } from '../src/application/catalog';
import { editItem } from '../src/application/curation';
import { localItemEvent } from '../src/events/out';
import { createStore } from '../src/store';
import { adminToken, managerToken, productBody, sellerToken, startHarness, type Harness } from './helpers';

/**
 * Propagation, conflicts, manual rules, restrictions and traceability against the real Kafka,
 * FerretDB and schema registry. One catalog-sync instance; channels come from channels.channel-changed.
 */
let h: Harness;
let recorder: TopicRecorder;
const uid = uniqueName('c').slice(2).replace(/_/g, '');
const DE = `de-${uid}`;
const AT = `at-${uid}`;
const US = `us-${uid}`;
const JP = `jp-${uid}`;
let seller: string;
let other: string;
let admin: string;
const http = () => request(h.svc.app);

beforeAll(async () => {
  recorder = await new TopicRecorder(testKafka(), [
    'catalog.local-item',
    'catalog.conflict',
    'catalog.staged-diff',
    'catalog.transformation-evidence',
    'catalog.restriction-refused',
  ]).start();
  h = await startHarness();
  await h.announce({ code: DE, region: 'EU', country: 'DE', currencies: ['EUR'], languages: ['de-DE'] });
  await h.announce({ code: US, region: 'NA', country: 'US', currencies: ['USD'], languages: ['en-US'] });
  await h.announce({ code: JP, region: 'APAC', country: 'JP', currencies: ['JPY'], languages: ['ja'] });
  await h.announce({ code: AT, region: 'EU', country: 'AT', currencies: ['EUR'], languages: ['de-AT'], masterChannel: DE });
  seller = await sellerToken(`seller-${uid}`);
  other = await sellerToken(`other-${uid}`);
  admin = await adminToken();
  const t = Date.now() - 60_000;
  for (const [quote, rate] of [
    ['USD', '1.10'],
    ['JPY', '150'],
  ]) {
    const res = await http()
      .post('/rates')
      .set('authorization', admin)
      .send({ base: 'EUR', quote, rate, source: 'test-ecb', effectiveFrom: t });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await h?.stop();
  await recorder?.stop();
});

const decoded = async <T>(topic: string, key: string): Promise<T[]> =>
  Promise.all(
    recorder
      .where((r) => r.topic === topic && r.message.key?.toString() === key)
      .map((r) => h.svc.runtime.schemas.decode<T>(r.message.value!)),
  );

async function createAndAssign(id: string, channels: string[], over: Record<string, unknown> = {}): Promise<void> {
  expect((await http().post('/products').set('authorization', seller).send(productBody(id, over))).status).toBe(201);
  for (const c of channels) {
    const res = await http().post(`/channels/${c}/assignments`).set('authorization', seller).send({ productId: id });
    expect(res.status).toBe(200);
  }
}

describe('master catalogue', () => {
  it('belongs to its seller: another seller can neither edit nor assign it; each change bumps the version', async () => {
    const id = `p-own-${uid}`;
    expect((await http().post('/products').set('authorization', seller).send(productBody(id))).status).toBe(201);
    const foreign = await http()
      .put(`/products/${id}`)
      .set('authorization', other)
      .send(productBody(id, { id: undefined }));
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('not_product_owner');
    expect((await http().post(`/channels/${DE}/assignments`).set('authorization', other).send({ productId: id })).status).toBe(403);
    const body = { ...productBody(id), id: undefined, category: 'shoes/trail' };
    const r1 = await http().put(`/products/${id}`).set('authorization', seller).send(body);
    const r2 = await http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send({ ...body, category: 'shoes/road' });
    expect([r1.body.product.version, r2.body.product.version]).toEqual([2, 3]);
    expect((await http().post('/products').set('authorization', seller).send(productBody(id))).status).toBe(409);
  });

  it('answers bad input with a clear 4xx', async () => {
    const bad = await http()
      .post('/products')
      .set('authorization', seller)
      .send({ ...productBody(`p-bad-${uid}`), variants: [{ sku: 'x', price: { amountMinor: 1.5, currency: 'EUR' } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    const cur = await http()
      .post('/products')
      .set('authorization', seller)
      .send(productBody(`p-cur-${uid}`, { variants: [{ sku: 'x1', price: { amountMinor: 100, currency: 'ABC' } }] }));
    expect(cur.status).toBe(400);
    expect(cur.body.code).toBe('unknown_currency');
    expect(
      (
        await http()
          .post('/channels/nope-x/assignments')
          .set('authorization', seller)
          .send({ productId: `p-own-${uid}` })
      ).body.code,
    ).toBe('channel_not_found');
    expect((await http().post('/products').send(productBody('x'))).status).toBe(401);
    const rate = await http().post('/rates').set('authorization', admin).send({ base: 'EUR', quote: 'USD', rate: '-1', source: 's' });
    expect(rate.status).toBe(400);
  });
});

describe('propagation to local catalogues', () => {
  const id = `p-prop-${uid}`;
  const sku = `${id}-42`;

  it('lists assigned variants per channel with normalised prices, and dependent channels inherit from their master', async () => {
    await createAndAssign(id, [DE, US, JP]);
    const listings = await http().get(`/products/${id}/listings`).set('authorization', seller);
    expect(listings.status).toBe(200);
    const byChannel = Object.fromEntries(listings.body.listings.map((l: { channel: string }) => [l.channel, l]));
    expect(byChannel[DE]).toMatchObject({
      status: 'listed',
      prices: { EUR: { amountMinor: 11900, taxInclusive: true } },
      masterVersion: 1,
    });
    expect(byChannel[US]).toMatchObject({ prices: { USD: { amountMinor: 11000, taxInclusive: false } } });
    expect(byChannel[JP]).toMatchObject({ prices: { JPY: { amountMinor: 16500, taxInclusive: true } } });
    expect(byChannel[AT]).toMatchObject({
      status: 'listed',
      inheritedFrom: DE,
      prices: { EUR: { amountMinor: 12000, taxInclusive: true } },
    }); // 100 net × 1.20 AT VAT
    expect(new Date(byChannel[DE].listedSince).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const events = await waitFor(
      async () =>
        (
          await decoded<{ status: string; priceMinor: number; currency: string; masterVersion: number }>(
            'catalog.local-item',
            `${US}:${sku}`,
          )
        ).length
          ? decoded<{ status: string; priceMinor: number; currency: string; masterVersion: number }>('catalog.local-item', `${US}:${sku}`)
          : null,
      'the US listing event',
    );
    expect(events[0]).toMatchObject({ status: 'listed', priceMinor: 11000, currency: 'USD', masterVersion: 1 });
  });

  it('applies a master change to every channel at once, and a rate change between two propagations shows in price and evidence', async () => {
    const body = { ...productBody(id), id: undefined, variants: [{ sku, attributes: {}, price: { amountMinor: 20000, currency: 'EUR' } }] };
    const first = await http().put(`/products/${id}`).set('authorization', seller).send(body);
    expect(first.status).toBe(200);
    expect(first.body.propagation.items.map((i: { outcome: string }) => i.outcome).sort()).toEqual([
      'updated',
      'updated',
      'updated',
      'updated',
    ]);
    const us1 = await h.svc.catalog.items.shown(`${US}:${sku}`);
    expect(us1?.shown.price.USD.amountMinor).toBe(22000);
    expect(us1?.masterVersion).toBe(2);

    expect(
      (await http().post('/rates').set('authorization', admin).send({ base: 'EUR', quote: 'USD', rate: '1.25', source: 'test-ecb' }))
        .status,
    ).toBe(201);
    const second = await http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send({ ...body, category: 'shoes/trail' });
    expect(second.status).toBe(200);
    const us2 = await h.svc.catalog.items.shown(`${US}:${sku}`);
    expect(us2?.shown.price.USD.amountMinor).toBe(25000);
    expect(new Date(us2!.priceSince!).getTime()).toBeGreaterThan(new Date(us1!.priceSince!).getTime());

    const mgr = await managerToken('m-us', [US]);
    const ev = await http().get(`/channels/${US}/items/${sku}/evidence`).set('authorization', mgr);
    expect(ev.status).toBe(200);
    const conversions = ev.body.evidence.map(
      (r: { steps: { kind: string; rate: { rate: string; version: number } | null; output: { amountMinor: number } }[] }) =>
        r.steps.find((s) => s.kind === 'currency_conversion'),
    );
    expect(conversions[0]).toMatchObject({ rate: { rate: '1.25', source: 'test-ecb' }, output: { amountMinor: 25000 } });
    expect(conversions[1]).toMatchObject({ rate: { rate: '1.10' }, output: { amountMinor: 22000 } });
    expect(conversions[0].rate.version).toBeGreaterThan(conversions[1].rate.version);

    const audit = await waitFor(async () => {
      const all = await decoded<{ masterVersion: number; steps: { kind: string; rate: { rate: string } | null }[] }>(
        'catalog.transformation-evidence',
        `${US}:${sku}`,
      );
      return all.find((a) => a.masterVersion === 3) ?? null;
    }, 'the evidence audit event of master version 3');
    expect(audit.steps.find((s) => s.kind === 'currency_conversion')?.rate?.rate).toBe('1.25');
  });

  it('lets a channel manager see and curate only their channel', async () => {
    const mgr = await managerToken('m-de', [DE]);
    expect((await http().get(`/channels/${DE}/items/${sku}`).set('authorization', mgr)).status).toBe(200);
    const out = await http().get(`/channels/${US}/items`).set('authorization', mgr);
    expect(out.status).toBe(403);
    expect(out.body.code).toBe('channel_out_of_scope');
    expect(
      (
        await http()
          .patch(`/channels/${US}/items/${sku}`)
          .set('authorization', mgr)
          .send({ set: { title: 'x' } })
      ).status,
    ).toBe(403);
    expect((await http().get(`/channels/${DE}/items`).set('authorization', seller)).status).toBe(403);
    const list = await http().get(`/channels/${DE}/items`).set('authorization', mgr);
    expect(list.body.items.every((i: { channel: string }) => i.channel === DE)).toBe(true);
  });
});

describe('conflicts between local edits and master changes', () => {
  const id = `p-conf-${uid}`;
  const sku = `${id}-42`;
  let mgr: string;
  const put = (over: Record<string, unknown>) =>
    http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send({ ...productBody(id), id: undefined, ...over });

  beforeAll(async () => {
    mgr = await managerToken('m-de', [DE]);
    await createAndAssign(id, [DE]);
  });

  it('surfaces a conflict, keeps the local value, and resolves with take_master', async () => {
    expect(
      (
        await http()
          .patch(`/channels/${DE}/items/${sku}`)
          .set('authorization', mgr)
          .send({ set: { title: 'Unser Laufschuh' } })
      ).status,
    ).toBe(200);
    const res = await put({ title: { en: 'Trail shoe', de: 'Neuer Laufschuh' } });
    expect(res.body.propagation.items.find((i: { channel: string }) => i.channel === DE).outcome).toBe('conflict');
    const item = await http().get(`/channels/${DE}/items/${sku}`).set('authorization', mgr);
    expect(item.body.shown.title).toBe('Unser Laufschuh');
    const open = await http().get(`/channels/${DE}/conflicts`).set('authorization', mgr);
    const c = open.body.conflicts.find((x: { sku: string }) => x.sku === sku);
    expect(c).toMatchObject({ field: 'title', local: 'Unser Laufschuh', master: 'Neuer Laufschuh', base: 'Laufschuh', status: 'open' });
    // the dependent AT channel had no local edit: it took the change
    expect((await h.svc.catalog.items.shown(`${AT}:${sku}`))?.shown.title).toBe('Neuer Laufschuh');

    const done = await http()
      .post(`/channels/${DE}/items/${sku}/conflicts/title/resolve`)
      .set('authorization', mgr)
      .send({ resolution: 'take_master' });
    expect(done.status).toBe(200);
    expect(done.body.item.shown.title).toBe('Neuer Laufschuh');
    expect(done.body.conflict).toMatchObject({ status: 'resolved', resolution: 'take_master' });
    const events = await waitFor(async () => {
      const all = await decoded<{ status: string; field: string; resolution: string | null }>('catalog.conflict', `${DE}:${sku}`);
      return all.length >= 2 ? all : null;
    }, 'conflict opened and resolved events');
    expect(events.map((e) => e.status)).toEqual(['open', 'resolved']);
  });

  it('keep_local acknowledges the master value; merge combines attribute maps', async () => {
    await http()
      .patch(`/channels/${DE}/items/${sku}`)
      .set('authorization', mgr)
      .send({ set: { description: 'Unsere Beschreibung', attributes: { colour: 'rot', fit: 'narrow' } } });
    await put({
      title: { en: 'Trail shoe', de: 'Neuer Laufschuh' },
      description: { en: 'Lighter and faster' },
      attributes: { colour: 'blue', weight: { value: 1, unit: 'kg' } },
    });
    const keep = await http()
      .post(`/channels/${DE}/items/${sku}/conflicts/description/resolve`)
      .set('authorization', mgr)
      .send({ resolution: 'keep_local' });
    expect(keep.body.item.shown.description).toBe('Unsere Beschreibung');
    const merge = await http()
      .post(`/channels/${DE}/items/${sku}/conflicts/attributes/resolve`)
      .set('authorization', mgr)
      .send({ resolution: 'merge' });
    expect(merge.status).toBe(200);
    expect(merge.body.item.shown.attributes).toMatchObject({ colour: 'rot', fit: 'narrow', weight: { value: 1, unit: 'kg' } });
    // the same master values again (a new master version): no conflict reopens, the local values stay
    const again = await put({
      title: { en: 'Trail shoe', de: 'Neuer Laufschuh' },
      description: { en: 'Lighter and faster' },
      attributes: { colour: 'blue', weight: { value: 1, unit: 'kg' } },
    });
    expect(again.body.propagation.items.find((i: { channel: string }) => i.channel === DE).outcome).toBe('updated');
    const after = await h.svc.catalog.items.shown(`${DE}:${sku}`);
    expect(after).toMatchObject({ masterVersion: again.body.product.version, conflicts: {} });
    expect(after?.shown.description).toBe('Unsere Beschreibung');
    expect(
      (await http().get(`/channels/${DE}/conflicts`).set('authorization', mgr)).body.conflicts.filter(
        (c: { sku: string }) => c.sku === sku,
      ),
    ).toEqual([]);
    expect(
      (await http().post(`/channels/${DE}/items/${sku}/conflicts/title/resolve`).set('authorization', mgr).send({ resolution: 'merge' }))
        .status,
    ).toBe(404);
  });
});

describe('manual rules stage diffs for approval', () => {
  const id = `p-man-${uid}`;
  const sku = `${id}-42`;

  it('holds a price change until the channel manager approves it, and records the rule version on the item', async () => {
    const mgr = await managerToken('m-jp', [JP]);
    await createAndAssign(id, [JP]);
    const rule = await http()
      .post(`/channels/${JP}/rules`)
      .set('authorization', mgr)
      .send({ name: 'prices need approval', mode: 'manual', fields: ['price'] });
    expect(rule.status).toBe(201);
    const overlap = await http()
      .post(`/channels/${JP}/rules`)
      .set('authorization', mgr)
      .send({ name: 'dup', mode: 'automatic', fields: ['price', 'title'] });
    expect(overlap.status).toBe(409);
    expect(overlap.body.code).toBe('rule_fields_overlap');

    const res = await http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send({ ...productBody(id), id: undefined, variants: [{ sku, attributes: {}, price: { amountMinor: 12000, currency: 'EUR' } }] });
    expect(res.body.propagation.items.find((i: { channel: string }) => i.channel === JP).outcome).toBe('staged');
    expect((await h.svc.catalog.items.shown(`${JP}:${sku}`))?.shown.price.JPY.amountMinor).toBe(16500);
    const pending = await http().get(`/channels/${JP}/staged-diffs`).set('authorization', mgr);
    const diff = pending.body.diffs.find((d: { sku: string }) => d.sku === sku);
    expect(diff).toMatchObject({ status: 'pending', ruleId: rule.body.rule.id, ruleVersion: 1, masterVersion: 2 });
    expect(diff.changes[0]).toMatchObject({ field: 'price', to: { JPY: { amountMinor: 19800, taxInclusive: true } } });

    const ok = await http()
      .post(`/channels/${JP}/staged-diffs/${encodeURIComponent(diff._id)}/approve`)
      .set('authorization', mgr);
    expect(ok.status).toBe(200);
    expect(ok.body.item.shown.price.JPY.amountMinor).toBe(19800);
    expect(ok.body.item.ruleVersions[rule.body.rule.id]).toBe(1);
    expect(
      (
        await http()
          .post(`/channels/${JP}/staged-diffs/${encodeURIComponent(diff._id)}/approve`)
          .set('authorization', mgr)
      ).status,
    ).toBe(409);
    const events = await waitFor(async () => {
      const all = await decoded<{ status: string }>('catalog.staged-diff', diff._id);
      return all.length >= 2 ? all : null;
    }, 'staged and approved events');
    expect(events.map((e) => e.status)).toEqual(['pending', 'approved']);
  });
});

describe('restrictions', () => {
  it('refuses assignment into a barred market with a 4xx naming the restriction, and records it', async () => {
    const id = `p-bar-${uid}`;
    const restriction = { id: 'na-reg', kind: 'region', value: 'NA', basis: 'regulation', reason: 'not FCC certified' };
    expect(
      (
        await http()
          .post('/products')
          .set('authorization', seller)
          .send(productBody(id, { restrictions: [restriction] }))
      ).status,
    ).toBe(201);
    const res = await http().post(`/channels/${US}/assignments`).set('authorization', seller).send({ productId: id });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('restricted_in_market');
    expect(res.body.message).toContain('not FCC certified');
    expect(res.body.details.restriction).toMatchObject(restriction);
    const refusals = await http().get(`/products/${id}/refusals`).set('authorization', seller);
    expect(refusals.body.refusals).toEqual([
      expect.objectContaining({ channel: US, action: 'assignment', restriction: expect.objectContaining({ id: 'na-reg' }) }),
    ]);
    const audit = await waitFor(
      async () =>
        (await decoded<{ restrictionId: string }>('catalog.restriction-refused', id)).length
          ? decoded<{ restrictionId: string; action: string }>('catalog.restriction-refused', id)
          : null,
      'refusal audit event',
    );
    expect(audit[0]).toMatchObject({ restrictionId: 'na-reg', action: 'assignment' });
    expect(await h.svc.catalog.items.shown(`${US}:${id}-42`)).toBeNull();
  });

  it('withdraws and refuses propagation when a listed product becomes barred in a market', async () => {
    const id = `p-late-${uid}`;
    await createAndAssign(id, [DE, US]);
    const res = await http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send({
        ...productBody(id),
        id: undefined,
        restrictions: [{ id: 'eu-ban', kind: 'region', value: 'EU', basis: 'contract', reason: 'exclusive distributor in the EU' }],
      });
    expect(res.status).toBe(200);
    const refused = res.body.propagation.items.filter((i: { outcome: string }) => i.outcome === 'refused');
    expect(refused.map((i: { channel: string }) => i.channel).sort()).toEqual([AT, DE].sort());
    expect(refused[0].restriction.id).toBe('eu-ban');
    expect((await h.svc.catalog.items.shown(`${DE}:${id}-42`))?.status).toBe('withdrawn');
    const us = await h.svc.catalog.items.shown(`${US}:${id}-42`);
    expect(us).toMatchObject({ status: 'listed', barredRegions: ['EU'] });
    const refusals = await http().get(`/products/${id}/refusals`).set('authorization', seller);
    expect(refusals.body.refusals.filter((r: { action: string }) => r.action === 'propagation')).toHaveLength(2);
    const withdrawn = await waitFor(
      async () => (await decoded<{ status: string }>('catalog.local-item', `${DE}:${id}-42`)).find((e) => e.status === 'withdrawn') ?? null,
      'withdrawal event',
    );
    expect(withdrawn.status).toBe('withdrawn');
  });
});

describe('traceability, channel prices, bulk sync and recovery', () => {
  it('answers where a product is listed, at which price and since when; seller shelf prices override derived ones', async () => {
    const id = `p-trace-${uid}`;
    await createAndAssign(id, [US]);
    const priced = await http()
      .put(`/channels/${US}/prices/${id}-42`)
      .set('authorization', seller)
      .send({ prices: { USD: 9999 } });
    expect(priced.status).toBe(200);
    const notOffered = await http()
      .put(`/channels/${US}/prices/${id}-42`)
      .set('authorization', seller)
      .send({ prices: { EUR: 9999 } });
    expect(notOffered.body.code).toBe('currency_not_offered');
    const l = (await http().get(`/products/${id}/listings`).set('authorization', seller)).body;
    expect(l.product).toMatchObject({ id, version: 1 });
    expect(l.listings).toEqual([
      expect.objectContaining({
        channel: US,
        status: 'listed',
        prices: { USD: { amountMinor: 9999, taxInclusive: false } },
        masterVersion: 1,
        ruleVersions: { default: 0 },
      }),
    ]);
    expect(l.listings[0].listedSince).toBeTruthy();
    expect((await http().get(`/products/${id}/listings`).set('authorization', other)).status).toBe(403);
  });

  it('bulk-syncs many products into several channels, refusing barred ones', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `p-bulk-${uid}-${i}`);
    for (const [i, id] of ids.entries()) {
      const restrictions = i === 0 ? [{ kind: 'country', value: 'JP', basis: 'regulation', reason: 'not approved in Japan' }] : [];
      expect((await http().post('/products').set('authorization', seller).send(productBody(id, { restrictions }))).status).toBe(201);
    }
    await http().post(`/channels/${US}/assignments`).set('authorization', seller).send({ productId: ids[1] }); // already assigned: locked path
    const res = await http()
      .post('/bulk-sync')
      .set('authorization', seller)
      .send({ channels: [US, JP], productIds: ids });
    expect(res.status).toBe(202);
    const job = await waitFor(async () => {
      const r = await http().get(res.headers.location).set('authorization', seller);
      return r.body.state === 'succeeded' && r.body;
    }, 'the bulk job to succeed');
    expect(job).toMatchObject({
      total: 30,
      done: 30,
      refused: [{ productId: ids[0], channel: JP, restriction: 'country-jp' }],
      lockedPath: 1,
    });
    const items = await Promise.all(ids.flatMap((id) => [US, JP].map((c) => h.svc.catalog.items.shown(`${c}:${id}-42`))));
    expect(items.filter((i) => i?.status === 'listed')).toHaveLength(59);
    const last = `${JP}:${ids[29]}-42`;
    await waitFor(async () => (await decoded('catalog.local-item', last)).length === 1, 'bulk listing events');
  });

  it('re-emits the state of items whose change was interrupted before its events were journaled', async () => {
    const id = `p-rec-${uid}`;
    await createAndAssign(id, [US]);
    const key = `${US}:${id}-42`;
    await waitFor(async () => (await decoded('catalog.local-item', key)).length === 1, 'first listing event');
    // what a crash between the item write and the journal leaves behind: an old intent
    await h.svc.catalog.intents.add({
      _id: uniqueName('intent'),
      kind: 'product',
      productId: id,
      itemIds: [],
      createdAt: new Date(Date.now() - 120_000),
    });
    expect(await h.svc.recovery.runOnce()).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await decoded('catalog.local-item', key)).length === 2, 'the re-emitted state');
    expect((await h.svc.catalog.intents.all()).filter((p) => p.productId === id)).toHaveLength(0);
    // a journal document is deleted once its events are published
    await waitFor(async () => (await h.svc.runtime.db.collection('journal').countDocuments({})) === 0, 'the journal to drain');
  });

  it('prunes a journal document the relay published (not deleted after its own publish); pending ones never', async () => {
    const { runtime, catalog } = h.svc;
    const Journal = runtime.db.model('Journal');
    const id = `p-prune-${uid}`;
    await createAndAssign(id, [US]);
    const item = (await catalog.items.shown(`${US}:${id}-42`))!;
    const doc = await runtime.outbox.create(
      Journal,
      { _id: uniqueName('journal'), kind: 'test', createdAt: new Date() },
      [localItemEvent(item)],
      {
        dispatch: false,
      },
    );
    expect(await h.svc.recovery.pruneJournal(0)).toBe(0); // its event is not published yet
    await runtime.outbox.dispatch(Journal, doc);
    await runtime.outbox.cleanup(0);
    expect(await h.svc.recovery.pruneJournal(0)).toBe(1);
    expect(await Journal.countDocuments({ _id: doc._id })).toBe(0);
  });

  it('decides on an item another instance changed behind this one’s cached copy: the local edit surfaces as a conflict', async () => {
    const id = `p-stale-${uid}`;
    const sku = `${id}-42`;
    await createAndAssign(id, [DE, US]);
    // a second instance on the same database (its own item cache) curates the DE item
    const other = createCatalog(h.svc.runtime, await createStore(h.svc.runtime));
    const edited = await editItem(other, DE, sku, { title: 'Unser Laufschuh' }, []);
    expect(edited.shown.title).toBe('Unser Laufschuh');
    expect(edited).not.toHaveProperty('writeToken');
    // this instance last wrote the item before that edit; the master change must not overwrite it
    const res = await http()
      .put(`/products/${id}`)
      .set('authorization', seller)
      .send(productBody(id, { id: undefined, title: { en: 'Trail shoe', de: 'Neuer Laufschuh' } }));
    expect(res.status).toBe(200);
    const outcomes = Object.fromEntries(
      res.body.propagation.items.map((i: { channel: string; outcome: string }) => [i.channel, i.outcome]),
    );
    expect(outcomes).toMatchObject({ [DE]: 'conflict', [US]: 'updated' });
    const de = await h.svc.catalog.items.shown(`${DE}:${sku}`);
    expect(de?.shown.title).toBe('Unser Laufschuh');
    expect(de?.conflicts.title).toMatchObject({ master: 'Neuer Laufschuh' });
    expect(await h.svc.catalog.conflicts.byId(`${DE}:${sku}|title`)).toMatchObject({ status: 'open', local: 'Unser Laufschuh' });
    // the events tell the same story: the conflict opened, and the item never showed the master title
    await waitFor(
      async () => (await decoded<{ status: string }>('catalog.conflict', `${DE}:${sku}`)).some((c) => c.status === 'open'),
      'the conflict event',
    );
    const titles = (await decoded<{ title: string }>('catalog.local-item', `${DE}:${sku}`)).map((e) => e.title);
    expect(titles).toEqual(['Laufschuh', 'Unser Laufschuh']);
  });

  it('writes the local items of a master change in one database call once this instance knows them', async () => {
    const id = `p-calls-${uid}`;
    await createAndAssign(id, [DE, US, JP]);
    const calls: string[] = [];
    const db = h.svc.runtime.db;
    db.set('debug', (collection: string, method: string) => calls.push(`${collection}.${method}`));
    let res;
    try {
      res = await http()
        .put(`/products/${id}`)
        .set('authorization', seller)
        .send(
          productBody(id, {
            id: undefined,
            variants: [{ sku: `${id}-42`, attributes: {}, price: { amountMinor: 12345, currency: 'EUR' } }],
          }),
        );
    } finally {
      db.set('debug', false);
    }
    expect(res.status).toBe(200);
    expect(res.body.propagation.items.map((i: { channel: string }) => i.channel).sort()).toEqual([AT, DE, JP, US].sort());
    expect(res.body.propagation.items.every((i: { outcome: string }) => ['updated', 'staged'].includes(i.outcome))).toBe(true);
    expect(calls.filter((c) => c.startsWith('localitems.'))).toEqual(['localitems.bulkWrite']);
    expect(calls.filter((c) => c.startsWith('evidence.'))).toEqual(['evidence.insertMany']);
    expect(calls.filter((c) => c.startsWith('products.'))).toEqual(['products.findOneAndUpdate']);
    const us = await h.svc.catalog.items.shown(`${US}:${id}-42`);
    expect(us?.shown.price.USD.amountMinor).toBeGreaterThan(0);
    expect(us?.masterVersion).toBe(2);
  });

  it('propagates with a rule changed between two master changes (the cached rules are replaced at once)', async () => {
    const id = `p-rulecache-${uid}`;
    await createAndAssign(id, [JP]);
    const mgr = await managerToken('m-jp', [JP]);
    const put = (category: string) =>
      http()
        .put(`/products/${id}`)
        .set('authorization', seller)
        .send(productBody(id, { id: undefined, category }));
    expect((await put('shoes/trail')).status).toBe(200);
    const rule = await http()
      .post(`/channels/${JP}/rules`)
      .set('authorization', admin)
      .send({
        name: 'JP categories',
        mode: 'automatic',
        fields: ['category'],
        localeFallbacks: [],
        fieldMappings: [],
        attributeTransforms: [],
        categoryMap: { 'shoes/road': 'kutsu/road' },
      });
    expect(rule.status).toBe(201);
    expect((await put('shoes/road')).status).toBe(200);
    const item = await http().get(`/channels/${JP}/items/${id}-42`).set('authorization', mgr);
    expect(item.body.shown.category).toBe('kutsu/road');
    expect(item.body.ruleVersions).toMatchObject({ [rule.body.rule.id]: 1 });
    expect(item.body).not.toHaveProperty('writeToken');
  });

  it('serves its OpenAPI document', async () => {
    const doc = await http().get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/products/{id}/listings', '/channels/{code}/items/{sku}/evidence', '/bulk-sync', '/rates']),
    );
  });
});
