/**
 * The shop the checkout bench buys from, set up over HTTP on an e2e stack: a web and a mobile-app
 * channel, one product with SKUS SKUs on both, a warehouse linked to the web channel with plenty of
 * stock of each, and customers registered on the mobile app (each with a web login and one line in
 * the cart, added on mobile). Every wait is for a fact the services report, never a sleep.
 */
import { randomBytes } from 'node:crypto';
import { Omnimall, until, type ChannelCredential } from '../../../e2e/support/omnimall';
import type { Stack } from '../../../e2e/support/stack';

export const SKUS = 20;
const STOCK = 1_000_000;

export interface Shopper {
  id: string;
  /** Bound to the mobile app (where the cart was filled, and where the order should show). */
  mobileToken: string;
  /** Bound to the web channel (where it checks out). */
  webToken: string;
  sku: string;
  /** The cart version after its one line was added. */
  cartVersion: number;
}

export interface Shop {
  admin: { id: string; token: string };
  web: string;
  mobile: string;
  webApp: ChannelCredential;
  mobileApp: ChannelCredential;
  skus: string[];
  warehouse: string;
}

export const ADDRESS = { name: 'Bench Buyer', line1: '1 Main St', city: 'Hamburg', postalCode: '20457', country: 'DE' };

/** Runs `fn` over `items`, at most `width` at a time. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** Channels, product, listings and stock; resolves once identity, cart and inventory have what a checkout needs. */
export async function openShop(stack: Stack, api: Omnimall): Promise<Shop> {
  const tag = stack.tag;
  const admin = await api.staffLogin(stack.admin.email, stack.admin.password);
  const web = `web-${tag}`;
  const mobile = `mobile-${tag}`;
  const mgr = await api.createStaff(admin.token, ['channel_manager'], [web, mobile]);
  const manager = await api.staffLogin(mgr.email, mgr.password);
  await api.registerChannel(admin.token, web, 'web', manager.id);
  await api.registerChannel(admin.token, mobile, 'mobile_app', manager.id);
  await api.activateChannel(admin.token, manager.token, web);
  await api.activateChannel(admin.token, manager.token, mobile);
  const [webApp, mobileApp] = await Promise.all([api.channelKey(manager.token, web), api.channelKey(manager.token, mobile)]);

  const product = `mug-${tag}`;
  const skus = Array.from({ length: SKUS }, (_, i) => `${product}-${String(i).padStart(2, '0')}`);
  await api.createProduct(admin.token, product, skus);
  await api.assign(
    admin.token,
    web,
    product,
    skus.map((sku, i) => ({ sku, amountMinor: 1200 + i })),
  );
  await api.assign(
    admin.token,
    mobile,
    product,
    skus.map((sku, i) => ({ sku, amountMinor: 1250 + i })),
  );

  const warehouse = `wh-${tag}`;
  await api.expect(200, 'inventory', 'put', `/locations/${warehouse}`, {
    token: admin.token,
    body: {
      name: 'bench warehouse',
      kind: 'warehouse',
      address: { line1: '2 Dock Rd', city: 'Hamburg', postalCode: '20457', country: 'DE' },
    },
  });
  await api.expect(200, 'inventory', 'put', `/channels/${web}/locations/${warehouse}`, { token: manager.token, body: { priority: 0 } });
  await Promise.all(
    skus.map((sku) =>
      api.expect(200, 'inventory', 'post', `/stock/${sku}/operations`, {
        token: admin.token,
        headers: { 'idempotency-key': `bench-${tag}-${sku}` },
        body: { kind: 'set', location: warehouse, bucket: 'onHand', quantity: STOCK, reason: 'bench: goods in' },
      }),
    ),
  );

  // Everything above travelled as events: identity must know the channels (registration), the cart must sell every SKU on mobile.
  await Promise.all([api.identityKnowsChannel(admin.token, web), api.identityKnowsChannel(admin.token, mobile)]);
  await pool(skus, 4, (sku) => api.cartSells(mobileApp, sku));
  return { admin, web, mobile, webApp, mobileApp, skus, warehouse };
}

/** Registers `n` customers on the mobile app, logs each in on the web, and puts one line of `skuOf(i)` in each cart (on mobile). */
export async function shoppers(api: Omnimall, shop: Shop, n: number, skuOf: (i: number) => string, width = 8): Promise<Shopper[]> {
  const out: Shopper[] = new Array(n);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    width,
    async (i) => {
      const onMobile = await api.registerCustomer(shop.mobileApp, { email: `bench+${randomBytes(6).toString('hex')}@omnimall.test` });
      const onWeb = await api.login(shop.webApp, onMobile.email, onMobile.password);
      const sku = skuOf(i);
      const r = await api.expect(200, 'cart', 'post', '/cart/lines', {
        token: onMobile.token,
        channel: shop.mobile,
        body: { sku, quantity: 1 },
      });
      out[i] = { id: onMobile.id, mobileToken: onMobile.token, webToken: onWeb.token, sku, cartVersion: Number(r.body.version) };
    },
  );
  return out;
}

/**
 * Until orders holds this shopper's cart at the version the cart answered. Probed with a checkout that
 * names another version: orders refuses it (409 cart_changed, with the version it holds) before it
 * claims or writes anything; 422 cart_empty or 409 channel_unknown mean its projections are behind.
 */
export async function untilOrdersHasCart(api: Omnimall, shop: Shop, s: Shopper, timeoutMs: number): Promise<void> {
  await until(
    `orders to hold the cart of ${s.id} at version ${s.cartVersion}`,
    async () => {
      const r = await api.call('orders', 'post', '/checkouts', {
        token: s.webToken,
        channel: shop.web,
        headers: { 'idempotency-key': `probe-${randomBytes(8).toString('hex')}` },
        body: { cartVersion: s.cartVersion + 1_000_000, address: ADDRESS, shipping: 'standard', paymentMethod: { token: 'tok_approve' } },
      });
      const code = r.body?.code as string | undefined;
      if (r.status === 409 && code === 'cart_changed') return r.body.details?.cartVersion === s.cartVersion;
      if ((r.status === 422 && code === 'cart_empty') || (r.status === 409 && code === 'channel_unknown')) return false;
      throw new Error(`cart probe answered ${r.status} ${JSON.stringify(r.body)}`);
    },
    timeoutMs,
    50,
  );
}
