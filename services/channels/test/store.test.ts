/** The repositories whose filters carry a rule, on the real database. */
import { applyOnce, ServiceRuntime } from '@omnimall/service-kit';
import { testConfig, uniqueName } from '@omnimall/service-kit/testing';
import { INITIAL_CONFIG } from '../src/domain/config';
import type { SellerListing } from '../src/domain/listings';
import { createStore, type Once, type Store, type StoreModels } from '../src/store';

let rt: ServiceRuntime;
let store: Store;
let models: StoreModels;

beforeAll(async () => {
  rt = await ServiceRuntime.start({ config: testConfig('channels-store'), produces: [] });
  ({ store, models } = await createStore(rt));
});
afterAll(async () => {
  await rt?.stop();
});

/** A consumer context for one event: applyOnce as the kit's consumer does it, with the event's id. */
function once(eventId = uniqueName('evt')): Once {
  return {
    applyOnce: (model, filter, update, opts) => applyOnce(model, eventId, filter, update, opts),
  };
}

describe('seller listings', () => {
  const listing = (
    channel: string,
    sku: string,
    sellerId: string,
    aggregateVersion: number,
    status: SellerListing['status'] = 'listed',
  ) => ({
    _id: `${channel}:${sku}`,
    channel,
    sku,
    sellerId,
    status,
    aggregateVersion,
    updatedAt: new Date(),
  });

  it('applies only a newer version of an item, so a late older event cannot list a withdrawn item again', async () => {
    const channel = uniqueName('ch');
    await store.sellerListings.apply(once(), listing(channel, 'a', 'seller-1', 1));
    await store.sellerListings.apply(once(), listing(channel, 'b', 'seller-2', 1));
    await store.sellerListings.apply(once(), listing(channel, 'a', 'seller-1', 3, 'withdrawn'));
    await store.sellerListings.apply(once(), listing(channel, 'a', 'seller-1', 2)); // late: matches nothing, its upsert collides
    expect(await store.sellerListings.listedSellers(channel)).toEqual(['seller-2']);
    expect((await models.sellerListings.findById(`${channel}:a`).lean())?.aggregateVersion).toBe(3);
  });
});

describe('channel customers', () => {
  it('lists a channel’s customers sorted, answers by key, and forgets an erased customer everywhere', async () => {
    const [web, app] = [uniqueName('web'), uniqueName('app')];
    for (const [channel, customer] of [
      [web, 'c-2'],
      [web, 'c-1'],
      [app, 'c-1'],
    ])
      await store.channelCustomers.recordActivity(once(), channel, customer, new Date());
    expect(await store.channelCustomers.customersOf(web)).toEqual(['c-1', 'c-2']);
    expect(await store.channelCustomers.isActive(app, 'c-1')).toBe(true);
    expect(await store.channelCustomers.isActive(app, 'c-2')).toBe(false);
    await store.channelCustomers.forgetCustomer('c-1');
    expect(await store.channelCustomers.customersOf(web)).toEqual(['c-2']);
    expect(await store.channelCustomers.isActive(app, 'c-1')).toBe(false);
  });
});

describe('configuration versions', () => {
  it('maps entries with dotted keys both ways and refuses a version that exists', async () => {
    expect(await store.configVersions.insert(INITIAL_CONFIG, 'test')).toBe(true);
    expect(await store.configVersions.insert(INITIAL_CONFIG, 'test')).toBe(false);
    expect(await store.configVersions.get(INITIAL_CONFIG.version)).toEqual(INITIAL_CONFIG);
    expect((await store.configVersions.latest())?.version).toBe(INITIAL_CONFIG.version);
  });
});
