import { NotFoundError } from '@omnimall/service-kit';
import { itemIdOf } from '../domain/catalog';
import type { Conflict, Evidence, LocalItem, Refusal, StagedDiff } from '../domain/records';
import type { Catalog } from './catalog';
import { itemNotFound } from './lookups';

/** Read models: where a product is listed, a channel's catalogue, its conflicts and diffs, evidence. */

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
}

export function listingOf(i: LocalItem): Listing {
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
  const items = await Promise.all((a?.items ?? []).map((id) => c.items.shown(id)));
  return {
    product: { id: productId, version: product.version, sellerId: product.sellerId },
    listings: items
      .filter((i): i is LocalItem => !!i)
      .map(listingOf)
      .sort((x, y) => x.channel.localeCompare(y.channel) || x.sku.localeCompare(y.sku)),
  };
}

export async function itemOf(c: Catalog, channel: string, sku: string): Promise<LocalItem> {
  const item = await c.items.shown(itemIdOf(channel, sku));
  if (!item) throw itemNotFound(channel, sku);
  return item;
}

export async function channelItems(c: Catalog, channel: string, limit: number): Promise<LocalItem[]> {
  return c.items.inChannel(channel, limit);
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
