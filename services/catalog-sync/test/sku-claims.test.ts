import request from 'supertest';
import { uniqueName, waitFor } from '@omnimall/service-kit/testing';
import { backfillClaims, STALE_CLAIM_MS } from '../src/application/claims';
import type { StoredProduct } from '../src/domain/records';
import { productBody, sellerToken, startHarness, type Harness } from './helpers';

/**
 * Issue 17, finding 4 (cross-seller SKU hijack): a SKU belongs to one product across every seller,
 * against the real FerretDB (the claim's unique `_id` decides races), Kafka and schema registry.
 */
let h: Harness;
const uid = uniqueName('k').slice(2).replace(/_/g, '');
const DE = `de-${uid}`;
const sellerA = `seller-a-${uid}`;
const sellerB = `seller-b-${uid}`;
let a: string;
let b: string;
const http = () => request(h.svc.app);

beforeAll(async () => {
  h = await startHarness();
  await h.announce({ code: DE, region: 'EU', country: 'DE', currencies: ['EUR'], languages: ['de-DE'] });
  a = await sellerToken(sellerA);
  b = await sellerToken(sellerB);
});

afterAll(async () => {
  await h?.stop();
});

const withSku = (id: string, sku: string, title = 'Trail shoe'): Record<string, unknown> =>
  productBody(id, { title: { en: title }, variants: [{ sku, attributes: {}, price: { amountMinor: 5000, currency: 'EUR' } }] });

/** A product as stored before SKU claims existed (written around the API, so it claimed nothing). */
function legacy(id: string, sellerId: string, sku: string, createdAt = new Date()): StoredProduct {
  return {
    _id: id,
    sellerId,
    version: 1,
    defaultLocale: 'en',
    title: { en: `Legacy ${id}` },
    description: {},
    category: 'shoes',
    attributes: {},
    variants: [{ sku, attributes: {}, price: { amountMinor: 100, currency: 'EUR' } }],
    restrictions: [],
    createdAt,
    updatedAt: createdAt,
  };
}

describe('SKU ownership across sellers', () => {
  it("refuses B's product declaring A's SKU with 409 naming A's product (not A), at creation and on a change", async () => {
    const sku = `SHARED-${uid}-1`;
    const pa = `pa-${uid}-1`;
    const pb = `pb-${uid}-1`;
    expect((await http().post('/products').set('authorization', a).send(withSku(pa, sku))).status).toBe(201);
    const res = await http().post('/products').set('authorization', b).send(withSku(pb, sku));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'sku_owned_by_other_product', details: { sku, ownerProductId: pa } });
    expect(res.body.hint).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toContain(sellerA);
    expect((await http().get(`/products/${pb}`).set('authorization', b)).status).toBe(404);

    // B's own product cannot take the SKU by a change either; it stays as it was
    const own = `pb-${uid}-1b`;
    expect(
      (
        await http()
          .post('/products')
          .set('authorization', b)
          .send(withSku(own, `B-${uid}-1`))
      ).status,
    ).toBe(201);
    const change = await http()
      .put(`/products/${own}`)
      .set('authorization', b)
      .send({ ...withSku(own, sku), id: undefined });
    expect(change.status).toBe(409);
    expect(change.body.details.ownerProductId).toBe(pa);
    expect((await h.svc.catalog.products.byId(own))?.version).toBe(1);
    expect((await h.svc.catalog.claims.of([sku])).get(sku)?.productId).toBe(pa);
  });

  it("refuses B assigning, pricing or bulk-syncing a SKU B's product does not own; A's listing stays A's", async () => {
    const sku = `SHARED-${uid}-2`;
    const pa = `pa-${uid}-2`;
    const pb = `pb-${uid}-2`;
    expect(
      (
        await http()
          .post('/products')
          .set('authorization', a)
          .send(withSku(pa, sku, 'Original'))
      ).status,
    ).toBe(201);
    expect((await http().post(`/channels/${DE}/assignments`).set('authorization', a).send({ productId: pa })).status).toBe(200);
    // B's product predates claims (stored around them) and declares A's SKU
    await h.svc.catalog.products.createMany([legacy(pb, sellerB, sku)]);

    const assign = await http().post(`/channels/${DE}/assignments`).set('authorization', b).send({ productId: pb });
    expect(assign.status).toBe(409);
    expect(assign.body).toMatchObject({ code: 'sku_owned_by_other_product', details: { ownerProductId: pa } });
    const price = await http()
      .put(`/channels/${DE}/prices/${sku}`)
      .set('authorization', b)
      .send({ prices: { EUR: 1 } });
    expect(price.status).toBe(403);

    const bulk = await http()
      .post('/bulk-sync')
      .set('authorization', b)
      .send({ channels: [DE], productIds: [pb] });
    expect(bulk.status).toBe(202);
    const job = await waitFor(async () => {
      const r = await http().get(bulk.headers.location).set('authorization', b);
      return r.body.state === 'succeeded' && r.body;
    }, 'the bulk job');
    expect(job.listed).toBe(0);
    expect(job.failed).toEqual([
      expect.objectContaining({ productId: pb, sku, reason: expect.stringContaining('sku_owned_by_other_product') }),
    ]);

    const item = await h.svc.catalog.items.shown(`${DE}:${sku}`);
    expect(item).toMatchObject({ productId: pa, sellerId: sellerA, status: 'listed' });
    expect(item?.shown.title).toBe('Original');
  });

  it('lets exactly one of several sellers racing for one SKU have it (concurrent requests, real FerretDB)', async () => {
    for (let round = 0; round < 5; round++) {
      const sku = `RACE-${uid}-${round}`;
      const ids = [`race-a-${uid}-${round}`, `race-b-${uid}-${round}`, `race-c-${uid}-${round}`];
      const tokens = [a, b, await sellerToken(`seller-c-${uid}`)];
      const results = await Promise.all(
        ids.map((id, i) => http().post('/products').set('authorization', tokens[i]).send(withSku(id, sku))),
      );
      const won = results.map((r, i) => (r.status === 201 ? ids[i] : null)).filter((x): x is string => !!x);
      expect(won).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status).toBe(409);
        expect(r.body.details.ownerProductId).toBe(won[0]);
      }
      expect((await h.svc.catalog.claims.of([sku])).get(sku)?.productId).toBe(won[0]);
      const stored = await h.svc.catalog.products.byIds(ids);
      expect(stored.map((p) => p._id)).toEqual(won);
    }
  });

  it('frees a SKU only when its product drops it; the new owner lists it and the old product leaves its item alone', async () => {
    const sku = `MOVE-${uid}`;
    const keep = `KEEP-${uid}`;
    const pa = `pa-${uid}-move`;
    const pb = `pb-${uid}-move`;
    const two = productBody(pa, {
      variants: [
        { sku, attributes: {}, price: { amountMinor: 100, currency: 'EUR' } },
        { sku: keep, attributes: {}, price: { amountMinor: 100, currency: 'EUR' } },
      ],
    });
    expect((await http().post('/products').set('authorization', a).send(two)).status).toBe(201);
    expect((await http().post(`/channels/${DE}/assignments`).set('authorization', a).send({ productId: pa })).status).toBe(200);
    expect((await http().post('/products').set('authorization', b).send(withSku(pb, sku))).status).toBe(409);

    const dropped = await http()
      .put(`/products/${pa}`)
      .set('authorization', a)
      .send({ ...withSku(pa, keep), id: undefined });
    expect(dropped.status).toBe(200);
    expect((await h.svc.catalog.items.shown(`${DE}:${sku}`))?.status).toBe('withdrawn');
    expect(
      (
        await http()
          .post('/products')
          .set('authorization', b)
          .send(withSku(pb, sku, 'Now B'))
      ).status,
    ).toBe(201);
    expect((await http().post(`/channels/${DE}/assignments`).set('authorization', b).send({ productId: pb })).status).toBe(200);
    expect(await h.svc.catalog.items.shown(`${DE}:${sku}`)).toMatchObject({ productId: pb, status: 'listed', shown: { title: 'Now B' } });

    // A's next change propagates; the item it once had under that SKU is B's now and stays listed
    const again = await http()
      .put(`/products/${pa}`)
      .set('authorization', a)
      .send({ ...withSku(pa, keep, 'A again'), id: undefined });
    expect(again.status).toBe(200);
    expect(await h.svc.catalog.items.shown(`${DE}:${sku}`)).toMatchObject({ productId: pb, status: 'listed' });
  });

  it('gives products stored before claims their SKUs at start (the older of two keeps a shared one), once per database', async () => {
    const sku = `OLD-${uid}`;
    const older = `old-a-${uid}`;
    const newer = `old-b-${uid}`;
    await h.svc.catalog.products.createMany([
      legacy(newer, sellerB, sku, new Date(Date.now() - 1000)),
      legacy(older, sellerA, sku, new Date(Date.now() - 3600_000)),
    ]);
    await h.svc.runtime.db.collection('skuclaims').deleteOne({ _id: '#backfilled' as never });
    expect(await backfillClaims(h.svc.catalog, h.svc.runtime.logger)).toBeGreaterThanOrEqual(1);
    expect((await h.svc.catalog.claims.of([sku])).get(sku)?.productId).toBe(older);
    expect(await backfillClaims(h.svc.catalog, h.svc.runtime.logger)).toBe(0); // done once
    const res = await http().post(`/channels/${DE}/assignments`).set('authorization', b).send({ productId: newer });
    expect(res.status).toBe(409);
    expect(res.body.details.ownerProductId).toBe(older);
  });

  it('takes over a claim left by an interrupted change only once it is stale', async () => {
    const fresh = `ORPHAN-${uid}-1`;
    const old = `ORPHAN-${uid}-2`;
    await h.svc.catalog.claims.insertNew([
      { _id: fresh, productId: `gone-${uid}-1`, claimedAt: new Date() },
      { _id: old, productId: `gone-${uid}-2`, claimedAt: new Date(Date.now() - STALE_CLAIM_MS - 1000) },
    ]);
    const early = await http()
      .post('/products')
      .set('authorization', b)
      .send(withSku(`orph-${uid}-1`, fresh));
    expect(early.status).toBe(409);
    expect(
      (
        await http()
          .post('/products')
          .set('authorization', b)
          .send(withSku(`orph-${uid}-2`, old))
      ).status,
    ).toBe(201);
    expect((await h.svc.catalog.claims.of([old])).get(old)?.productId).toBe(`orph-${uid}-2`);
  });
});
