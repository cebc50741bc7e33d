/**
 * The smallest world a cart write needs, made through the APIs as in production: two active channels
 * (admin + their manager), a product with one SKU assigned to both with a shelf price, and an
 * anonymous device per channel (its own cart). Resolves only once the cart sells the SKU on both
 * channels (the channel and the local item reached its projections by events), so a write after it
 * answers 200 unless something is down.
 */
import { Omnimall, type ChannelCredential, type Device, type Reply } from './omnimall';
import type { Stack } from './stack';

export interface CartWorld {
  admin: { id: string; token: string };
  sku: string;
  apps: ChannelCredential[];
  devices: Device[];
}

export async function cartWorld(api: Omnimall, stack: Pick<Stack, 'tag' | 'admin'>, devicesPerChannel = 1): Promise<CartWorld> {
  const tag = stack.tag;
  const codes = [`web-${tag}`, `mobile-${tag}`];
  const admin = await api.staffLogin(stack.admin.email, stack.admin.password);
  const mgr = await api.createStaff(admin.token, ['channel_manager'], codes);
  const manager = await api.staffLogin(mgr.email, mgr.password);
  await api.registerChannel(admin.token, codes[0], 'web', manager.id);
  await api.registerChannel(admin.token, codes[1], 'mobile_app', manager.id);
  await Promise.all(codes.map((c) => api.activateChannel(admin.token, manager.token, c)));
  const apps = await Promise.all(codes.map((c) => api.channelKey(manager.token, c)));
  const sku = `mug-${tag}-350`;
  await api.createProduct(admin.token, `mug-${tag}`, [sku]);
  for (const code of codes) await api.assign(admin.token, code, `mug-${tag}`, [{ sku, amountMinor: 1299 }]);
  await Promise.all([...codes.map((c) => api.identityKnowsChannel(admin.token, c)), ...apps.map((a) => api.cartSells(a, sku))]);
  const devices: Device[] = [];
  for (const app of apps) for (let i = 0; i < devicesPerChannel; i++) devices.push(await api.device(app));
  return { admin, sku, apps, devices };
}

/** Adds one unit of the SKU to a device's cart (summed with the line already there). */
export function addOne(api: Omnimall, world: CartWorld, device: Device, correlationId?: string): Promise<Reply> {
  return api.call('cart', 'post', '/cart/lines', { deviceToken: device.deviceToken, body: { sku: world.sku, quantity: 1 }, correlationId });
}

/** The quantity of the SKU in a cart as the cart answered it (GET /cart or a change's answer; 0 without a line). */
export function quantityIn(world: CartWorld, cart: { lines?: Array<{ sku: string; quantity: number }> } | null): number {
  return (cart?.lines ?? []).filter((l) => l.sku === world.sku).reduce((n, l) => n + l.quantity, 0);
}

/** The quantity of the SKU in a device's cart. */
export async function quantityOf(api: Omnimall, world: CartWorld, device: Device): Promise<number> {
  return quantityIn(world, (await api.expect(200, 'cart', 'get', '/cart', { deviceToken: device.deviceToken })).body);
}
