/**
 * inventory.stock-level on the real stack: catalog-sync keeps each channel's stock of a variant
 * beside its local item (`catalog-sync.stock-levels`, effect-once, never moving back) and shows it in
 * the item's views, without touching the listing itself.
 */
import request from 'supertest';
import type { StockLevelChanged, SyncApplied } from '@omnimall/contracts';
import { newEvent, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, testKafka, TopicRecorder, uniqueName } from '@omnimall/service-kit/testing';
import { adminToken, productBody, publishUntil, sellerToken, startHarness, type Harness } from './helpers';

let h: Harness;
let inventory: ServiceRuntime;
let acks: TopicRecorder;
const uid = uniqueName('k').slice(2).replace(/_/g, '');
const DE = `de-${uid}`;
const id = `p-stock-${uid}`;
const sku = `${id}-42`;
let seller: string;
let admin: string;
const http = () => request(h.svc.app);

beforeAll(async () => {
  acks = await new TopicRecorder(testKafka(), ['sync.applied']).start();
  h = await startHarness();
  inventory = await ServiceRuntime.start({ config: testConfig('inventory-sim'), produces: ['inventory.stock-level'] });
  await h.announce({ code: DE, region: 'EU', country: 'DE', currencies: ['EUR'], languages: ['de-DE'] });
  [seller, admin] = await Promise.all([sellerToken(`seller-${uid}`), adminToken()]);
  expect((await http().post('/products').set('authorization', seller).send(productBody(id))).status).toBe(201);
  expect((await http().post(`/channels/${DE}/assignments`).set('authorization', seller).send({ productId: id })).status).toBe(200);
});

afterAll(async () => {
  await acks?.stop();
  await inventory?.stop();
  await h?.stop();
});

const level = (version: number, over: Partial<Omit<StockLevelChanged, 'envelope'>>) =>
  newEvent(
    'inventory.stock-level',
    { type: 'stock.level_changed', producer: 'inventory', aggregateId: `${DE}:${sku}`, aggregateVersion: version, sourceChannel: DE },
    {
      channel: DE,
      sku,
      availableQuantity: 0,
      status: 'out_of_stock',
      location: null,
      rule: 'shared_pool',
      sellerId: `seller-${uid}`,
      ...over,
    },
  );

/** Outcomes of catalog-sync's acks of the event, in arrival order. */
async function outcomes(eventId: string): Promise<string[]> {
  const all = await Promise.all(acks.records.map((r) => inventory.schemas.decode<SyncApplied>(r.message.value!)));
  return all.filter((a) => a.ackedEventId === eventId && a.consumer.startsWith('catalog-sync.stock-levels')).map((a) => a.outcome);
}

/** Publishes the event until catalog-sync acknowledged it; the outcomes of its acks. */
const delivered = (event: ReturnType<typeof level>): Promise<string[]> =>
  publishUntil(
    () => inventory.publisher.publish([event]),
    async () => {
      const seen = await outcomes(event.value.envelope.eventId);
      return seen.length ? seen : null;
    },
    `stock level v${event.value.envelope.aggregateVersion} acknowledged`,
  );

const item = async () => {
  const res = await http().get(`/channels/${DE}/items/${sku}`).set('authorization', admin);
  expect(res.status).toBe(200);
  return res.body as { status: string; stock?: { available: number; state: string } };
};

it("shows the channel's stock in the item's views, never moving it back, and leaves the listing as it is", async () => {
  expect(await item()).toMatchObject({ status: 'listed' });
  expect(await item()).not.toHaveProperty('stock');

  expect(await delivered(level(2, { availableQuantity: 0, status: 'out_of_stock', rule: 'master_only' }))).toContain('applied');
  expect(await item()).toMatchObject({ status: 'listed', stock: { available: 0, state: 'out_of_stock' } });
  const listings = (await http().get(`/products/${id}/listings`).set('authorization', seller)).body.listings;
  expect(listings).toEqual([expect.objectContaining({ channel: DE, status: 'listed', stock: { available: 0, state: 'out_of_stock' } })]);

  // Older than what is held: acknowledged as a duplicate, nothing changes; then a newer one applies.
  expect(await delivered(level(1, { availableQuantity: 50, status: 'in_stock' }))).toEqual(['skipped_duplicate']);
  expect((await item()).stock).toEqual({ available: 0, state: 'out_of_stock' });
  // A level of one location is not the channel's total: skipped, not shown.
  expect(await delivered(level(3, { availableQuantity: 9, status: 'in_stock', location: 'wh-berlin' }))).toEqual(['skipped_duplicate']);
  expect((await item()).stock).toEqual({ available: 0, state: 'out_of_stock' });
  expect(await delivered(level(4, { availableQuantity: 3, status: 'low_stock' }))).toContain('applied');

  const list = (await http().get(`/channels/${DE}/items`).set('authorization', admin)).body.items;
  expect(list).toEqual([expect.objectContaining({ sku, status: 'listed', stock: { available: 3, state: 'low_stock' } })]);
  expect((await h.svc.catalog.stock.byIds([`${DE}:${sku}`])).get(`${DE}:${sku}`)).toMatchObject({ version: 4, rule: 'shared_pool' });
});
