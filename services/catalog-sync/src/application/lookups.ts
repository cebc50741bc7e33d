import { channelNotFound, ForbiddenError, NotFoundError, type Principal } from '@omnimall/service-kit';
import { itemIdOf } from '../domain/catalog';
import type { KnownChannel, LocalItem, StoredProduct } from '../domain/records';
import type { Catalog } from './catalog';

/** What the commands look up before they decide, each answering the 4xx of what is missing or not theirs. */

export const isAdmin = (p: Principal): boolean => p.roles.includes('admin');

export function assertOwner(p: Principal, product: { sellerId: string; _id: string }): void {
  if (isAdmin(p) || product.sellerId === p.sub) return;
  throw new ForbiddenError(
    'not_product_owner',
    `product ${product._id} belongs to another seller`,
    'sellers edit and assign only their own products',
  );
}

export async function loadProduct(c: Pick<Catalog, 'products'>, id: string): Promise<StoredProduct> {
  const product = await c.products.byId(id);
  if (!product) throw new NotFoundError('product_not_found', `no product ${id}`, 'create it with POST /products first');
  return product;
}

/** A channel the catalogue does not know: the kit's one answer, 404 channel_not_found. */
export const unknownChannel = (code: string): NotFoundError => channelNotFound(code, 'the catalogue');

export async function knownChannel(c: Pick<Catalog, 'channels'>, code: string): Promise<KnownChannel> {
  const channel = await c.channels.byId(code);
  if (!channel) throw unknownChannel(code);
  return channel;
}

export const itemNotFound = (code: string, sku: string): NotFoundError =>
  new NotFoundError(
    'item_not_found',
    `SKU ${sku} is not in channel ${code}'s catalogue`,
    'list the channel catalogue with GET /channels/{code}/items',
  );

/** The item as stored (read, not remembered: curation decides on it and its write must apply). */
export async function loadItem(c: Pick<Catalog, 'items'>, code: string, sku: string): Promise<LocalItem> {
  const id = itemIdOf(code, sku);
  const item = (await c.items.get([id], true)).get(id) ?? null;
  if (!item) throw itemNotFound(code, sku);
  return item;
}
