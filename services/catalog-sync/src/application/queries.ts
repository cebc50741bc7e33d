import { NotFoundError } from '@omnimall/service-kit';
import { itemIdOf } from '../domain/catalog';
import type { Conflict, Evidence, LocalItem, Refusal, ShownStock, StagedDiff, StockLevel } from '../domain/records';
import type { Catalog } from './catalog';
import { itemNotFound } from './lookups';

/**
 * Read models: where a product is listed, a channel's catalogue, its conflicts and diffs, evidence.
 * Listings and item views show the item's stock on its channel (`stock`, from inventory; absent while
 * unknown), which never changes the listing's status.
 */

/** A local item as its views show it: the item with its stock. */
export type ItemView = LocalItem & { stock?: ShownStock };

function withStock<T extends object>(view: T, level: StockLevel | undefined): T & { stock?: ShownStock } {
  return level ? { ...view, stock: { available: level.available, state: level.state } } : view;
}

export interface Listing {
  channel: string;
  sku: string;
  status: LocalItem['status'];
  statusReason: string | null;
  prices: LocalItem['shown']['price'];
  primaryCurrency: string | null;
  listedSince: Date | null;
  priceSince: Date | null;
  masterVersion: number;
  ruleVersions: Record<string, number>;
  inheritedFrom: string | null;
  version: number;
  stock?: ShownStock;
}

export function listingOf(i: LocalItem, level?: StockLevel): Listing {
  return {
    channel: i.channel,
    sku: i.sku,
    status: i.status,
    statusReason: i.statusReason,
    prices: i.shown.price,
    primaryCurrency: i.primaryCurrency,
    listedSince: i.listedSince,
    priceSince: i.priceSince,
    masterVersion: i.masterVersion,
    ruleVersions: i.ruleVersions,
    inheritedFrom: i.inheritedFrom,
    version: i.version,
    ...withStock({}, level),
  };
}

/** Every local item a product ever had, across all channels (by id: no scan). */
export async function listingsOf(
  c: Catalog,
  productId: string,
): Promise<{ product: { id: string; version: number; sellerId: string }; listings: Listing[] }> {
  const product = await c.products.header(productId);
  if (!product) throw new NotFoundError('product_not_found', `no product ${productId}`, 'check the product id');
  const a = await c.assignments.byId(productId);
  const ids = a?.items ?? [];
  const [items, stock] = await Promise.all([Promise.all(ids.map((id) => c.items.shown(id))), c.stock.byIds(ids)]);
  return {
    product: { id: productId, version: product.version, sellerId: product.sellerId },
    listings: items
      .filter((i): i is LocalItem => !!i)
      .map((i) => listingOf(i, stock.get(i._id)))
      .sort((x, y) => x.channel.localeCompare(y.channel) || x.sku.localeCompare(y.sku)),
  };
}

export async function itemOf(c: Catalog, channel: string, sku: string): Promise<LocalItem> {
  const item = await c.items.shown(itemIdOf(channel, sku));
  if (!item) throw itemNotFound(channel, sku);
  return item;
}

/** One local item as its view shows it (with its stock). */
export async function itemViewOf(c: Catalog, channel: string, sku: string): Promise<ItemView> {
  const [item, stock] = await Promise.all([itemOf(c, channel, sku), c.stock.byIds([itemIdOf(channel, sku)])]);
  return withStock(item, stock.get(item._id));
}

export async function channelItems(c: Catalog, channel: string, limit: number): Promise<ItemView[]> {
  const [items, stock] = await Promise.all([c.items.inChannel(channel, limit), c.stock.inChannel(channel)]);
  return items.map((i) => withStock(i, stock.get(i._id)));
}

export async function channelConflicts(c: Catalog, channel: string, status: 'open' | 'resolved'): Promise<Conflict[]> {
  return c.conflicts.inChannel(channel, status);
}

export async function channelDiffs(c: Catalog, channel: string, status: StagedDiff['status']): Promise<StagedDiff[]> {
  return c.diffs.inChannel(channel, status);
}

export async function refusalsOf(c: Catalog, productId: string): Promise<Refusal[]> {
  return c.refusals.ofProduct(productId);
}

/** The evidence records of an item, latest first (by id: no scan). */
export async function evidenceOf(c: Catalog, item: LocalItem): Promise<Evidence[]> {
  return c.evidence.byIds([...item.evidence].reverse());
}
