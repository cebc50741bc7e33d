/**
 * Seeds a small home-goods business over the public APIs: a master channel and web, mobile and
 * affiliate channels in Germany (EUR) and the United Kingdom (GBP), a seller's catalogue synced to
 * all of them in one bulk job, stock in a warehouse per market imported as one file, customers, and a
 * promotion running on every channel. Every name carries the run's tag, so a second run seeds a
 * second business beside the first.
 */
import { randomBytes } from 'node:crypto';
import { Omnimall, until, type ChannelCredential, type CustomerSession } from '../../e2e/support/omnimall';
import { inParallel, say, step, type DemoConfig } from './config';

export type Market = 'de' | 'gb';
export type Kind = 'web' | 'mobile_app' | 'affiliate';

export interface DemoChannel {
  code: string;
  kind: Kind | 'master';
  market: Market;
  currency: 'EUR' | 'GBP';
  app: ChannelCredential;
}

export interface Staff {
  id: string;
  token: string;
}

export interface Seeded {
  admin: Staff;
  manager: Staff;
  seller: Staff;
  master: DemoChannel;
  /** Every channel customers shop on, master excluded. */
  channels: DemoChannel[];
  channel(market: Market, kind: Kind): DemoChannel;
  warehouse: Record<Market, string>;
  skus: string[];
  /** SKU → its product's category. */
  categoryOf: Map<string, string>;
  /** Units on hand per SKU in each market's warehouse after the import. */
  stock: number;
  customers: CustomerSession[];
  promotionId: string;
}

const MARKETS = {
  de: {
    country: 'DE',
    region: 'eu',
    currency: 'EUR',
    languages: ['de', 'en'],
    address: { line1: 'Am Sandtorkai 1', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  },
  gb: {
    country: 'GB',
    region: 'uk',
    currency: 'GBP',
    languages: ['en-GB'],
    address: { line1: '1 Wapping High St', city: 'London', postalCode: 'E1W 1NG', country: 'GB' },
  },
} as const;

const KIND_NAMES: Record<Kind, string> = { web: 'web shop', mobile_app: 'app', affiliate: 'affiliate' };

/** The catalogue's ranges: category, title stem and the net EUR price range of its products. */
const RANGES = [
  { category: 'kitchen/mugs', title: 'Stoneware mug', from: 900, to: 1900 },
  { category: 'kitchen/teapots', title: 'Cast-iron teapot', from: 2900, to: 6900 },
  { category: 'home/lamps', title: 'Table lamp', from: 3900, to: 12900 },
  { category: 'home/textiles', title: 'Linen cushion', from: 1900, to: 4900 },
  { category: 'garden/tools', title: 'Garden trowel', from: 1200, to: 3400 },
] as const;
const COLOURS = ['sand', 'moss', 'slate', 'rust', 'ink', 'chalk'] as const;

/** The category the seeded promotion takes 10 % off. */
export const PROMOTED_CATEGORY = 'kitchen/mugs';
const STOCK_PER_SKU = 40;
const CUSTOMERS_PER_CHANNEL = 2;

export async function seed(api: Omnimall, cfg: DemoConfig): Promise<Seeded> {
  const tag = cfg.tag;
  const t0 = Date.now();

  const admin = await step('admin login', () => api.staffLogin(cfg.admin.email, cfg.admin.password));
  say(`admin ${cfg.admin.email} logged in`);

  // Staff: one manager for every channel of the business, one seller owning the catalogue.
  const codes = {
    master: `hq-${tag}`,
    de: { web: `web-de-${tag}`, mobile_app: `app-de-${tag}`, affiliate: `aff-de-${tag}` },
    gb: { web: `web-gb-${tag}`, mobile_app: `app-gb-${tag}`, affiliate: `aff-gb-${tag}` },
  };
  const allCodes = [codes.master, ...Object.values(codes.de), ...Object.values(codes.gb)];
  const [manager, seller] = await step('staff accounts', async () => {
    const m = await api.createStaff(admin.token, ['channel_manager'], allCodes);
    const s = await api.createStaff(admin.token, ['seller'], []);
    return Promise.all([api.staffLogin(m.email, m.password), api.staffLogin(s.email, s.password)]);
  });
  say(`staff: a channel manager for the ${allCodes.length} channels and a seller (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // The EUR→GBP rate the UK channels' prices are converted with (added before any propagation).
  await step('exchange rate', () =>
    api.expect(201, 'catalog-sync', 'post', '/rates', {
      token: admin.token,
      body: { base: 'EUR', quote: 'GBP', rate: '0.8500', source: `omnimall demo ${tag}` },
    }),
  );

  // Channels: the master first (the others depend on it), then the six shops, each onboarded to active.
  const register = async (code: string, kind: Kind | 'master', market: Market, name: string): Promise<void> => {
    const m = MARKETS[market];
    await api.registerChannel(admin.token, code, kind === 'master' ? 'web' : kind, manager.id, {
      name,
      country: m.country,
      region: m.region,
      languages: [...m.languages],
      currencies: [m.currency],
      allowedDataRegions: ['eu', 'uk'],
      masterChannel: kind === 'master' ? null : codes.master,
    });
    await api.activateChannel(admin.token, manager.token, code);
  };
  const channels: DemoChannel[] = [];
  let master: DemoChannel | undefined;
  await step('channels', async () => {
    await register(codes.master, 'master', 'de', `Northwind Home master catalogue ${tag}`);
    const shops = (['de', 'gb'] as const).flatMap((market) =>
      (['web', 'mobile_app', 'affiliate'] as const).map((kind) => ({ market, kind, code: codes[market][kind] })),
    );
    await inParallel(shops, 3, (s) => register(s.code, s.kind, s.market, `Northwind Home ${s.market.toUpperCase()} ${KIND_NAMES[s.kind]}`));
    const keyed = await Promise.all(
      [{ code: codes.master, kind: 'master' as const, market: 'de' as const }, ...shops].map(async (s) => ({
        code: s.code,
        kind: s.kind,
        market: s.market,
        currency: MARKETS[s.market].currency,
        app: await api.channelKey(manager.token, s.code),
      })),
    );
    master = keyed[0];
    channels.push(...keyed.slice(1));
  });
  say(
    `channels active: ${codes.master} (master, DE/EUR); ${channels.map((c) => `${c.code} (${c.market.toUpperCase()}/${c.currency})`).join(', ')}`,
  );

  // The catalogue: the seller's products (one SKU each), then one bulk sync to every channel.
  const skus: string[] = [];
  const categoryOf = new Map<string, string>();
  const productIds: string[] = [];
  await step('products', () =>
    inParallel(
      Array.from({ length: cfg.products }, (_, i) => i),
      8,
      async (i) => {
        const range = RANGES[i % RANGES.length];
        const colour = COLOURS[Math.floor(i / RANGES.length) % COLOURS.length];
        const id = `nw-${tag}-${String(i).padStart(4, '0')}`;
        const sku = `${id}-${colour}`;
        const steps = Math.floor((range.to - range.from) / 100);
        const price = range.from + 100 * ((i * 37) % (steps + 1)) - 1; // …99 prices across the range
        productIds[i] = id;
        skus[i] = sku;
        categoryOf.set(sku, range.category);
        await api.expect(201, 'catalog-sync', 'post', '/products', {
          token: seller.token,
          body: {
            id,
            defaultLocale: 'en',
            title: { en: `${range.title} no. ${i + 1}, ${colour}` },
            description: { en: `${range.title} from the Northwind Home range` },
            category: range.category,
            attributes: { colour },
            variants: [{ sku, attributes: {}, price: { amountMinor: price, currency: 'EUR' } }],
          },
        });
      },
    ),
  );
  say(`catalogue: ${cfg.products} products by the seller (net EUR prices; ${RANGES.map((r) => r.category).join(', ')})`);

  const everyChannel = [codes.master, ...channels.map((c) => c.code)];
  const bulk = await step('bulk sync', async () => {
    // catalog-sync learns the channels from their events: an unknown channel is a moment early
    const submitted = await until(
      'catalog-sync to take the bulk sync',
      async () => {
        const r = await api.call('catalog-sync', 'post', '/bulk-sync', {
          token: seller.token,
          body: { channels: everyChannel, productIds },
        });
        if (r.status === 202) return r;
        if (r.status !== 404) throw new Error(`bulk sync answered ${r.status} ${JSON.stringify(r.body)}`);
        return null;
      },
      30_000,
      200,
    );
    const started = Date.now();
    const job = await until(
      'the bulk sync job to finish',
      async () => {
        const r = await api.expect(200, 'catalog-sync', 'get', `/bulk-sync/jobs/${submitted.body.id}`, { token: seller.token });
        if (r.body.state === 'failed') throw new Error(`bulk job failed: ${JSON.stringify(r.body.error)}`);
        return r.body.state === 'succeeded' ? r.body : null;
      },
      180_000,
      200,
    );
    if (job.failedCount || job.refusedCount)
      throw new Error(
        `bulk job: ${job.failedCount} failed, ${job.refusedCount} refused (${JSON.stringify([...job.failed, ...job.refused].slice(0, 3))})`,
      );
    return { listed: job.listed as number, ms: Date.now() - started };
  });
  say(`bulk sync: ${bulk.listed} local items (${cfg.products} products × ${everyChannel.length} channels) listed in ${bulk.ms} ms`);

  // Stock: a warehouse per market serving that market's channels, then one import of every SKU in both.
  const warehouse: Record<Market, string> = { de: `wh-de-${tag}`, gb: `wh-gb-${tag}` };
  await step('warehouses', async () => {
    for (const market of ['de', 'gb'] as const) {
      await api.expect(200, 'inventory', 'put', `/locations/${warehouse[market]}`, {
        token: admin.token,
        body: { name: `Northwind ${market.toUpperCase()} warehouse`, kind: 'warehouse', address: MARKETS[market].address },
      });
      const served = market === 'de' ? [codes.master, ...Object.values(codes.de)] : Object.values(codes.gb);
      for (const code of served)
        // inventory learns the channels from their events: retried until it knows this one
        await until(`inventory to link ${code} to ${warehouse[market]}`, async () => {
          const r = await api.call('inventory', 'put', `/channels/${code}/locations/${warehouse[market]}`, {
            token: manager.token,
            body: { priority: 0 },
          });
          if (r.status === 200) return true;
          if (r.status >= 500 || r.status === 401 || r.status === 403) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
          return false;
        });
    }
  });
  const imported = await step('stock import', async () => {
    const lines = ['sku,location,quantity,reason'];
    for (const sku of skus)
      for (const market of ['de', 'gb'] as const) lines.push(`${sku},${warehouse[market]},${STOCK_PER_SKU},demo opening stock`);
    const started = Date.now();
    const job = await api.expect(202, 'inventory', 'post', '/imports', {
      token: admin.token,
      body: { format: 'csv', content: lines.join('\n') },
    });
    const done = await until(
      'the stock import to finish',
      async () => {
        const r = await api.expect(200, 'inventory', 'get', `/imports/${job.body.id}`, { token: admin.token });
        if (r.body.state === 'failed') throw new Error(`import failed: ${JSON.stringify(r.body)}`);
        return r.body.state === 'done' ? r.body : null;
      },
      120_000,
      200,
    );
    if (done.failed) throw new Error(`${done.failed} stock lines failed: ${JSON.stringify(done.errors.slice(0, 3))}`);
    return { lines: lines.length - 1, ms: Date.now() - started };
  });
  say(
    `stock: ${imported.lines} lines imported (${STOCK_PER_SKU} units of each SKU in ${warehouse.de} and ${warehouse.gb}) in ${imported.ms} ms`,
  );

  // Customers: each registers through a channel's app (GB shoppers keep their data in the UK).
  const customers: CustomerSession[] = [];
  await step('customers', async () => {
    await Promise.all(channels.map((c) => api.identityKnowsChannel(admin.token, c.code)));
    for (const c of channels.filter((x) => x.kind !== 'affiliate'))
      for (let i = 0; i < CUSTOMERS_PER_CHANNEL; i++)
        customers.push(
          await api.registerCustomer(c.app, {
            displayName: `Demo shopper ${customers.length + 1}`,
            dataRegion: c.market === 'gb' ? 'uk' : 'eu',
            email: `shopper+${tag}-${randomBytes(3).toString('hex')}@omnimall.test`,
          }),
        );
  });
  say(`customers: ${customers.length} registered through the web and app channels of both markets`);

  // A promotion running on every channel from now: 10 % off the mugs.
  const promotionId = await step('running promotion', async () => {
    const created = await api.expect(201, 'promotions', 'post', '/promotions', {
      token: admin.token,
      body: {
        name: `Mug month ${tag}`,
        level: 'cart',
        startsAt: Date.now() + 1000,
        endsAt: null,
        channels: everyChannel,
        // by SKU: the cart prices lines without their category, so a line.category condition never holds there
        condition: { field: 'line.sku', op: 'in', value: skus.filter((sku) => categoryOf.get(sku) === PROMOTED_CATEGORY) },
        reward: { kind: 'percentage', percent: 10 },
      },
    });
    await api.expect(200, 'promotions', 'post', `/promotions/${created.body.id}/schedule?startNow=true`, { token: admin.token });
    return created.body.id as string;
  });
  say(`promotion "Mug month ${tag}" running: 10 % off every mug (${PROMOTED_CATEGORY}) on every channel`);

  // Everything above travelled as events: the scenarios start once the carts sell their items everywhere.
  await step('carts ready', () =>
    Promise.all(channels.filter((c) => c.kind !== 'affiliate').flatMap((c) => skus.slice(0, 3).map((sku) => api.cartSells(c.app, sku)))),
  );

  const byKind = (market: Market, kind: Kind): DemoChannel => channels.find((c) => c.market === market && c.kind === kind)!;
  say(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return {
    admin,
    manager,
    seller,
    master: master!,
    channels,
    channel: byKind,
    warehouse,
    skus,
    categoryOf,
    stock: STOCK_PER_SKU,
    customers,
    promotionId,
  };
}
